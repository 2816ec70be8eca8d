"""Build the task classifier's training set from public labelled collections.

    python -m scripts.classifier.build_data --mirrors DIR [--out FILE]

DIR holds bare git snapshots of the source repositories, one per `owner+name/repo` folder
(`data/classifier/SOURCES.md` lists each: repository, commit, path, licence, how its labels
map to our 11 task types). The output is a gzipped JSONL file, one example a line:
`{"system": str, "user": str, "label": task type, "source": group}`, where `source` names the
collection (and template) it came from, so whole sources can be held out when measuring.

Deterministic: the same snapshots give the same file, byte for byte (fixed seed, sorted
inputs, gzip without a timestamp).

Never reads the collections reserved for independent evaluation (MT-Bench, Vicuna-bench,
the WizardLM test set, HumanEval, MBPP, CodeReviewer, SST-2, the UCI sentiment sentences,
Super-NaturalInstructions): `RESERVED` is checked against every path read.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import gzip
import json
import os
import random
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from scripts.classifier import phrasings as P

GIT = shutil.which("git") or "/usr/bin/git"
REPO = Path(__file__).resolve().parents[2]
SEED = 16
CAP = 4000  # characters kept of one example's user text (the classifier reads less)

# Paths that belong to the evaluation sets: refuse to read them even by mistake.
RESERVED = (
    "mt_bench",
    "vicuna_bench",
    "WizardLM_testset",
    "HumanEval",
    "mbpp",
    "superni",
    "niv2",
    "sst2",
    "SST-2",
    "msg-test",
    "msg-valid",
    "msg-train",
    "cls-test",
    "CodeReviewer",
)

T0_DIR = "data/finetuning/t0_train_50k/data_per_template/"
T0_PER_TEMPLATE = 60

# T0 (PromptSource) templates by the task they ask for. A template is listed under the type of
# what it asks the model to do, not under its data set: "write a dialogue that matches this
# summary" is creative writing even though it comes from a summarisation set. Templates not
# listed (question generation, title guessing, fill-in-the-concept games) are left out.
T0_TEMPLATES: dict[str, list[str]] = {
    "sentiment": [
        "amazon_polarity_Is_this_product_review_positive",
        "amazon_polarity_Is_this_review",
        "amazon_polarity_Is_this_review_negative",
        "amazon_polarity_User_recommend_this_product",
        "amazon_polarity_convey_negative_or_positive_sentiment",
        "amazon_polarity_flattering_or_not",
        "amazon_polarity_negative_or_positive_tone",
        "amazon_polarity_user_satisfied",
        "amazon_polarity_would_you_buy",
        "app_reviews_categorize_rating_using_review",
        "app_reviews_convert_to_rating",
        "app_reviews_convert_to_star_rating",
        "imdb_Movie_Expressed_Sentiment",
        "imdb_Movie_Expressed_Sentiment_2",
        "imdb_Negation_template_for_positive_and_negative",
        "imdb_Reviewer_Enjoyment",
        "imdb_Reviewer_Enjoyment_Yes_No",
        "imdb_Reviewer_Expressed_Sentiment",
        "imdb_Reviewer_Opinion_bad_good_choices",
        "imdb_Reviewer_Sentiment_Feeling",
        "imdb_Sentiment_with_choices_",
        "imdb_Text_Expressed_Sentiment",
        "imdb_Writer_Expressed_Sentiment",
        "rotten_tomatoes_Movie_Expressed_Sentiment",
        "rotten_tomatoes_Movie_Expressed_Sentiment_2",
        "rotten_tomatoes_Reviewer_Enjoyment",
        "rotten_tomatoes_Reviewer_Enjoyment_Yes_No",
        "rotten_tomatoes_Reviewer_Expressed_Sentiment",
        "rotten_tomatoes_Reviewer_Opinion_bad_good_choices",
        "rotten_tomatoes_Reviewer_Sentiment_Feeling",
        "rotten_tomatoes_Sentiment_with_choices_",
        "rotten_tomatoes_Text_Expressed_Sentiment",
        "rotten_tomatoes_Writer_Expressed_Sentiment",
        "yelp_review_full_based_on_that",
        "yelp_review_full_format_rating",
        "yelp_review_full_format_score",
        "yelp_review_full_format_star",
        "yelp_review_full_on_a_scale",
        "yelp_review_full_so_i_would",
        "yelp_review_full_this_place",
    ],
    "classification": [
        "ag_news_classify",
        "ag_news_classify_question_first",
        "ag_news_classify_with_choices",
        "ag_news_classify_with_choices_question_first",
        "ag_news_recommend",
        "ag_news_which_section",
        "ag_news_which_section_choices",
        "dbpedia_14_given_a_choice_of_categories_",
        "dbpedia_14_given_a_list_of_category_what_does_the_title_belong_to",
        "dbpedia_14_given_list_what_category_does_the_paragraph_belong_to",
        "dbpedia_14_pick_one_category_for_the_following_text",
        "glue_mrpc_equivalent",
        "glue_mrpc_paraphrase",
        "glue_qqp_duplicate_or_not",
        "glue_qqp_quora",
        "paws_labeled_final_paraphrase_task",
        "trec_fine_grained_ABBR",
        "trec_fine_grained_DESC",
        "trec_fine_grained_ENTY",
        "trec_fine_grained_HUM",
        "trec_fine_grained_LOC",
        "trec_fine_grained_NUM",
        "trec_fine_grained_open",
        "trec_pick_the_best_descriptor",
        "trec_trec1",
        "trec_trec2",
        "trec_what_category_best_describe",
        "trec_which_category_best_describes",
    ],
    "extraction": [
        "duorc_ParaphraseRC_extract_answer",
        "duorc_SelfRC_extract_answer",
        "quoref_Read_And_Extract_",
        "quoref_Find_Answer",
        "wiki_bio_key_content",
        "wiki_bio_what_content",
    ],
    "summarization": [
        "cnn_dailymail_3_0_0_2_or_3_sentences",
        "cnn_dailymail_3_0_0_news_card_view",
        "cnn_dailymail_3_0_0_news_stock",
        "cnn_dailymail_3_0_0_news_summary",
        "cnn_dailymail_3_0_0_sum_in_brief",
        "cnn_dailymail_3_0_0_tldr_summary",
        "cnn_dailymail_3_0_0_write_an_outline",
        "gigaword_TLDR",
        "gigaword_generate_summary_for_this",
        "gigaword_in_a_nutshell",
        "gigaword_make_a_title",
        "gigaword_write_a_title_for_this_sentence",
        "multi_news_distill",
        "multi_news_summarize",
        "multi_news_summary_scenario",
        "multi_news_synthesize",
        "multi_news_what_are_the_key_points",
        "samsum_Generate_a_summary_for_this_dialogue",
        "samsum_Given_the_above_dialogue_write_a_summary",
        "samsum_Sum_up_the_following_dialogue",
        "samsum_Summarize_",
        "samsum_Summarize_this_dialogue_",
        "samsum_To_sum_up_this_dialog",
        "xsum_DOC_boils_down_to_simple_idea_that",
        "xsum_DOC_given_above_write_one_sentence",
        "xsum_DOC_how_would_you_rephrase_few_words",
        "xsum_DOC_tldr",
        "xsum_DOC_write_summary_of_above",
        "xsum_article_DOC_summary",
        "xsum_college_roommate_asked_DOC_so_I_recap",
        "xsum_read_below_DOC_write_abstract",
        "xsum_summarize_DOC",
        "xsum_summarize_this_DOC_summary",
    ],
    "creative_writing": [
        "cnn_dailymail_3_0_0_generate_story",
        "cnn_dailymail_3_0_0_spice_up_story",
        "duorc_ParaphraseRC_build_story_around_qa",
        "duorc_SelfRC_build_story_around_qa",
        "gigaword_write_an_article",
        "gigaword_reverse_writing",
        "multi_news_expand_reverse_task_",
        "samsum_Write_a_dialogue_that_match_this_summary",
        "app_reviews_generate_review",
        "common_gen_Given_concepts_type_1",
        "common_gen_Given_concepts_type_2",
        "common_gen_Put_together",
        "common_gen_topic_to_sentence",
    ],
    "general": [
        "adversarial_qa_dbert_answer_the_following_q",
        "adversarial_qa_dbidaf_answer_the_following_q",
        "adversarial_qa_droberta_answer_the_following_q",
        "adversarial_qa_dbert_based_on",
        "commonsense_qa_answer_given_question_without_options",
        "commonsense_qa_answer_to_question",
        "commonsense_qa_most_suitable_answer",
        "commonsense_qa_question_answering",
        "cosmos_qa_context_answer_to_question",
        "cosmos_qa_description_context_question_answer_text",
        "cosmos_qa_only_question_answer",
        "dream_read_the_following_conversation_and_answer_the_question",
        "dream_baseline",
        "kilt_tasks_hotpotqa_combining_facts",
        "kilt_tasks_hotpotqa_complex_question",
        "kilt_tasks_hotpotqa_final_exam",
        "kilt_tasks_hotpotqa_formulate",
        "kilt_tasks_hotpotqa_straighforward_qa",
        "sciq_Direct_Question",
        "sciq_Direct_Question_Closed_Book_",
        "sciq_Multiple_Choice",
        "sciq_Multiple_Choice_Closed_Book_",
        "social_i_qa_Generate_answer",
        "social_i_qa_I_was_wondering",
        "social_i_qa_Show_choices_and_generate_answer",
        "wiki_qa_Direct_Answer_to_Question",
        "wiki_qa_automatic_system",
        "wiki_qa_found_on_google",
        "wiki_qa_exercise",
        "quartz_answer_question_below",
        "quartz_given_the_fact_answer_the_q",
        "quarel_choose_between",
        "quarel_heres_a_story",
        "ropes_plain_no_background",
        "ropes_prompt_bottom_no_hint",
        "wiqa_what_might_be_the_first_step_of_the_process",
        "wiqa_what_is_the_final_step_of_the_following_process",
        "wiki_hop_original_explain_relation",
        "qasc_qa_with_separated_facts_1",
        "duorc_SelfRC_answer_question",
    ],
}

# FLAN (v1) instruction templates by the task they ask for; filled from the content pools.
FLAN_TEMPLATES: dict[str, tuple[str, ...]] = {
    "translation": ("wmt16_translate", "wmt14_enfr", "para_crawl"),
    "sentiment": ("imdb_reviews", "yelp_polarity_reviews", "sentiment140"),
    "classification": ("ag_news_subset", "anli", "rte", "mnli", "snli", "qnli", "cola", "trec", "paws_wiki", "cb"),
    "summarization": ("aeslc", "newsroom", "wiki_lingua_english_en", "opinion_abstracts_rotten_tomatoes"),
    "general": ("natural_questions", "trivia_qa", "arc", "openbookqa", "bool_q"),
    "math_reasoning": ("math_dataset",),
    "creative_writing": ("common_gen",),
}

CODE_WORDS = re.compile(
    r"\b(code|function|program|script|python|java|javascript|typescript|c\+\+|c#|sql|html|css|class|method|"
    r"array|string|algorithm|regex|regular expression|loop|variable|api|query|json|dictionary|list|integer|"
    r"react|node|php|ruby|swift|kotlin|bash|shell|compile|debug|implement|database|table|object|recursion)\b|[{};=]",
    re.I,
)
LANGS = (
    "French",
    "German",
    "Spanish",
    "Italian",
    "Portuguese",
    "Russian",
    "Japanese",
    "Chinese",
    "Korean",
    "Dutch",
    "Polish",
    "Turkish",
    "Arabic",
    "Hindi",
    "Czech",
    "Romanian",
    "Finnish",
    "Swedish",
)


class Mirrors:
    """Reads files out of the fetched bare repositories with `git show`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.used: dict[str, str] = {}

    def _git(self, repo: str) -> Path:
        return self.root / repo.replace("/", "+") / "repo"

    def _run(self, repo: str, *args: str, config: tuple[str, ...] = (), timeout: int = 60) -> bytes:
        """`git -C <the snapshot> ARGS`: its standard output."""
        cmd = [GIT, *config, "-C", str(self._git(repo)), *args]
        return subprocess.run(cmd, capture_output=True, check=True, timeout=timeout).stdout

    def _note(self, repo: str, rev: str) -> None:
        """Record the commit a repository was first read at (rev-parse once, not at every read)."""
        if repo not in self.used:
            self.used[repo] = self.commit(repo) if rev == "HEAD" else rev

    def commit(self, repo: str) -> str:
        return self._run(repo, "rev-parse", "HEAD").decode().strip()

    def read(self, repo: str, path: str, rev: str = "HEAD") -> str:
        return self.read_bytes(repo, path, rev).decode("utf-8", errors="replace")

    def read_bytes(self, repo: str, path: str, rev: str = "HEAD") -> bytes:
        """A file at the snapshot's head, or at an earlier commit `rev` of its history."""
        if any(r.lower() in path.lower() for r in RESERVED):
            raise SystemExit(f"refusing to read {repo}:{path}: it belongs to an evaluation set")
        self._note(repo, rev)
        return self._run(repo, "show", f"{rev}:{path}")

    def jsonl(self, repo: str, path: str, rev: str = "HEAD") -> list[Any]:
        """The records of a JSON-lines file, blank lines skipped. Split at "\n" only: a record's
        text may hold U+2028 or other characters `splitlines` would also split at."""
        return [json.loads(line) for line in self.read(repo, path, rev).split("\n") if line.strip()]

    def log_patches(self, repo: str, pathspecs: tuple[str, ...], commits: int) -> str:
        """`git log -p` of the newest `commits` commits touching `pathspecs`, in git's default diff
        format (a/ b/ prefixes, 3 lines of context, Myers with the indent heuristic, hunks never
        merged), whatever the user's git configuration says: the build stays byte for byte."""
        self._note(repo, "HEAD")
        settings = {
            "diff.noprefix": "false",
            "diff.mnemonicPrefix": "false",
            "diff.relative": "false",
            "diff.algorithm": "myers",
            "diff.indentHeuristic": "true",
            "diff.interHunkContext": "0",
            "diff.suppressBlankEmpty": "false",
            "diff.orderFile": "/dev/null",
        }
        config = tuple(arg for key, value in settings.items() for arg in ("-c", f"{key}={value}"))
        log = ("log", "-p", "--no-color", "--no-ext-diff", "--no-textconv", "--no-renames", "-U3")
        out = self._run(
            repo, *log, "--format=commit %H", "-n", str(commits), "HEAD", "--", *pathspecs, config=config, timeout=300
        )
        return out.decode("utf-8", errors="replace")

    def ls(self, repo: str, prefix: str, rev: str = "HEAD") -> list[str]:
        return sorted(self._run(repo, "ls-tree", "-r", "--name-only", rev, prefix).decode().split())


