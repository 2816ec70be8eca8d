"""The learned classifier (the default for `auto`): what it answers, what it reads, where it falls back."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from structlog.testing import capture_logs

from src.router.core.evaluate import load_examples, long_agent_conversation, score
from src.router.core.features import conversation
from src.router.core.learned_classifier import DEFAULT_MODEL_PATH, LearnedClassifier, ModelUnavailable
from src.router.core.tasks import TASK_TYPES, TaskType
from tests.support.classifier_cases import PLAIN_REQUESTS, task_of

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
clf = LearnedClassifier.load()


def classify(user: str, system: str | None = None) -> TaskType:
    return task_of(clf, user, system)


@pytest.mark.parametrize(("text", "expected"), PLAIN_REQUESTS)
def test_plain_requests_get_their_type(text: str, expected: TaskType) -> None:
    assert classify(text) is expected


def test_a_task_written_only_into_the_system_prompt_counts() -> None:
    review = "The battery died after two days and support never answered."
    assert classify(review, "Label the sentiment of each customer review as positive or negative.") is (
        TaskType.SENTIMENT
    )
    assert classify(review, "Translate every message you receive into French.") is TaskType.TRANSLATION


def claude_code_request(task: str) -> list[dict[str, Any]]:
    """Claude Code's recorded request (Anthropic format) as OpenAI messages, its task replaced.

    The recording cut each long text part (it says so: "…[cut here; N characters]"); a
    `<system-reminder>` part lost its closing tag that way, so it is put back.
    """
    body = json.loads((FIXTURES / "claude_code_request_1.json").read_text())["body"]
    system = "\n".join(s["text"] for s in body["system"])
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}]
    for m in body["messages"]:
        parts = [dict(p) for p in m["content"]] if isinstance(m["content"], list) else m["content"]
        if m["role"] == "user" and isinstance(parts, list):
            for p in parts:
                if p["text"].startswith("<system-reminder>") and "</system-reminder>" not in p["text"]:
                    p["text"] += "\n</system-reminder>"
            assert parts[-1]["text"] == "Fix the bug in calc.py"  # the recorded task
            parts[-1]["text"] = task
        messages.append({"role": m["role"], "content": parts})
    return messages


def recorded_request(agent: str, task: str) -> list[dict[str, Any]]:
    """One of an agent's real requests (recorded from its CLI against a capturing endpoint,
    `tests/fixtures/<agent>_requests.jsonl`), found by the task it was run with."""
    for line in (FIXTURES / f"{agent}_requests.jsonl").read_text().splitlines():
        messages: list[dict[str, Any]] = json.loads(line)["messages"]
        if any(m["role"] == "user" and task in json.dumps(m["content"]) for m in messages):
            return messages
    raise AssertionError(f"no recorded {agent} request for {task!r}")


def aider_request(task: str) -> list[dict[str, Any]]:
    return recorded_request("aider", task)


@pytest.mark.parametrize(
    ("task", "expected"),
    [
        ("Fix the bug in calc.py", TaskType.CODE_GENERATION),
        ("Review calc.py for bugs and security problems; do not change anything.", TaskType.CODE_REVIEW),
        ("Summarize what this repository does in three sentences.", TaskType.SUMMARIZATION),
        (
            "Design the architecture for splitting this app into services, with the trade-offs.",
            (TaskType.ARCHITECTURE_DESIGN),
        ),
        ("Translate the README into Spanish.", TaskType.TRANSLATION),
    ],
)
def test_in_claude_codes_real_request_the_type_follows_the_users_task(task: str, expected: TaskType) -> None:
    messages = claude_code_request(task)
    assert "Claude Agent SDK" in messages[0]["content"] and len(messages) == 3  # system, reminders+task, env
    assert clf.classify(conversation(messages)).task_type is expected


@pytest.mark.parametrize(
    ("task", "expected"),
    [
        ("Review calc.py for bugs; do not change it.", TaskType.CODE_REVIEW),
        ("Fix the bug in calc.py", TaskType.CODE_GENERATION),
        ("Summarize what calc.py does in two sentences.", TaskType.SUMMARIZATION),
    ],
)
def test_in_aiders_real_requests_the_type_follows_the_users_task(task: str, expected: TaskType) -> None:
    messages = aider_request(task)
    assert messages[0]["role"] == "system" and "expert software developer" in messages[0]["content"]
    assert len(messages) > 8  # Aider's example conversation and closing reminder are there
    assert clf.classify(conversation(messages)).task_type is expected


@pytest.mark.parametrize(
    ("agent", "task", "expected"),
    [
        ("openhands", "Review calc.py for bugs and report them; do not modify any file.", TaskType.CODE_REVIEW),
        ("openhands", "Fix the bug in calc.py: add() subtracts instead of adding.", TaskType.CODE_GENERATION),
        ("openhands", "Write a short summary of what calc.py provides, in two sentences.", TaskType.SUMMARIZATION),
        ("cline", "Review calc.py for bugs and report them; do not modify any file.", TaskType.CODE_REVIEW),
        ("cline", "Fix the bug in calc.py: add() subtracts instead of adding.", TaskType.CODE_GENERATION),
    ],
)
def test_in_openhands_and_cline_real_requests_the_type_follows_the_users_task(
    agent: str, task: str, expected: TaskType
) -> None:
    messages = recorded_request(agent, task)
    assert messages[0]["role"] == "system" and len(json.dumps(messages[0]["content"])) > 4000
    assert clf.classify(conversation(messages)).task_type is expected


def test_a_long_agent_request_is_read_in_a_bounded_window() -> None:
    result = clf.classify(conversation(long_agent_conversation(tokens=4096)))
    assert result.task_type is TaskType.CODE_GENERATION and result.source == "learned"
    huge = [{"role": "user", "content": "Summarize this.\n" + "lorem ipsum dolor " * 200_000 + "\nin two sentences"}]
    assert clf.classify(conversation(huge)).task_type is TaskType.SUMMARIZATION


def test_the_confidence_is_a_probability_and_the_runner_up_is_named() -> None:
    result = clf.classify(conversation([{"role": "user", "content": "Write a haiku about rain."}]))
    assert 0.5 < result.confidence <= 1.0
    assert result.matched[0].startswith("p=") and result.matched[1].startswith("next ")


def test_the_hand_written_evaluation_set_stays_a_regression_check() -> None:
    # Measured 0.90 for the shipped artefact (docs/classifier_eval.md), 0.77 for the linear model
    # before the lexicon voted; the lexicon alone scores 0.94 here because it was written with this
    # set in view, so the figure flatters the vote. A retrained artefact may not fall below this
    # floor unnoticed.
    examples = load_examples(REPO / "benchmarks" / "task_eval" / "task_eval.jsonl")
    assert score(clf, examples).macro_f1 >= 0.85


@pytest.mark.parametrize(
    ("content", "reason"),
    [(None, "No such file"), (b"not a zip file", "model.npz: "), (b"PK\x03\x04" + b"\x00" * 40, "model.npz: ")],
)
def test_a_missing_or_corrupt_artefact_is_refused_with_the_reason(
    tmp_path: Path, content: bytes | None, reason: str
) -> None:
    path = tmp_path / "model.npz"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelUnavailable, match=reason):
        LearnedClassifier.load(path)


def test_an_artefact_of_the_wrong_shape_is_refused(tmp_path: Path) -> None:
    with np.load(DEFAULT_MODEL_PATH) as z:
        parts = dict(z)
    parts["weights"] = parts["weights"][:1000]
    np.savez(tmp_path / "model.npz", **parts)
    with pytest.raises(ModelUnavailable, match="not a 18-bit model"):
        LearnedClassifier.load(tmp_path / "model.npz")


def test_an_artefact_needs_the_token_vectors_it_was_trained_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with np.load(DEFAULT_MODEL_PATH) as z:
        parts = dict(z)
    parts["vectors"] = np.array("wordllama 0.3.0 l2_supercat_256")
    np.savez(tmp_path / "model.npz", **parts)
    with pytest.raises(ModelUnavailable, match=r"trained on the token vectors 'wordllama 0\.3\.0"):
        LearnedClassifier.load(tmp_path / "model.npz")

    def not_installed(name: str) -> Any:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "distribution", not_installed)
    with pytest.raises(ModelUnavailable, match="its token vectors: wordllama is not installed"):
        LearnedClassifier.load()


def test_the_vector_head_adds_its_scores_with_the_weight_the_artefact_carries() -> None:
    from dataclasses import replace

    from src.router.core.learned_classifier import prepare, sentence_vectors

    user, system = "Compose a sonnet about the harbour at dawn.", "You are a helpful assistant."
    model = clf.model
    assert model.dense_weight > 0  # the shipped artefact uses the vectors
    without = replace(model, dense_weight=0.0).logits(user, system)
    x = sentence_vectors(model.vectors, *prepare(user, system))
    expected = without + model.dense_weight * (x @ model.dense + model.dense_bias)
    np.testing.assert_allclose(model.logits(user, system), expected, rtol=1e-5, atol=1e-4)
    assert x[256:].any() and not sentence_vectors(model.vectors, *prepare(user, ""))[256:].any()


async def test_the_router_uses_the_learned_classifier_by_default_and_the_heuristic_if_the_artefact_is_bad(
    tmp_path: Path,
) -> None:
    from tests.support.router_harness import in_process, make_app, write_configs

    settings = write_configs(tmp_path, "http://127.0.0.1:9")
    assert settings.classifier == "learned"
    body = {"model": "auto", "messages": [{"role": "user", "content": "Write a limerick about a cat."}]}
    async with in_process(make_app(settings)) as client:
        routed = (await client.post("/v1/route", json=body)).json()
    assert routed["signals"]["classifier"]["source"] == "learned"
    assert routed["task_type"] == "creative_writing"

    (tmp_path / "broken.npz").write_bytes(b"\x00" * 64)
    broken = settings.model_copy(update={"classifier_model": tmp_path / "broken.npz"})
    with capture_logs() as logs:
        async with in_process(make_app(broken)) as client:
            routed = (await client.post("/v1/route", json=body)).json()
    assert routed["signals"]["classifier"]["source"] == "heuristic"
    fallback = [e for e in logs if e["event"] == "classifier_fallback"]
    assert fallback and fallback[0]["using"] == "heuristic" and "broken.npz" in fallback[0]["reason"]


DETERMINISM = """
import json, sys
from src.router.core.classifier import HeuristicClassifier
from src.router.core.evaluate import load_examples
from src.router.core.features import conversation
from src.router.core.learned_classifier import LearnedClassifier
examples = load_examples(__import__("pathlib").Path("benchmarks/task_eval/task_eval.jsonl"))
extra = [[{"role": "user", "content": t}] for t in sys.argv[1:]]
out = {}
for name, clf in (("heuristic", HeuristicClassifier()), ("learned", LearnedClassifier.load())):
    out[name] = [
        [c.task_type.value, c.confidence, list(c.matched)]
        for c in (clf.classify(conversation(m)) for m in [e.messages for e in examples] + extra)
    ]
