"""Scoring a classifier on the labelled request set, and timing it on long agent prompts.

python -m src.router.cli eval [--data benchmarks/task_eval/task_eval.jsonl] [--write docs/classifier_eval.md]
"""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from src.router.core.classifier import Classifier
from src.router.core.features import conversation
from src.router.core.tasks import TASK_TYPES


@dataclass(frozen=True)
class Example:
    id: int
    label: str
    kind: str
    split: str
    messages: list[dict[str, Any]]


@dataclass
class Scores:
    per_type: dict[str, tuple[float, float, float, int]]  # precision, recall, f1, support
    macro_f1: float
    accuracy: float
    errors: list[tuple[int, str, str, str]]  # id, kind, label, predicted
    n: int


def load_examples(path: Path) -> list[Example]:
    return [Example(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


def score(classifier: Classifier, examples: Iterable[Example]) -> Scores:
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    errors = []
    n = correct = 0
    for ex in examples:
        n += 1
        pred = classifier.classify(conversation(ex.messages)).task_type.value
        if pred == ex.label:
            tp[pred] += 1
            correct += 1
        else:
            fp[pred] += 1
            fn[ex.label] += 1
            errors.append((ex.id, ex.kind, ex.label, pred))
    per_type = {}
    for t in TASK_TYPES:
        p = tp[t] / (tp[t] + fp[t]) if tp[t] + fp[t] else 0.0
        r = tp[t] / (tp[t] + fn[t]) if tp[t] + fn[t] else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        per_type[t] = (p, r, f, tp[t] + fn[t])
    macro = statistics.fmean(v[2] for v in per_type.values())
    return Scores(per_type, macro, correct / n if n else 0.0, errors, n)


def long_agent_conversation(tokens: int = 4096) -> list[dict[str, Any]]:
    """An OpenHands-style request of about `tokens` tokens: long system prompt, code, a short ask."""
    code = (Path(__file__).read_text() * 10)[: tokens * 4 - 1200]
    system = "You are OpenHands agent, a helpful AI assistant that can interact with a computer to solve tasks. " * 8
    return [
        {"role": "system", "content": system},
        {
            "role": "user",
            "content": "Here is the file:\n```python\n" + code + "\n```\nPlease add type hints to score().",
        },
    ]


def latency(classifier: Classifier, messages: list[dict[str, Any]], runs: int = 5000) -> dict[str, float]:
    """Per-call latency of conversation() + classify() in microseconds (p50, p99, max)."""
    for _ in range(200):
        classifier.classify(conversation(messages))
    samples = []
    clock = time.perf_counter_ns
    for _ in range(runs):
        t0 = clock()
        classifier.classify(conversation(messages))
        samples.append((clock() - t0) / 1000)
    samples.sort()
    return {"p50_us": samples[len(samples) // 2], "p99_us": samples[int(len(samples) * 0.99)], "max_us": samples[-1]}


def render_markdown(name: str, results: dict[str, Scores], lat: dict[str, float], chars: int) -> str:
    lines = [f"### {name}", ""]
    for split, s in results.items():
        lines += [f"**{split}** — {s.n} examples, macro-F1 **{s.macro_f1:.3f}**, accuracy {s.accuracy:.3f}", ""]
    full = results["all"]
    lines += ["| task type | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for t, (p, r, f, n) in full.per_type.items():
        lines.append(f"| {t} | {p:.2f} | {r:.2f} | {f:.2f} | {n} |")
    lines += [
        "",
        f"Latency (conversation parse + classify, {chars:,} characters ≈ {chars // 4:,} tokens of agent "
        f"prompt): p50 {lat['p50_us']:.1f} µs, p99 {lat['p99_us']:.1f} µs, max {lat['max_us']:.1f} µs.",
        "",
    ]
    if full.errors:
        lines += [
            "Misclassified (id, kind: label → predicted): "
            + "; ".join(f"{i} {k}: {lbl} → {p}" for i, k, lbl, p in full.errors),
            "",
        ]
    return "\n".join(lines)