def ex(user: str, label: str, source: str, system: str = "") -> dict[str, str]:
    return {"system": system, "user": user.strip()[:CAP], "label": label, "source": source}


# ---- content pools: the middle of T0 prompts (template prefix and suffix stripped) ----


def _strip_template(prompts: list[str]) -> list[str]:
    """The varying middle of prompts made from one template: drop the common prefix and suffix."""
    if len(prompts) < 2:
        return prompts
    # Character by character is what is wanted here: the template's literal text is shared.
    prefix = os.path.commonprefix(prompts)  # noqa: RUF071
    suffix = os.path.commonprefix([p[::-1] for p in prompts])[::-1]  # noqa: RUF071
    return [p[len(prefix) : len(p) - len(suffix)].strip() for p in prompts]


def t0_prompts(m: Mirrors, template: str, n: int) -> list[str]:
    text = m.read("yizhongw/self-instruct", T0_DIR + template + ".jsonl")
    rows = [json.loads(line)["prompt"] for line in text.splitlines()[:n] if line.strip()]
    return [r.replace("\\n", "\n") for r in rows]


def pools(m: Mirrors) -> dict[str, list[str]]:
    def mid(template: str, n: int = 150) -> list[str]:
        return [x for x in _strip_template(t0_prompts(m, template, n)) if len(x) > 40]

    return {
        "review": mid("amazon_polarity_Is_this_review")
        + mid("yelp_review_full_this_place")
        + mid("imdb_Reviewer_Enjoyment")
        + mid("app_reviews_convert_to_rating"),
        "short_review": mid("rotten_tomatoes_Reviewer_Enjoyment"),
        "news": mid("cnn_dailymail_3_0_0_tldr_summary") + mid("xsum_DOC_tldr"),
        "dialogue": mid("samsum_To_sum_up_this_dialog"),
        "bio": mid("wiki_bio_who"),
        "paragraph": mid("dbpedia_14_pick_one_category_for_the_following_text") + mid("ag_news_classify"),
        "question": mid("commonsense_qa_answer_given_question_without_options", 300),
        "open_question": open_questions(m),
    }