print(json.dumps(out))
"""
# Requests whose heuristic cue scores tie (equal sums for two types), where set and dict order decided.
TIES = ["review the design", "translate the summary", "classify this poem", "extract the sentiment", "story or code"]


def test_the_same_request_gets_the_same_type_in_every_process_whatever_the_hash_seed() -> None:
    runs = []
    for seed in ("0", "1", "2", "12345"):
        out = subprocess.run(
            [sys.executable, "-c", DETERMINISM, *TIES],
            cwd=REPO,
            env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        runs.append(json.loads(out.stdout))
    assert all(r == runs[0] for r in runs[1:])
    assert len(runs[0]["learned"]) == len(load_examples(REPO / "benchmarks/task_eval/task_eval.jsonl")) + len(TIES)


def test_training_is_deterministic_and_offline(tmp_path: Path) -> None:
    """`make train-classifier` runs this module; the same data must give the same artefact bytes."""
    import gzip

    rows = []
    for e in load_examples(REPO / "benchmarks" / "task_eval" / "task_eval.jsonl"):
        conv = conversation(e.messages)
        rows.append({"system": conv.system, "user": conv.latest_user, "label": e.label, "source": e.kind})
    data = tmp_path / "train.jsonl.gz"
    with gzip.open(data, "wt") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in rows)
    artefacts = []
    for run in ("a", "b"):
        out = tmp_path / run / "model.npz"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "scripts.classifier.train",
                "--data",
                str(data),
                "--out",
                str(out),
                "--epochs",
                "60",
            ],
            cwd=REPO,
            env={"PATH": "/usr/bin:/bin", "PYTHONHASHSEED": (run == "a" and "1") or "2"},
            capture_output=True,
            timeout=300,
            check=True,
        )
        artefacts.append(out.read_bytes())
    assert artefacts[0] == artefacts[1]
    trained = LearnedClassifier.load(tmp_path / "a" / "model.npz")
    # It learned something from 177 rows: most of its own training rows come back with their label.
    hits = sum(
        trained.classify(
            conversation([{"role": "system", "content": r["system"]}, {"role": "user", "content": r["user"]}])
        ).task_type.value
        == r["label"]
        for r in rows
    )
    assert hits > 0.8 * len(rows)


def test_the_development_sets_are_scored_for_every_vote_and_vector_weight(tmp_path: Path) -> None:
    """`train --dev` scores the development sets beside the data (human phrasing, never trained on)."""
    import gzip

    from scripts.classifier.train import DENSE_WEIGHTS, HEURISTIC_WEIGHTS

    examples = load_examples(REPO / "benchmarks" / "task_eval" / "task_eval.jsonl")
    rows = [
        {"system": "", "user": conversation(e.messages).latest_user, "label": e.label, "source": e.kind}
        for e in examples
    ]
    for name, part in (("train.jsonl.gz", rows[::2]), ("dev-ours.jsonl.gz", rows[1::2])):
        with gzip.open(tmp_path / name, "wt") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in part)
    cmd = [sys.executable, "-m", "scripts.classifier.train", "--data", str(tmp_path / "train.jsonl.gz"), "--dev"]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300, check=True)
    report = json.loads(done.stdout)["dev"]
    assert set(report) == {"our_labels"}  # dev.jsonl.gz (Dolly's categories) is not there
    scored = report["our_labels"]
    assert scored["rows"] == len(rows[1::2])
    assert set(scored["by_heuristic_weight"]) == {str(w) for w in HEURISTIC_WEIGHTS}
    assert set(scored["by_dense_weight"]) == {str(w) for w in DENSE_WEIGHTS}
    assert all(
        0 < s["macro_f1"] <= 1 for s in [*scored["by_heuristic_weight"].values(), *scored["by_dense_weight"].values()]
    )
    assert sum(sum(row.values()) for row in scored["confusion"].values()) == len(rows[1::2])
    (tmp_path / "dev-ours.jsonl.gz").unlink()
    missing = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert missing.returncode == 2 and "no development set" in missing.stderr


def test_cross_source_holds_out_whole_collections_and_chooses_both_weights_by_the_rule(tmp_path: Path) -> None:
    """`train --cross-source`: each collection scored by a model that never saw it, a grid for
    the vote's weight and one for the vector head's, and the rule's mean for each."""
    import gzip

    from scripts.classifier.train import DENSE_WEIGHTS, HEURISTIC_WEIGHTS

    examples = load_examples(REPO / "benchmarks" / "task_eval" / "task_eval.jsonl")
    # Three kinds of collection, as in the real data: people's requests, this project's phrasings, public ones.
    sources = ["oasst-labelled", "synthetic:{}", "{}"]
    rows = [
        {
            "system": "",
            "user": conversation(e.messages).latest_user,
            "label": e.label,
            "source": sources[i % 3].format(e.kind),
        }
        for i, e in enumerate(examples)
    ]
    for name, part in (("train.jsonl.gz", rows[::2]), ("dev-ours.jsonl.gz", rows[1::2])):
        with gzip.open(tmp_path / name, "wt") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in part)
    cmd = [
        sys.executable,
        "-m",
        "scripts.classifier.train",
        "--data",
        str(tmp_path / "train.jsonl.gz"),
        "--cross-source",
    ]
    report = json.loads(subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300, check=True).stdout)
    held = report["held_out"]
    assert set(held["by_source"]) == {r["source"] for r in rows[::2]}
    assert sum(g["n"] for g in held["by_source"].values()) == len(rows[::2])
    for grid, weights in (("heuristic", HEURISTIC_WEIGHTS), ("dense", DENSE_WEIGHTS)):
        columns = held[f"macro_f1_by_{grid}_weight"]
        assert set(columns) == {str(w) for w in weights}
        rule = report["weight_rule"][grid]
        for key, cols in columns.items():
            dev = report["dev"]["our_labels"][f"by_{grid}_weight"][key]["macro_f1"]
            assert rule["mean_macro_f1"][key] == round((cols["all"] + cols["public"] + cols["human"] + dev) / 4, 4)
        assert rule["best"] == max(rule["mean_macro_f1"], key=lambda k: rule["mean_macro_f1"][k])
    assert 0 < held["macro_f1"] <= 1 and 0 < held["macro_f1_vectors_alone"] <= 1


