"""The built-in classifier on requests outside the evaluation set, and on the set as a whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from src.router.core.classifier import HeuristicClassifier
from src.router.core.evaluate import load_examples, long_agent_conversation, score
from src.router.core.features import conversation
from src.router.core.tasks import TaskType
from tests.support.classifier_cases import PLAIN_REQUESTS, task_of

REPO = Path(__file__).resolve().parents[2]
clf = HeuristicClassifier()


def classify(user: str, system: str | None = None) -> TaskType:
    return task_of(clf, user, system)


@pytest.mark.parametrize(("text", "expected"), PLAIN_REQUESTS)
def test_plain_requests_get_their_type(text: str, expected: TaskType) -> None:
    assert classify(text) is expected


def test_the_latest_user_turn_outweighs_a_coding_agents_system_prompt() -> None:
    aider = "Act as an expert software developer. Always use best practices when coding. Use SEARCH/REPLACE blocks."
    assert classify("Add a retry option to the HTTP client in client.py", aider) is TaskType.CODE_GENERATION
    assert classify("Please review the code in client.py for bugs; do not change it.", aider) is TaskType.CODE_REVIEW


def test_a_bare_diff_is_sent_for_review() -> None:
    diff = "diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -1,2 +1,2 @@\n-a = 1\n+a = 2\n"
    assert classify(diff) is TaskType.CODE_REVIEW


def test_the_classifier_reads_only_a_bounded_window_of_a_long_prompt() -> None:
    msgs = long_agent_conversation(tokens=4096)
    result = clf.classify(conversation(msgs))
    assert result.task_type is TaskType.CODE_GENERATION
    assert 0 < result.confidence <= 1
    huge = [{"role": "user", "content": "Summarize this.\n" + "lorem ipsum dolor " * 200_000 + "\nin two sentences"}]
    assert clf.classify(conversation(huge)).task_type is TaskType.SUMMARIZATION


def test_macro_f1_on_the_evaluation_set_stays_above_the_target() -> None:
    examples = load_examples(REPO / "benchmarks" / "task_eval" / "task_eval.jsonl")
    assert {e.label for e in examples} == {t.value for t in TaskType}
    assert score(clf, examples).macro_f1 >= 0.90
    assert score(clf, [e for e in examples if e.split == "test"]).macro_f1 >= 0.90


async def test_asking_for_the_embedding_classifier_without_its_extra_fails_at_start_with_the_command(
    tmp_path: Path,
) -> None:
    import importlib.util

    from asgi_lifespan import LifespanManager

    from src.router.core.embedding_classifier import INSTALL_HINT, EmbeddingUnavailable
    from tests.support.router_harness import make_app, write_configs

    if importlib.util.find_spec("sentence_transformers") is not None:
        pytest.skip("the embedding extra is installed here")
    settings = write_configs(tmp_path, "http://127.0.0.1:9").model_copy(update={"classifier": "embedding"})
    with pytest.raises(EmbeddingUnavailable, match=INSTALL_HINT.replace(".", r"\.")):
        async with LifespanManager(make_app(settings)):
            pass


def test_heuristic_ties_go_to_the_type_listed_first() -> None:
    result = clf.classify(conversation([{"role": "user", "content": "story or code"}]))
    # "story" (creative_writing, 2) and "code" (code_generation, 2) tie at 6.0 each, above general.
    assert result.task_type is TaskType.CODE_GENERATION


def test_how_many_is_a_word_problem_only_when_its_quantities_come_first() -> None:
    assert classify("Mia has 12 stickers and gives 5 away. How many does she have left?") is TaskType.MATH_REASONING
    assert classify("How many moons does Mars have?") is TaskType.GENERAL
    passage = "The district runs 4 public high schools and 2 private ones, founded in 1921 and 1958."
    assert classify(f"How many public high schools are in the district?\n\n{passage}") is TaskType.GENERAL


def test_what_does_alone_does_not_ask_for_a_translation() -> None:
    assert classify("What does a product manager do all day?") is TaskType.GENERAL
    assert classify("What does 'merci beaucoup' mean in English?") is TaskType.TRANSLATION
