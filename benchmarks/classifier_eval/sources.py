"""The independent evaluation sources: where each comes from and how its own labels map to ours.

The prompts themselves stay OUTSIDE the repository, in a cache folder
(`~/.cache/multi-llm/classifier_eval/` unless `--cache` says otherwise), filled by
`python -m benchmarks.classifier_eval.cache` from fetched snapshots of the public repositories
named here. Nothing in this list is ever used for training (`scripts/classifier/build_data.py`
refuses these paths).

A source's category that does not name one of our task types (MT-Bench's "reasoning", the
WizardLM test set's "Complex Format", "Code Debug", "Multilingual", "Reasoning") is left out
rather than guessed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Source:
    name: str
    repo: str
    path: str
    commit: str
    licence: str
    mapping: str  # how the source's labels become ours, in words


SOURCES = (
    Source(
        "mt_bench",
        "lm-sys/FastChat",
        "fastchat/llm_judge/data/mt_bench/question.jsonl",
        "0e6d3e4beaab66f4d3f93db72541a4abab8af28d",
        "Apache-2.0",
        "first turn; writing→creative_writing, math→math_reasoning, coding→code_generation, "
        "extraction→extraction, stem/humanities/roleplay→general, reasoning left out",
    ),
    Source(
        "vicuna_bench",
        "lm-sys/FastChat",
        "fastchat/llm_judge/data/vicuna_bench/question.jsonl",
        "0e6d3e4beaab66f4d3f93db72541a4abab8af28d",
        "Apache-2.0",
        "writing→creative_writing, math→math_reasoning, coding→code_generation, "
        "generic/knowledge/roleplay/common-sense/fermi/counterfactual→general",
    ),
    Source(
        "wizardlm_test",
        "nlpxucan/WizardLM",
        "WizardLM/data/WizardLM_testset.jsonl",
        "cd4b4cc022b6426aee62d51f7ae99a4a6ec9aaef",
        "see the repository's DATA_LICENSE",
        "Math→math_reasoning, Code Generation→code_generation, Writting/Academic Writing→creative_writing, "
        "knowledge skills (Biology … Philosophy, Common-Sense, Counterfactual, Roleplay, Ethics, TruthfulQA, "
        "Toxicity, Computer Science)→general; Code Debug, Complex Format, Multilingual, Reasoning left out",
    ),
    Source(
        "humaneval",
        "openai/human-eval",
        "data/HumanEval.jsonl.gz",
        "6d43fb980f9fee3c892a914eda09951f772ad10d",
        "MIT",
        "every prompt→code_generation (a bare signature and docstring)",
    ),
    Source(
        "mbpp",
        "nlpxucan/WizardLM",
        "WizardCoder/data/mbppplus.json",
        "cd4b4cc022b6426aee62d51f7ae99a4a6ec9aaef",
        "MBPP: CC-BY-4.0",
        "every prompt→code_generation",
    ),
    Source(
        "uci_sentiment",
        "Huyen2402/API-ML-luanvan",
        "sentiment labelled sentences/{amazon_cells,imdb,yelp}_labelled.txt",
        "see cache/SOURCE",
        "UCI ML repository (cite Kotzias et al. 2015)",
        "sentence→sentiment, given with the one-line system instruction SENTIMENT_SYSTEM",
    ),
    Source(
        "superni",
        "allenai/natural-instructions",
        "tasks/<task>.json (5 tasks, 5 instances each; commits per task in the cache file)",
        "see cache/superni_sample.json",
        "Apache-2.0",
        "the task's own Categories: Sentiment Analysis→sentiment, Named Entity Recognition→extraction, "
        "Translation→translation, Text to Code→code_generation, Classification→classification; prompt = "
        "Definition + Input, Super-NI's zero-shot form. task288_gigaword_summarization left out: its articles "
        "are also in the T0 gigaword prompts used for training",
    ),
    Source(
        "codereviewer",
        "yhwi-kwon/CodeReveiwAutomation",
        "data/msg-test-100.jsonl (100 rows of CodeReviewer's review-comment-generation test set, "
        "chosen by that repository's author; CodeReviewer's own files are on Zenodo, not GitHub)",
        "fb5982ca7ed846151696d95e360411f6a61746fd",
        "CodeReviewer data (Zenodo 6900648; Li et al. 2022)",
        "the diff hunk a reviewer commented on (`patch`, as git shows a hunk) sent alone as the "
        "user's turn→code_review: the data set's task is writing that review comment. No instruction "
        "is added; the protocol was fixed before any result was seen",
    ),
    Source(
        "sst2",
        "TaoCesc/binary_cls",
        "data/SST-2/dev.tsv (first 60 rows)",
        "6a73b09b39af0efe049622662211f3657c75a15e",
        "GLUE/SST-2 terms",
        "sentence→sentiment, given with the one-line system instruction SENTIMENT_SYSTEM",
    ),
)

# SST-2 and the UCI set are bare sentences; a router sees them inside a request that says what to
# do. One fixed instruction, written before any result was seen, never changed for a score.
SENTIMENT_SYSTEM = "Label the sentiment of the user's sentence as positive or negative."

MT_BENCH = {
    "writing": "creative_writing",
    "math": "math_reasoning",
    "coding": "code_generation",
    "extraction": "extraction",
    "stem": "general",
    "humanities": "general",
    "roleplay": "general",
}
VICUNA = {
    "writing": "creative_writing",
    "math": "math_reasoning",
    "coding": "code_generation",
    "generic": "general",
    "knowledge": "general",
    "roleplay": "general",
    "common-sense": "general",
    "fermi": "general",
    "counterfactual": "general",
}
WIZARD_GENERAL = [
    "Biology",
    "Technology",
    "Ethics",
    "TruthfulQA",
    "Sport",
    "Law",
    "Medicine",
    "Literature",
    "Entertainment",
    "Art",
    "Music",
    "Economy",
    "Physics",
    "Toxicity",
    "History",
    "Chemistry",
    "Philosophy",
    "Common-Sense",
    "Counterfactual",
    "Roleplay",
    "Computer Science",
]
WIZARD = {
    "Math": "math_reasoning",
    "Code Generation": "code_generation",
    "Writting": "creative_writing",
    "Academic Writing": "creative_writing",
    **{k: "general" for k in WIZARD_GENERAL},
}
# Super-NI categories, most specific first (a task can carry several).
SUPERNI = (
    ("Sentiment Analysis", "sentiment"),
    ("Named Entity Recognition", "extraction"),
    ("Information Extraction", "extraction"),
    ("Translation", "translation"),
    ("Summarization", "summarization"),
    ("Text to Code", "code_generation"),
    ("Classification", "classification"),
)
PER_FILE = 100  # UCI: the first 100 sentences of each of its three files


@dataclass(frozen=True)
class Prompt:
    source: str
    label: str
    messages: list[dict[str, Any]]


def _user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def load(cache: Path) -> Iterator[Prompt]:
    """Every prompt of every source found in the cache (a missing source is skipped)."""
    p = cache / "mt_bench.jsonl"
    if p.exists():
        for line in p.read_text().splitlines():
            q = json.loads(line)
            if q["category"] in MT_BENCH:
                yield Prompt("mt_bench", MT_BENCH[q["category"]], _user(q["turns"][0]))
    p = cache / "vicuna_bench.jsonl"
    if p.exists():
        for line in p.read_text().splitlines():
            q = json.loads(line)
            yield Prompt("vicuna_bench", VICUNA[q["category"]], _user(q["turns"][0]))
    p = cache / "wizardlm_test.jsonl"
    if p.exists():
        for line in p.read_text().splitlines():
            q = json.loads(line)
            if q["Skill"] in WIZARD:
                yield Prompt("wizardlm_test", WIZARD[q["Skill"]], _user(q["Instruction"]))
    p = cache / "humaneval.jsonl"
    if p.exists():
        for line in p.read_text().splitlines():
            yield Prompt("humaneval", "code_generation", _user(json.loads(line)["prompt"]))
    p = cache / "mbpp.json"
    if p.exists():
        for text in json.loads(p.read_text()).values():
            yield Prompt("mbpp", "code_generation", _user(text))
    for name in ("amazon_cells", "imdb", "yelp"):
        p = cache / f"uci_{name}_labelled.txt"
        if p.exists():
            for line in p.read_text(errors="replace").splitlines()[:PER_FILE]:
                sentence = line.rsplit("\t", 1)[0].strip()
                yield Prompt("uci_sentiment", "sentiment", _system_and_user(sentence))
    p = cache / "superni_sample.json"
    if p.exists():
        for task in json.loads(p.read_text()):
            label = next(
                (ours for theirs, ours in SUPERNI if any(c.startswith(theirs) for c in task["categories"])), None
            )
            if label is None:
                continue
            for text in task["inputs"]:
                yield Prompt("superni", label, _user(f"{task['definition']}\n\nInput: {text}\nOutput:"))
    p = cache / "codereviewer_msg_test_100.jsonl"
    if p.exists():
        for line in p.read_text().split("\n"):
            if line.strip():
                yield Prompt("codereviewer", "code_review", _user(json.loads(line)["patch"]))
    p = cache / "sst2_dev_head.tsv"
    if p.exists():
        for line in p.read_text().splitlines()[1:]:
            yield Prompt("sst2", "sentiment", _system_and_user(line.rsplit("\t", 1)[0].strip()))


def _system_and_user(text: str) -> list[dict[str, Any]]:
    return [{"role": "system", "content": SENTIMENT_SYSTEM}, {"role": "user", "content": text}]