class _Lexicon:
    """A stand-in lexicon that names one type, and counts how often it was asked."""

    def __init__(self, vote: TaskType) -> None:
        self.vote, self.calls = vote, 0

    def classify(self, conv: Any) -> Any:
        from src.router.core.policy import Classification

        self.calls += 1
        return Classification(self.vote, 1.0, "heuristic", ())


def test_the_lexicons_vote_shifts_the_scores_by_the_weight_the_artefact_carries() -> None:
    from dataclasses import replace

    conv = conversation([{"role": "user", "content": "Write a haiku about rain."}])
    assert clf.model.heuristic_weight > 0  # the shipped artefact uses the vote
    alone = LearnedClassifier(replace(clf.model, heuristic_weight=0.0), _Lexicon(TaskType.MATH_REASONING))  # type: ignore[arg-type]
    assert alone.classify(conv).task_type is TaskType.CREATIVE_WRITING and alone.lexicon.calls == 0  # type: ignore[attr-defined]
    heavy = LearnedClassifier(replace(clf.model, heuristic_weight=1e4), _Lexicon(TaskType.MATH_REASONING))  # type: ignore[arg-type]
    result = heavy.classify(conv)
    assert result.task_type is TaskType.MATH_REASONING and "lexicon math_reasoning" in result.matched
    # The shipped weight: the model's own answer still wins when the lexicon disagrees weakly.
    shipped = LearnedClassifier(clf.model, _Lexicon(TaskType.MATH_REASONING))  # type: ignore[arg-type]
    p_alone = alone.model.probabilities(conv.latest_user, conv.system)
    p_voted = shipped.model.probabilities(conv.latest_user, conv.system, TaskType.MATH_REASONING)
    math = clf.model.labels.index(TaskType.MATH_REASONING)
    assert p_voted[math] > p_alone[math]