def open_questions(m: Mirrors) -> list[str]:
    """Real people's questions: Quora (QQP), TREC, HotpotQA and SciQ, taken out of their templates."""
    out: set[str] = set()
    for template in ("glue_qqp_quora", "glue_qqp_duplicate", "glue_qqp_same_thing", "glue_qqp_meaning"):
        for middle in _strip_template(t0_prompts(m, template, 1000)):
            out.update(q.strip(' "') for q in re.split(r'"\s*and (?:another that asks )?"', middle))
    for template in ("trec_trec1", "kilt_tasks_hotpotqa_straighforward_qa", "sciq_Direct_Question_Closed_Book_"):
        out.update(_strip_template(t0_prompts(m, template, 1000)))
    return sorted(
        q for q in out if 12 <= len(q) <= 300 and ("?" in q[-3:] or q.lower().startswith(("how", "what", "why", "who")))
    )


def sentences(texts: list[str], rng: random.Random, n: int) -> list[str]:
    out = []
    for t in texts:
        for s in re.split(r"(?<=[.!?])\s+", t):
            if 30 <= len(s) <= 220:
                out.append(s.strip())
    rng.shuffle(out)
    return out[:n]


def foreign_sentences(m: Mirrors) -> list[str]:
    out = []
    for path in ("README-ja.md", "README-zh-Hans.md", "README-zh-TW.md"):
        for line in m.read("donnemartin/system-design-primer", path).splitlines():
            line = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line).strip("*#>- ").strip()
            if (
                12 <= len(line) <= 160
                and not line.startswith(("|", "!", "<", "`"))
                and re.search(r"[\u3040-\u9fff]", line)
            ):
                out.append(line)
    return out


# ---- sources ----


def from_t0(m: Mirrors) -> Iterator[dict[str, str]]:
    for label, templates in T0_TEMPLATES.items():
        for template in templates:
            for prompt in t0_prompts(m, template, T0_PER_TEMPLATE):
                yield ex(prompt, label, "t0:" + template.split("_")[0])