def test_words_hash_the_same_wherever_they_stand() -> None:
    from src.router.core.learned_classifier import hashed_words

    a = hashed_words(" write a function to sort ", 2)
    b = hashed_words(" please write a function ", 2)
    # unigrams first, then pairs: "write", "a", "function" and the pairs "write a", "a function"
    assert set(a[:5]) & set(b[:4]) == set(b[1:4]) and len(a) == 5 + 4 and len(b) == 4 + 3
    assert set(a[5:]) & set(b[4:]) == {a[5], a[6]}


def test_the_lexicon_votes_on_the_users_instruction_not_on_a_tools_output() -> None:
    # A tool loop: the file the agent read reads like a translation job; the ask is a fix.
    notes = "Translator's notes: translate and localize this into German, into Spanish and into Italian."
    messages = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Fix the bug in calc.py"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "1", "type": "function"}]},
        {"role": "tool", "tool_call_id": "1", "content": notes},
    ]
    result = clf.classify(conversation(messages))
    assert result.task_type is TaskType.CODE_GENERATION and "lexicon code_generation" in result.matched


def test_the_lexicon_votes_on_the_ask_not_on_a_passage_pasted_with_it() -> None:
    from src.router.core.classifier import HeuristicClassifier
    from src.router.core.learned_classifier import vote_view

    # A passage whose middle reads like a translation job (language names, "translated into").
    passage = (
        "The museum opened in 1901 in a former customs house on the river, with three rooms of maps, a "
        "hall of ship models and a reading room that stayed open late on Thursdays for the dock workers "
        "who could not come by day. "
        + "Its catalogue was translated into French, into German and into Japanese; the Japanese edition sold best. "
        * 3
        + "Today it receives about two million visitors a year, most of them in the summer months, and "
        "it keeps the reading room open late."
    )
    conv = conversation([{"role": "user", "content": f"When did the museum open?\n\n{passage}"}])
    lexicon = HeuristicClassifier()
    assert lexicon.classify(conv).task_type is TaskType.TRANSLATION  # read whole, the passage outvotes the ask
    view = vote_view(conv)
    assert view.latest_user.startswith("When did the museum open?") and len(view.latest_user) < 320
    assert lexicon.classify(view).task_type is TaskType.GENERAL
    result = clf.classify(conv)
    assert result.task_type is TaskType.GENERAL and "lexicon general" in result.matched


def test_the_asks_words_are_the_first_and_last_words_of_the_turn() -> None:
    from src.router.core.learned_classifier import ASK_WORDS, ask_words

    short = " write a haiku about rain "
    assert ask_words(short) == short
    words = [f"w{i}" for i in range(100)]
    view = ask_words(" " + " ".join(words) + " ")
    assert view.split() == [*words[:ASK_WORDS], "\u2026", *words[-ASK_WORDS:]]


def test_a_row_people_wrote_counts_human_weight_times_in_the_loss() -> None:
    """Two rows with the same text and different labels: the one from a collection of requests
    people wrote outweighs the template's when its rows count more, and loses when they count less.
    Each type still weighs the same in all (one more template row of each type)."""
    from scripts.classifier.train import HUMAN_WRITTEN, Matrix, fit, fit_dense, predict

    assert "oasst-labelled" in HUMAN_WRITTEN and "t0:xsum" not in HUMAN_WRITTEN
    text = "Tell me something about the sea and the people who sail it."
    rows = [
        {"system": "", "user": text, "label": "general", "source": "oasst-labelled+aider"},
        {"system": "", "user": text, "label": "creative_writing", "source": "t0:xsum"},
        {"system": "", "user": "What is the capital of France?", "label": "general", "source": "t0:xsum"},
        {"system": "", "user": "Write a poem about autumn leaves.", "label": "creative_writing", "source": "t0:xsum"},
    ]
    every = np.arange(len(rows), dtype=np.int64)
    for human_weight, expected in ((3.0, "general"), (1 / 3, "creative_writing")):
        m = Matrix(rows, clf.model.vectors, human_weight)
        assert m.weight.tolist() == [np.float32(human_weight), 1.0, 1.0, 1.0]
        w, b = fit(m, every, epochs=20)
        z = predict(m, w, b, every[:2])
        assert z[0].argmax() == z[1].argmax() == TASK_TYPES.index(expected)
        dw, db = fit_dense(m, every)  # the vector head: the same loss, the same weights
        zd = m.x[:2] @ dw + db
        assert zd[0].argmax() == zd[1].argmax() == TASK_TYPES.index(expected)