def flan_patterns(m: Mirrors) -> dict[str, list[tuple[str, str]]]:
    tree = ast.parse(m.read("google-research/FLAN", "flan/templates.py"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "PATTERNS":
            patterns: dict[str, list[tuple[str, str]]] = ast.literal_eval(node.value)
            return patterns
    raise SystemExit("flan/templates.py: no PATTERNS")


def from_flan(m: Mirrors, pool: dict[str, list[str]], rng: random.Random) -> Iterator[dict[str, str]]:
    patterns = flan_patterns(m)
    english = sentences(pool["news"] + pool["paragraph"], rng, 3000)
    foreign = foreign_sentences(m)

    def fill(template: str, label: str) -> str:
        values = {
            "sent1": rng.choice(english),
            "sent2": rng.choice(foreign) if foreign and rng.random() < 0.5 else rng.choice(english),
            "lang1": "English",
            "lang2": rng.choice(LANGS),
            "text": rng.choice(pool["review"] if label == "sentiment" else pool["paragraph"]),
            "question": rng.choice(pool["question"]),
            "context": rng.choice(pool["paragraph"]),
            "hypothesis": rng.choice(english),
            "premise": rng.choice(english),
            "sentence": rng.choice(english),
            "sentence1": rng.choice(english),
            "sentence2": rng.choice(english),
            "title": rng.choice(english)[:60],
            "body": rng.choice(pool["news"]),
            "document": rng.choice(pool["news"]),
            "text1": rng.choice(english),
            "concepts": ", ".join(rng.sample(P.TOPIC_WORDS, 4)),
            "options_": "OPTIONS:\n- yes\n- no",
            "critic_sentences": " ".join(rng.sample(english, 3)),
            "argument_sentences": " ".join(rng.sample(english, 3)),
            "answer": "",
        }
        if label == "math_reasoning":
            values["question"] = rng.choice(P.MATH_SNIPPETS)
        return template.format_map(_Default(values))

    for label, names in FLAN_TEMPLATES.items():
        for name in names:
            for template, _target in patterns[name]:
                if (label == "translation" and "Which language" in template) or "not in {lang1}" in template:
                    continue
                for _ in range(8):
                    yield ex(fill(template, label), label, "flan:" + name)


class _Default(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def from_conala(m: Mirrors, rng: random.Random) -> list[dict[str, str]]:
    """CoNaLa: real StackOverflow questions asking how to do something in Python."""
    out = []
    for path in ("conala-train.json", "conala-test.json"):
        for row in json.loads(m.read("shilliscmu/TranxConalaBaseline", path)):
            for key in ("intent", "rewritten_intent"):
                text = (row.get(key) or "").strip()
                if len(text) > 12:
                    out.append(ex(rng.choice(P.CODE_ASK_WRAPS).format(q=text), "code_generation", "conala"))
    rng.shuffle(out)
    return out[:2400]


STDLIB_MODULES = (
    "argparse",
    "base64",
    "bisect",
    "calendar",
    "csv",
    "difflib",
    "fractions",
    "glob",
    "heapq",
    "html/parser",
    "json/encoder",
    "json/decoder",
    "pathlib",
    "pprint",
    "shlex",
    "shutil",
    "statistics",
    "string",
    "tarfile",
    "textwrap",
    "tokenize",
    "urllib/parse",
    "uuid",
    "zipfile",
    "gzip",
    "ipaddress",
    "email/utils",
    "configparser",
)


def stdlib_tasks(rng: random.Random) -> list[dict[str, str]]:
    """Code to write, described the way the standard library's docstrings describe it, and stubs to complete."""
    import sysconfig

    root = Path(sysconfig.get_paths()["stdlib"])
    out = []
    for name in STDLIB_MODULES:
        source = (root / (name + ".py")).read_text()
        lines = source.splitlines()
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
                continue
            doc = (ast.get_docstring(node) or "").strip().split("\n\n")[0].replace("\n", " ")
            if not 15 <= len(doc) <= 300:
                continue
            signature = lines[node.lineno - 1].strip()
            first = doc[0].lower() + doc[1:].rstrip(".")
            text = rng.choice(P.DOC_TASK_WRAPS).format(name=node.name, doc=doc, lower=first, sig=signature)
            out.append(ex(text, "code_generation", "stdlib-docstrings"))
            body = node.body[1:] if isinstance(node.body[0], ast.Expr) else node.body
            if body and node.body[0] is not body[0]:
                stub = "\n".join(lines[node.lineno - 1 : body[0].lineno - 1])
                stub = (
                    textwrap_dedent(stub).rstrip() + "\n" + rng.choice(("    pass\n", "    ...\n", "    # TODO\n", ""))
                )
                out.append(ex(rng.choice(P.STUB_WRAPS).format(code=stub), "code_generation", "stdlib-stubs"))
    rng.shuffle(out)
    return out


def stdlib_functions(rng: random.Random) -> list[str]:
    """Real code to review or change: functions of 4-40 lines from Python's standard library (PSF licence)."""
    import sysconfig

    root = Path(sysconfig.get_paths()["stdlib"])
    out = []
    for name in STDLIB_MODULES:
        source = (root / (name + ".py")).read_text()
        lines = source.splitlines()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef) and node.end_lineno and 4 <= node.end_lineno - node.lineno <= 40:
                body = "\n".join(lines[node.lineno - 1 : node.end_lineno])
                out.append(textwrap_dedent(body))
    rng.shuffle(out)
    return out


def textwrap_dedent(text: str) -> str:
    import textwrap

    return textwrap.dedent(text)


# Self-Instruct's 175 human-written seed tasks, labelled by hand by what each asks for (by line
# number in data/seed_tasks.jsonl); tasks that fit no type, or several, are left out.
SEED_TASK_LABELS: dict[str, tuple[int, ...]] = {
    "creative_writing": (
        8,
        18,
        20,
        29,
        47,
        49,
        55,
        56,
        57,
        59,
        63,
        74,
        76,
        79,
        84,
        86,
        89,
        93,
        96,
        100,
        112,
        119,
        123,
        124,
        129,
    ),
    "general": (
        0,
        5,
        6,
        7,
        9,
        10,
        11,
        12,
        16,
        17,
        19,
        23,
        24,
        27,
        30,
        32,
        34,
        40,
        48,
        52,
        54,
        60,
        70,
        73,
        80,
        81,
        82,
        87,
        88,
        90,
        91,
        95,
        99,
        102,
        103,
        105,
        107,
        111,
        116,
        118,
        121,
        127,
        130,
        131,
        133,
        142,
        143,
        145,
        153,
    ),
    "classification": (150, 151, 152, 154, 156, 159, 165, 166, 167, 169, 172, 173),
    "sentiment": (157, 171),
    "extraction": (39, 67, 85),
    "summarization": (4, 62, 64, 75, 137),
    "translation": (101, 117),
    "code_generation": (28, 31, 37, 41, 50, 69, 72, 138, 139, 140, 141),
    "code_review": (158,),
    "math_reasoning": (21, 22, 25, 35, 45, 83, 109, 110, 136, 144),
}


def from_seed_tasks(m: Mirrors) -> list[dict[str, str]]:
    lines = m.read("yizhongw/self-instruct", "data/seed_tasks.jsonl").splitlines()
    out = []
    for label, numbers in SEED_TASK_LABELS.items():
        for n in numbers:
            task = json.loads(lines[n])
            out.append(ex(task["instruction"], label, "self-instruct-seed"))
            for inst in task["instances"]:
                given = (inst.get("input") or "").strip()
                out.append(ex(task["instruction"] + ("\n" + given if given else ""), label, "self-instruct-seed"))
    return out


LABELS_DIR = REPO / "data" / "classifier" / "labels"
# Human-written requests without a category we can use, labelled for this project (one type
# each, or SKIP) by reading them against `data/classifier/labels/GUIDE.md`: the labels are ours,
# the text stays in its repository. (repository, path, labels file, collection name)
HAND_LABELLED = (
    ("wind123mountain/MTA", "data/dolly/dev.jsonl", "dolly_dev.tsv", "dolly-labelled"),
    (
        "yizhongw/self-instruct",
        "human_eval/user_oriented_instructions.jsonl",
        "user_oriented.tsv",
        "self-instruct-user",
    ),
)


def read_labels(name: str) -> dict[int, str]:
    """`<index>\t<type or SKIP>` lines (after `#` comments) -> {index: type}, SKIPs dropped."""
    out = {}
    for line in (LABELS_DIR / name).read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        index, label = line.split("\t")
        if label != "SKIP":
            out[int(index)] = label
    return out


def labelled_examples(
    requests: list[tuple[str, str]], labels_file: str, source: str, dev_instructions: set[str]
) -> list[dict[str, str]]:
    """Each labelled (instruction, input) as people wrote it: the instruction alone, and with its
    input after it; a request the development set also asks is left out."""
    labels = read_labels(labels_file)
    out = []
    for i, (instruction, given) in enumerate(requests):
        if i not in labels or instruction in dev_instructions:
            continue
        out.append(ex(instruction, labels[i], source))
        if given:
            out.append(ex(f"{instruction}\n\n{given}", labels[i], source))
    return out


def from_hand_labelled(m: Mirrors, dev_instructions: set[str]) -> list[dict[str, str]]:
    out = []
    for repo, path, labels_file, source in HAND_LABELLED:
        requests = []
        for row in m.jsonl(repo, path):
            given = row.get("input") or next((x.get("input") for x in row.get("instances", [])), "") or ""
            requests.append((row["instruction"].strip(), given.strip()))
        out += labelled_examples(requests, labels_file, source, dev_instructions)
    return out


# Requests people typed into chat assistants, with no usable category of their own, labelled for
# this project against labels/GUIDE.md (labels file, by index in the order the loader gives).
OASST_EVAL = ("Open-Assistant/oasst-model-eval", "ce935dee6922ec75d5a4006dd1c3595b39a01fdf")
OASST_FI = ("TurkuNLP/oasst-fi", "45e9c4600eacf5844887e321ba3952befe9727dc")
ARENA_V1 = ("lm-sys/arena-hard-auto", "efc012e192b88024a5203f5a28ec8fc0342946df", "data/arena-hard-v0.1/question.jsonl")
ARENA_V2 = (
    "lmarena/arena-hard-auto",
    "196f6b826783b3da7310e361a805fa36f0be83f3",
    "data/arena-hard-v2.0/question.jsonl",
)


def oasst_requests(m: Mirrors) -> list[str]:
    """OpenAssistant's English first turns, written by its volunteers (Apache-2.0): the prompts the
    project sampled for its own model evaluations (1k-prompts reports and the 250-prompt lottery;
    not the `en_100` files, which are model-written) and oasst1's English validation split."""
    repo, commit = OASST_EVAL
    texts = []
    for path in m.ls(repo, "sampling_reports/oasst-sft/1k-prompts", commit):
        if re.search(r"/result_\d\d_en_100_seed_\d+\.json$", path):
            texts += [p["prompt"] for p in json.loads(m.read(repo, path, commit))["prompts"]]
    texts += m.jsonl(repo, "model_eval/manual/data/prompt_lottery_en_250_text.jsonl", commit)
    repo, commit = OASST_FI
    for row in m.jsonl(repo, "original-data/en-validation.jsonl", commit):
        if row["parent_id"] is None and row["lang"] == "en" and not row["deleted"] and not row["synthetic"]:
            texts.append(row["text"])
    return [t for t in dict.fromkeys(t.strip() for t in texts) if t]  # first of each, in order


def arena_requests(m: Mirrors, source: tuple[str, str, str]) -> list[str]:
    """Arena-Hard's prompts, real requests from Chatbot Arena (Apache-2.0), in file order."""
    repo, commit, path = source
    return [row["prompt"] if "prompt" in row else row["turns"][0]["content"] for row in m.jsonl(repo, path, commit)]


def chat_request_sets(m: Mirrors) -> list[tuple[str, str, list[str]]]:
    """(labels file, source name, requests) of each labelled chat collection."""
    return [
        ("oasst.tsv", "oasst-labelled", oasst_requests(m)),
        ("arena_hard.tsv", "arena-hard-labelled", arena_requests(m, ARENA_V1)),
        ("arena_hard_v2.tsv", "arena-hard-v2-labelled", arena_requests(m, ARENA_V2)),
    ]


def from_chat_requests(m: Mirrors, dev_instructions: set[str]) -> list[dict[str, str]]:
    out = []
    for labels_file, source, requests in chat_request_sets(m):
        out += labelled_examples([(r, "") for r in requests], labels_file, source, dev_instructions)
    return out


# databricks-dolly-15k's training rows as DistiLLM ships them: GPT-2 token ids in an indexed
# binary (the JSON beside it is over the snapshot service's 4 MiB limit; the category is lost).
DOLLY_TOKENS = "distillm-master/processed_data/dolly/full/gpt2/train_0"
# GPT-2's byte-pair ranks: tiktoken's p50k_base file (the first 50,257 ranks are GPT-2's), as
# LiteLLM ships it for offline token counting.
P50K_FILE = "litellm_core_utils/tokenizers/ec7223a39ce59f226a68acc30dc1af2788490e15"


def gpt2_ranks() -> dict[int, bytes]:
    import base64
    import importlib.util

    spec = importlib.util.find_spec("litellm")  # found, not imported: importing it reaches for the network
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("litellm is not installed: its p50k_base file decodes DistiLLM's Dolly tokens")
    text = (Path(spec.submodule_search_locations[0]) / P50K_FILE).read_text()
    return {int(rank): base64.b64decode(token) for token, rank in (line.split() for line in text.splitlines())}


def indexed_dataset(idx: bytes, data: bytes) -> list[list[int]]:
    """Sequences of a Megatron/fairseq MMapIndexedDataset (`MMIDIDX` header, uint16 tokens)."""
    import struct

    if idx[:9] != b"MMIDIDX\x00\x00" or idx[17] != 8:
        raise SystemExit("not an MMIDIDX index of uint16 tokens")
    (n,) = struct.unpack("<Q", idx[18:26])
    sizes = struct.unpack(f"<{n}i", idx[34 : 34 + 4 * n])
    pointers = struct.unpack(f"<{n}q", idx[34 + 4 * n : 34 + 12 * n])
    tokens = memoryview(data).cast("H")
    return [list(tokens[p // 2 : p // 2 + size]) for p, size in zip(pointers, sizes, strict=True)]


def dolly_training_requests(m: Mirrors) -> list[tuple[str, str]]:
    """(instruction, input) of each row, decoded from the prompt DistiLLM built around it (the
    prompt stops at its separator, 65535; a long input was cut at 256 tokens)."""
    ranks = gpt2_ranks()
    rows = indexed_dataset(
        m.read_bytes("wind123mountain/MTA", DOLLY_TOKENS + ".idx"),
        m.read_bytes("wind123mountain/MTA", DOLLY_TOKENS + ".bin"),
    )
    out = []
    for seq in rows:
        prompt = seq[: seq.index(65535)] if 65535 in seq else seq
        text = b"".join(ranks[t] for t in prompt).decode("utf-8", errors="replace")
        body = text.split("### Instruction:\n", 1)[1].split("\n\n### Response:\n")[0]
        instruction, _, given = body.partition("\n\n### Input:\n")
        out.append((instruction.strip(), given.strip()))
    return out


def from_dolly_training(m: Mirrors, dev_instructions: set[str]) -> list[dict[str, str]]:
    """Dolly's training rows with our labels (`labels/dolly_train.tsv`)."""
    return labelled_examples(dolly_training_requests(m), "dolly_train.tsv", "dolly-train-labelled", dev_instructions)


# prompts.chat (awesome-chatgpt-prompts): role prompts people wrote to set an assistant up for a
# job. Its head's prompts.csv is over the snapshot service's limit; this commit's is readable.
ROLE_PROMPTS = ("f/awesome-chatgpt-prompts", "prompts.csv", "50a97c072933c93c76cc0714e9dd4c4cf1d80ae7")


def from_role_prompts(m: Mirrors) -> list[dict[str, str]]:
    """Each labelled role prompt (`labels/role_prompts.tsv`), as the user's turn and as a system prompt."""
    import csv
    import io

    repo, path, rev = ROLE_PROMPTS
    csv.field_size_limit(1 << 26)
    rows = list(csv.DictReader(io.StringIO(m.read(repo, path, rev))))
    labels = read_labels("role_prompts.tsv")
    out = []
    for i, row in enumerate(rows):
        if i in labels:
            out.append(ex(row["prompt"], labels[i], "role-prompts"))
            out.append(ex("Let's start.", labels[i], "role-prompts", system=row["prompt"].strip()[:CAP]))
    return out


# databricks-dolly-15k's own categories -> ours, for the development set below. closed_qa (a
# question answered from a given passage) sits between extraction and general and is left out;
# brainstorming (lists of ideas, suggestions, advice) is an everyday ask: general.
DOLLY_LABELS = {
    "open_qa": "general",
    "general_qa": "general",
    "brainstorming": "general",
    "classification": "classification",
    "information_extraction": "extraction",
    "summarization": "summarization",
    "creative_writing": "creative_writing",
}


DOLLY_VALID = ("wind123mountain/MTA", "data/dolly/valid.jsonl")


def dolly_dev_sets(m: Mirrors) -> tuple[list[dict[str, str]], list[dict[str, str]], set[str]]:
    """Development sets of human phrasing, never trained on: Dolly's 500-row categorised sample
    (MiniLLM's held-out split, category in `topic`), each request as its writer gave it — once
    labelled by Dolly's own categories (`DOLLY_LABELS`), once by ours (`labels/dolly_valid.tsv`,
    written without seeing the category) — and what every row asks (training rows asking the
    same are left out)."""
    ours = read_labels("dolly_valid.tsv")
    by_dolly, by_us, instructions = [], [], set()
    for i, row in enumerate(m.jsonl(*DOLLY_VALID)):
        instruction, passage = row["instruction"].strip(), (row.get("input") or "").strip()
        instructions.add(instruction)
        request = instruction + (f"\n\n{passage}" if passage else "")
        if row["topic"] in DOLLY_LABELS:
            by_dolly.append(ex(request, DOLLY_LABELS[row["topic"]], "dolly-dev"))
        if i in ours:
            by_us.append(ex(request, ours[i], "dolly-dev"))
    return by_dolly, by_us, instructions


def write_rows(path: Path, rows: list[dict[str, str]], name: str) -> None:
    """Gzipped JSONL with a fixed name and no timestamp in the header: same rows, same bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as raw, gzip.GzipFile(filename=name, fileobj=raw, mode="wb", mtime=0) as gz:
        for row in rows:
            gz.write((json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n").encode())


def from_gsm8k(m: Mirrors, rng: random.Random) -> list[dict[str, str]]:
    rows = m.jsonl("openai/grade-school-math", "grade_school_math/data/train.jsonl")
    rng.shuffle(rows)
    return [ex(rng.choice(P.MATH_WRAPS).format(q=r["question"]), "math_reasoning", "gsm8k") for r in rows[:1200]]


def function_requests(m: Mirrors, rng: random.Random) -> list[dict[str, str]]:
    """Requests for a small program, many about a computation or a text task (code generation),
    and GSM8K word problems not used as math examples, handed over as programming tasks."""
    out = []
    for task in P.FUNCTION_TASKS:
        for wrap in rng.sample(P.FUNCTION_WRAPS, 6):
            out.append(
                ex(wrap.format(t=task, lang=rng.choice(P.PROGRAMMING_LANGS)), "code_generation", "synthetic:function")
            )
    rows = m.jsonl("openai/grade-school-math", "grade_school_math/data/train.jsonl")
    rng.shuffle(rows)
    for r in rows[-300:]:  # from_gsm8k takes the first 1,200 of its own shuffle: these may overlap, labels differ
        wrap = rng.choice(P.CODE_FOR_PROBLEM_WRAPS)
        out.append(
            ex(wrap.format(q=r["question"], lang=rng.choice(P.PROGRAMMING_LANGS)), "code_generation", "gsm8k-code")
        )
    return out


ALGORITHMS = "TheAlgorithms/Python"
ALGORITHMS_COMMIT = "f5988cc09713315817df6a7e327e258013a94440"


def algorithm_stubs(m: Mirrors, rng: random.Random) -> list[dict[str, str]]:
    """Functions to write, given as their signature and docstring (often with doctests) and no body:
    TheAlgorithms/Python's top-level functions (MIT), most of them a computation described in
    mathematical words ("Return the sum of the digits of n"), which is still a request for code.
    Project Euler solutions keep the problem statement above the stub half of the time."""
    paths = [
        p
        for p in m.ls(ALGORITHMS, ".", ALGORITHMS_COMMIT)
        if p.endswith(".py") and "/" in p and not p.rsplit("/", 1)[1].startswith(("test_", "__init__"))
    ]
    out = []
    for path in paths:
        source = m.read(ALGORITHMS, path, ALGORITHMS_COMMIT)
        for stub in function_stubs(source, rng, with_module_doc=path.startswith("project_euler/")):
            out.append(ex(rng.choice(P.STUB_WRAPS).format(code=stub), "code_generation", "thealgorithms-stubs"))
    rng.shuffle(out)
    return out


def function_stubs(source: str, rng: random.Random, with_module_doc: bool = False) -> list[str]:
    """Each public top-level function of a module that has a docstring, cut after the docstring:
    the signature and docstring, no body; half the time under the module's imports and (when
    `with_module_doc`) half the time under the module's docstring."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    lines = source.splitlines()
    imports = [
        ast.get_source_segment(source, n) or ""
        for n in tree.body
        if isinstance(n, ast.Import) or (isinstance(n, ast.ImportFrom) and n.module != "__future__")
    ]
    module_doc = (ast.get_docstring(tree) or "").strip() if with_module_doc else ""
    out = []
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
            continue
        doc = ast.get_docstring(node) or ""
        body = node.body[1:]
        if not 20 <= len(doc) <= 2000 or not body:
            continue
        stub = textwrap_dedent("\n".join(lines[node.lineno - 1 : body[0].lineno - 1])).rstrip() + "\n"
        head = "\n".join(imports) + "\n\n\n" if imports and rng.random() < 0.5 else ""
        if module_doc and rng.random() < 0.5:
            head = '"""\n' + module_doc + '\n"""\n\n' + head
        out.append(head + stub)
    return out


# InstructUIE's instructions for information-extraction tasks (MIT), by what each asks for: list
# the entities, relations or events in a text (extraction); pick a given entity's or pair's
# category from options (classification). Assembled as its data loader assembles them.
UIE = ("BeyonderXX/InstructUIE", "339ade6e0c490c5231bd3a883868177bcb382be6", "configs/instruction_config.json")
UIE_TYPES = {
    "NER": "extraction",
    "RE": "extraction",
    "EE": "extraction",
    "ES": "extraction",
    "EP": "extraction",
    "EEA": "extraction",
    "EET": "extraction",
    "RC": "classification",
    "ET": "classification",
    "EPR": "classification",
}
# Label sets of the common NER, relation and event schemes (CoNLL-2003, OntoNotes, ACE, NYT).
UIE_OPTIONS = {
    "entity": [
        "person, location, organization, else",
        "person, organization, location, miscellaneous",
        "date, event, facility, geopolitical entity, language, law, location, money, norp, person, product",
        "disease, chemical",
        "gene, protein, cell type",
    ],
    "relation": [
        "place of birth, nationality, company, place lived, founders, neighborhood of",
        "part of, located in, employed by, member of",
    ],
    "event": ["attack, transport, die, meet, elect, start position, end position, marry"],
}


def uie_requests(m: Mirrors, text: list[str], rng: random.Random) -> list[dict[str, str]]:
    repo, commit, path = UIE
    config = json.loads(m.read(repo, path, commit))
    out = []
    for task, label in sorted(UIE_TYPES.items()):
        kind = "relation" if task in ("RE", "RC", "EP", "EPR") else "event" if task.startswith("EE") else "entity"
        for item in config[task]:
            for _ in range(40):
                sentence = rng.choice(text)
                names = sorted(set(re.findall(r"\b[A-Z][a-z]{2,}\b", sentence[1:]))) or ["it", "them"]
                pair = rng.sample(names, 2) if len(names) > 1 else [names[0], "it"]
                instruction = item["instruction"].replace("{0}", pair[0]).replace("{1}", pair[1])
                options = rng.choice(UIE_OPTIONS[kind])
                body = f"{instruction}Option: {options} \nText: {sentence} \nAnswer:"
                out.append(ex(body, label, "instructuie"))
    return out


def creative_requests(rng: random.Random) -> list[dict[str, str]]:
    """Creative writing asked for in other words than "write a ...": role-play, voices, occasions."""
    out = []
    for _ in range(400):
        text = rng.choice(P.ROLEPLAY_WRAPS).format(
            persona=rng.choice(P.PERSONAS), topic=rng.choice(P.TOPICS), form=rng.choice(P.FORMS)
        )
        out.append(ex(text, "creative_writing", "synthetic:roleplay"))
    for _ in range(200):
        text = rng.choice(P.OCCASION_WRAPS).format(
            tone=rng.choice(P.OCCASION_TONES), who=rng.choice(P.OCCASION_WHO), why=rng.choice(P.OCCASION_WHY)
        )
        out.append(ex(text, "creative_writing", "synthetic:occasion"))
    return out


def from_aqua(m: Mirrors) -> list[dict[str, str]]:
    out = []
    for path in ("dev.json", "test.json"):
        for r in m.jsonl("deepmind/AQuA", path):
            out.append(ex(r["question"] + "\n" + "\n".join(r["options"]), "math_reasoning", "aqua"))
    return out


def design_subjects(m: Mirrors) -> list[str]:
    subjects = []
    for line in m.read("donnemartin/system-design-primer", "README.md").splitlines():
        hit = re.match(r"\| Design (.+?) \|", line)
        if hit:
            subjects.append(hit.group(1).strip())
    return sorted(set(subjects))


def design_topics(m: Mirrors) -> list[str]:
    """The primer's index of system design topics (its `## ` and `### ` headings after the index)."""
    topics = []
    skip = (
        "source",
        "disadvantage",
        "appendix",
        "contact",
        "license",
        "credits",
        "under develop",
        "how to",
        "index",
        "study guide",
        "anki",
        "contribut",
        "motivation",
        "system design interview",
        "object-oriented",
        "real world",
        "company",
        "additional",
        "next steps",
        "translations",
        "coding interview",
        "introduction",
        "resources",
    )
    for line in m.read("donnemartin/system-design-primer", "README.md").splitlines():
        hit = re.match(r"^#{2,4} (.+)$", line)
        if hit:
            topic = hit.group(1).strip()
            if 3 <= len(topic) <= 50 and not any(k in topic.lower() for k in skip):
                topics.append(topic)
    return sorted(set(topics))


def architecture(m: Mirrors, rng: random.Random) -> list[dict[str, str]]:
    subjects, topics = design_subjects(m), design_topics(m)
    out = []
    for subject in subjects:
        for template in P.DESIGN_WRAPS:
            out.append(ex(template.format(s=subject), "architecture_design", "system-design-primer"))
    for topic in topics:
        for template in rng.sample(P.TOPIC_WRAPS, 4):
            out.append(ex(template.format(t=topic), "architecture_design", "system-design-primer"))
    return out


def _mutate(code: str, rng: random.Random) -> str:
    lines = code.splitlines()
    i = rng.randrange(len(lines))
    line = lines[i]
    for a, b in (("<", "<="), ("+ 1", "- 1"), ("==", "!="), ("0", "1"), ("True", "False"), ("and", "or"), ("i", "j")):
        if a in line:
            lines[i] = line.replace(a, b, 1)
            return "\n".join(lines)
    lines.insert(i, lines[i])
    return "\n".join(lines)


def diff_of(code: str, rng: random.Random, name: str) -> str:
    new = _mutate(code, rng)
    return (
        "".join(difflib.unified_diff(code.splitlines(True), new.splitlines(True), f"a/{name}", f"b/{name}", n=3)) or new
    )


def code_review(code: list[str], rng: random.Random) -> list[dict[str, str]]:
    out = []
    names = ("app.py", "src/utils.py", "lib/parser.py", "handlers/user.py", "service/core.py", "tools/cli.py")
    for body in code[:1200]:
        name = rng.choice(names)
        kind = rng.random()
        if kind < 0.45:
            text = rng.choice(P.REVIEW_WRAPS).format(code="```\n" + body + "\n```")
        elif kind < 0.85:
            diff = f"diff --git a/{name} b/{name}\n" + diff_of(body, rng, name)
            text = rng.choice(P.DIFF_REVIEW_WRAPS).format(diff=diff)
        else:
            out.append(ex(body, "code_review", "synthetic:review-system", system=rng.choice(P.REVIEW_SYSTEMS)))
            continue
        out.append(ex(text, "code_review", "synthetic:review"))
    return out


def code_tasks(code: list[str], rng: random.Random) -> list[dict[str, str]]:
    """Code pasted with a request to change, fix or complete it (code generation, not review)."""
    out = []
    for body in code[1200:2200]:
        out.append(
            ex(
                rng.choice(P.CODE_CHANGE_WRAPS).format(code="```\n" + body + "\n```"),
                "code_generation",
                "synthetic:code-change",
            )
        )
    return out


# Repositories whose commit history gives real diff hunks, one per language a code reviewer meets
# most (Go, Java, Python, C#, Ruby, JavaScript, C, PHP, C++); all MIT, Apache-2.0 or BSD.
HUNK_REPOS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("spf13/cobra", ("*.go",)),
    ("google/gson", ("*.java",)),
    ("TheAlgorithms/Python", ("*.py",)),
    ("JamesNK/Newtonsoft.Json", ("*.cs",)),
    ("sinatra/sinatra", ("*.rb",)),
    ("expressjs/express", ("*.js", ":(exclude)*.min.js")),
    ("redis/hiredis", ("*.c", "*.h")),
    ("guzzle/guzzle", ("*.php",)),
    ("gabime/spdlog", ("*.cpp", "*.h")),
)
HUNKS_PER_REPO = 120


def file_diffs(log: str) -> Iterator[tuple[str, list[str]]]:
    """Each file's diff in a `git log -p` output, newest commit first: its header and its hunks."""
    for commit in re.split(r"^commit [0-9a-f]{40}\n", log, flags=re.M)[1:]:
        for part in re.split(r"^(?=diff --git )", commit, flags=re.M)[1:]:
            lines = part.rstrip("\n").split("\n")
            starts = [i for i, line in enumerate(lines) if line.startswith("@@ ")]
            if not starts:  # binary files, mode changes, empty files
                continue
            ends = [*starts[1:], len(lines)]
            yield "\n".join(lines[: starts[0]]), ["\n".join(lines[i:j]) for i, j in zip(starts, ends, strict=True)]


def real_hunks(m: Mirrors, repo: str, pathspecs: tuple[str, ...]) -> list[tuple[str, str]]:
    """Up to HUNKS_PER_REPO (file header, hunk) pairs from the repository's newest commits: at most
    two per file diff, each 120-1,500 characters and changing at least one non-blank line."""
    out = []
    for header, hunks in file_diffs(m.log_patches(repo, pathspecs, 1500)):
        kept = 0
        for hunk in hunks:
            changed = any(line[:1] in "+-" and line[1:].strip() for line in hunk.split("\n")[1:])
            if kept < 2 and 120 <= len(hunk) <= 1500 and changed:
                out.append((header, hunk))
                kept += 1
        if len(out) >= HUNKS_PER_REPO:
            break
    return out[:HUNKS_PER_REPO]


def history_hunks(m: Mirrors, rng: random.Random) -> list[dict[str, str]]:
    """Real changes from real projects' histories, pasted for review as people paste them: a bare
    hunk, the file's diff header and hunk, a hunk inside a request, a hunk under a reviewer's system
    prompt. One collection per repository, so a language can be held out whole."""
    out = []
    for repo, pathspecs in HUNK_REPOS:
        for header, hunk in real_hunks(m, repo, pathspecs):
            kind = rng.random()
            source = f"hunks:{repo}"
            if kind < 0.35:
                out.append(ex(hunk, "code_review", source))
            elif kind < 0.6:
                out.append(ex(f"{header}\n{hunk}", "code_review", source))
            elif kind < 0.9:
                diff = rng.choice((hunk, f"{header}\n{hunk}"))
                out.append(ex(rng.choice(P.DIFF_REVIEW_WRAPS).format(diff=diff), "code_review", source))
            else:
                out.append(ex(hunk, "code_review", source, system=rng.choice(P.REVIEW_SYSTEMS)))
    return out


def bare(text: str) -> str:
    """An instruction whose content is not in the message (sent before, attached, or to come)."""
    return re.sub(r"\s*\n\s*\n\s*", "\n", text).strip(' :\n"')


def instruction_only(rng: random.Random) -> list[dict[str, str]]:
    """The instruction alone, without the text it is about: people often send it that way."""
    out = []
    families = (
        (P.SENTIMENT_WRAPS, "sentiment", {"doc": ""}),
        (P.CLASSIFY_WRAPS, "classification", {"doc": ""}),
        (P.EXTRACT_WRAPS, "extraction", {"doc": ""}),
        (P.SUMMARY_WRAPS, "summarization", {"doc": ""}),
        (P.REVIEW_WRAPS, "code_review", {"code": ""}),
        (P.DIFF_REVIEW_WRAPS[2:], "code_review", {"diff": ""}),
        (P.CODE_CHANGE_WRAPS, "code_generation", {"code": ""}),
    )
    for wraps, label, fill in families:
        for _ in range(160):
            values = {**fill, "labels": ", ".join(rng.sample(P.LABEL_WORDS, 3)), "lang": rng.choice(LANGS)}
            text = bare(rng.choice(wraps).format(**values))
            ref = rng.choice(P.REFERENCES)
            out.append(ex(text + ref, label, "synthetic:instruction-only"))
    return out


def synthetic(pool: dict[str, list[str]], rng: random.Random) -> list[dict[str, str]]:
    """Instructions written for this project around real content from the pools."""
    out = instruction_only(rng)
    for _ in range(900):
        doc = rng.choice(pool["news"] + pool["bio"] + pool["dialogue"] + pool["paragraph"])
        text = rng.choice(P.EXTRACT_WRAPS).format(doc=doc)
        out.append(ex(text, "extraction", "synthetic:extract"))
    for _ in range(250):
        out.append(
            ex(
                rng.choice(pool["news"] + pool["bio"]),
                "extraction",
                "synthetic:extract-system",
                system=rng.choice(P.EXTRACT_SYSTEMS),
            )
        )
    for _ in range(600):
        text = rng.choice(P.SENTIMENT_WRAPS).format(doc=rng.choice(pool["review"] + pool["short_review"]))
        out.append(ex(text, "sentiment", "synthetic:sentiment"))
    for _ in range(250):
        out.append(
            ex(
                rng.choice(pool["review"] + pool["short_review"]),
                "sentiment",
                "synthetic:sentiment-system",
                system=rng.choice(P.SENTIMENT_SYSTEMS),
            )
        )
    for _ in range(400):
        out.append(
            ex(
                rng.choice(P.CLASSIFY_WRAPS).format(
                    doc=rng.choice(pool["paragraph"] + pool["news"]), labels=", ".join(rng.sample(P.LABEL_WORDS, 4))
                ),
                "classification",
                "synthetic:classify",
            )
        )
    for _ in range(200):
        out.append(
            ex(
                rng.choice(pool["paragraph"] + pool["question"]),
                "classification",
                "synthetic:classify-system",
                system=rng.choice(P.CLASSIFY_SYSTEMS).format(labels=", ".join(rng.sample(P.LABEL_WORDS, 4))),
            )
        )
    for _ in range(500):
        out.append(
            ex(
                rng.choice(P.SUMMARY_WRAPS).format(doc=rng.choice(pool["news"] + pool["dialogue"])),
                "summarization",
                "synthetic:summarize",
            )
        )
    for _ in range(200):
        out.append(
            ex(
                rng.choice(pool["news"] + pool["dialogue"]),
                "summarization",
                "synthetic:summarize-system",
                system=rng.choice(P.SUMMARY_SYSTEMS),
            )
        )
    english = sentences(pool["news"] + pool["paragraph"] + pool["review"], rng, 2000)
    for _ in range(700):
        out.append(
            ex(
                rng.choice(P.TRANSLATE_WRAPS).format(doc=rng.choice(english), lang=rng.choice(LANGS)),
                "translation",
                "synthetic:translate",
            )
        )
    for _ in range(200):
        out.append(
            ex(
                rng.choice(english),
                "translation",
                "synthetic:translate-system",
                system=rng.choice(P.TRANSLATE_SYSTEMS).format(lang=rng.choice(LANGS)),
            )
        )
    for _ in range(900):
        out.append(
            ex(
                rng.choice(P.CREATIVE_WRAPS).format(form=rng.choice(P.FORMS), topic=rng.choice(P.TOPICS)),
                "creative_writing",
                "synthetic:creative",
            )
        )
    for _ in range(500):
        out.append(ex(rng.choice(P.GENERAL_QUESTIONS), "general", "synthetic:general"))
    for label, tasks in P.LENGTH_TASKS.items():
        for task in tasks:
            for n in P.LENGTH_LIMITS:
                out.append(ex(task.format(n=n), label, "synthetic:length-limits"))
    for text in P.CHITCHAT:
        for variant in (text, text.lower(), text.rstrip("!?.") + rng.choice(("", " :)", "!", "?", " 👋"))):
            out.append(ex(variant, "general", "synthetic:chitchat"))
    for q in pool["open_question"]:
        out.append(ex(rng.choice(P.GENERAL_WRAPS).format(q=q), "general", "open-questions"))
    for _ in range(500):
        out.append(
            ex(rng.choice(P.MATH_WRAPS).format(q=rng.choice(P.MATH_SNIPPETS)), "math_reasoning", "synthetic:math")
        )
    return out


def file_tasks(rng: random.Random) -> list[dict[str, str]]:
    """Tasks about files in the user's repository: what coding agents are asked most."""
    out = []
    for f in P.FILES:
        for t in P.FILE_CODE_TASKS:
            out.append(ex(t.format(f=f), "code_generation", "synthetic:file-task"))
        for t in P.FILE_REVIEW_TASKS:
            out.append(ex(t.format(f=f), "code_review", "synthetic:file-task"))
        for label, tasks in P.FILE_OTHER_TASKS.items():
            for t in tasks:
                out.append(ex(t.format(f=f), label, "synthetic:file-task"))
    rng.shuffle(out)
    return out


def wrap_agents(rows: list[dict[str, str]], agents: dict[str, str], rng: random.Random, n: int) -> list[dict[str, str]]:
    """The same tasks inside a real coding agent's system prompt: the label follows the task."""
    out = []
    picks = [r for r in rows if not r["system"] and len(r["user"]) < 1500]
    names = sorted(agents)
    for row in rng.sample(picks, min(n, len(picks))):
        agent = rng.choice(names)
        system = agents[agent]
        user = row["user"]
        if agent == "claude_code":
            user = P.CLAUDE_CODE_REMINDER + "\n" + user
        elif agent == "openhands":  # its CLI hands the task over as a file's contents
            user = P.OPENHANDS_TASK_FILE.format(task=user)
        out.append({**row, "system": system, "user": user, "source": row["source"] + "+agent:" + agent})
    return out


AIDER_PROMPTS = """
import json
from aider.coders.editblock_prompts import EditBlockPrompts
from aider.coders.wholefile_prompts import WholeFilePrompts
from aider.coders.udiff_prompts import UnifiedDiffPrompts
from aider.coders.ask_prompts import AskPrompts
fence = ("```", "```")
keys = dict(fence=fence, platform="Operating system: Linux\\nShell: bash\\nLanguage: English", final_reminders="",
            shell_cmd_prompt="", shell_cmd_reminder="", go_ahead_tip="", rename_with_shell="", lazy_prompt="",
            overeager_prompt="", language="English", quad_backtick_reminder="")
out = {}
for name, cls in (("aider_editblock", EditBlockPrompts), ("aider_wholefile", WholeFilePrompts),
                  ("aider_udiff", UnifiedDiffPrompts), ("aider_ask", AskPrompts)):
    p = cls()
    out[name] = p.main_system.format(**keys) + "\\n" + (getattr(p, "system_reminder", "") or "").format(**keys)
print(json.dumps(out))
"""


def recorded_system(path: Path) -> str:
    """The system prompt of the first request recorded from an agent's CLI (one JSON body a line)."""
    body = json.loads(path.read_text().splitlines()[0])
    content = body["messages"][0]["content"]
    return content if isinstance(content, str) else "\n".join(p.get("text", "") for p in content)


def load_agents(aider_python: Path, claude_code_fixture: Path) -> dict[str, str]:
    """Real agents' system prompts: Aider's from its installed package, Claude Code's, Cline's and
    OpenHands' from requests recorded from their CLIs (tests/fixtures/)."""
    out = subprocess.run(
        [str(aider_python), "-c", AIDER_PROMPTS], capture_output=True, text=True, timeout=120, check=True
    )
    agents: dict[str, str] = json.loads(out.stdout)
    cc = json.loads(claude_code_fixture.read_text())["body"]
    agents["claude_code"] = (
        "\n".join(s["text"] for s in cc["system"] if isinstance(s, dict))
        + "\n"
        + "\n".join(p.get("text", "") for m in cc["messages"] if m["role"] == "system" for p in m["content"])
    )
    for name in ("cline", "openhands"):
        agents[name] = recorded_system(claude_code_fixture.parent / f"{name}_requests.jsonl")
    return agents


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    parser.add_argument(
        "--aider-python", type=Path, default=Path.home() / ".cache/multi-llm/tools/aider-0.86.2/bin/python"
    )
    parser.add_argument("--claude-code", type=Path, default=REPO / "tests/fixtures/claude_code_request_1.json")
    parser.add_argument("--out", type=Path, default=Path.home() / ".cache/multi-llm/classifier/train.jsonl.gz")
    args = parser.parse_args(argv)
    rng = random.Random(SEED)  # noqa: S311  (a seeded shuffle of training data, not a secret)
    m = Mirrors(args.mirrors)
    pool = pools(m)
    rows: list[dict[str, str]] = list(from_t0(m))
    rows += from_flan(m, pool, rng)
    rows += from_conala(m, rng)
    rows += stdlib_tasks(rng)
    code = stdlib_functions(rng)
    rows += from_seed_tasks(m)
    rows += from_gsm8k(m, rng)
    rows += from_aqua(m)
    # Families added later draw from their own seeded streams, so the rows before and after stay as they were.
    rows += function_requests(m, random.Random(SEED + 1))  # noqa: S311
    rows += creative_requests(random.Random(SEED + 2))  # noqa: S311
    rows += algorithm_stubs(m, random.Random(SEED + 3))  # noqa: S311
    uie_rng = random.Random(SEED + 4)  # noqa: S311
    rows += uie_requests(m, sentences(pool["news"] + pool["bio"] + pool["paragraph"], uie_rng, 2000), uie_rng)
    by_dolly, by_us, dev_instructions = dolly_dev_sets(m)
    rows += from_hand_labelled(m, dev_instructions)
    rows += from_dolly_training(m, dev_instructions)
    rows += from_role_prompts(m)
    rows += from_chat_requests(m, dev_instructions)
    rows += architecture(m, rng)
    rows += code_review(code, rng)
    rows += code_tasks(code, rng)
    rows += synthetic(pool, rng)
    rows += file_tasks(rng)
    agents = load_agents(args.aider_python, args.claude_code)
    rows += wrap_agents(rows, agents, rng, 3000)
    # What coding agents are asked most (tasks about the user's files) goes inside every agent.
    rows += [w for name in sorted(agents) for w in wrap_agents(file_tasks(rng), {name: agents[name]}, rng, 10_000)]
    rows += history_hunks(m, random.Random(SEED + 5))  # noqa: S311
    write_rows(args.out, rows, "train.jsonl.gz")
    write_rows(args.out.with_name("dev.jsonl.gz"), by_dolly, "dev.jsonl.gz")
    write_rows(args.out.with_name("dev-ours.jsonl.gz"), by_us, "dev-ours.jsonl.gz")
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["label"]] = counts.get(row["label"], 0) + 1
    print(json.dumps({"examples": len(rows), "by_label": dict(sorted(counts.items())), "commits": m.used}, indent=1))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