OWN_FILES = [
    "src/router/core/tasks.py",
    "scripts/nightly.sh",
    "scripts/nightly.ps1",
    "scripts/start_services.sh",
    "config/routing_rules.yaml",
    "config/prometheus.yml",
    "Makefile",
]


@pytest.mark.parametrize("path", OWN_FILES)
def test_a_pasted_hunk_of_this_projects_own_files_is_code_review(path: str, tmp_path: Path) -> None:
    """A change as `git diff` prints it, pasted alone or as its bare hunk: code review, in files no
    training hunk came from (shell, PowerShell, YAML, a Makefile; the training hunks are from nine
    other projects' histories). Last round's artefact read five of the seven bare hunks as code
    generation or extraction."""
    text = (REPO / path).read_text()
    (tmp_path / "f").write_text(text)
    git = ["git", "-C", str(tmp_path), "-c", "user.email=t@example.org", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "f"], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    lines = text.split("\n")
    i = next(i for i in range(len(lines) // 2, len(lines)) if lines[i].strip())
    lines[i] += "  # changed"
    (tmp_path / "f").write_text("\n".join(lines))
    diff = subprocess.run([*git, "diff"], capture_output=True, text=True, check=True).stdout
    hunk = diff[diff.index("\n@@ ") + 1 :]
    assert hunk.startswith("@@ ") and "+" + lines[i] in hunk
    for pasted in (diff, hunk):
        assert classify(pasted) is TaskType.CODE_REVIEW, pasted[:300]
