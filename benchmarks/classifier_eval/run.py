"""Measure the task classifiers on prompts they were not built from.

    python -m benchmarks.classifier_eval.run [--cache DIR] [--classifier learned heuristic embedding]

Reads the independent prompts from the cache (`benchmarks.classifier_eval.cache` fills it; the
prompts never enter the repository), maps each source's labels to our task types
(`sources.py`), and prints per-type precision/recall/F1, macro-F1, the confusion matrix, a
reliability table of the confidence, accuracy per source, and the latency of one classification
of a 4k-token coding-agent request.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from itertools import pairwise
from pathlib import Path
from typing import Any

from benchmarks.classifier_eval.sources import Prompt, load
from src.router.classifier import Classifier, HeuristicClassifier
from src.router.evaluate import long_agent_conversation
from src.router.features import conversation
from src.router.tasks import TASK_TYPES

DEFAULT_CACHE = Path.home() / ".cache" / "multi-llm" / "classifier_eval"
FIXTURE = Path("/work/shared/fixtures/claude_code_request_1.json")
START, END = "<!-- independent -->", "<!-- /independent -->"
BINS = (0.0, 0.4, 0.6, 0.8, 0.9, 0.95, 1.0001)


def make(name: str) -> Classifier:
    if name == "heuristic":
        return HeuristicClassifier()
    if name == "embedding":
        from src.router.embedding_classifier import EmbeddingClassifier

        return EmbeddingClassifier()
    from src.router.learned_classifier import LearnedClassifier

    return LearnedClassifier.load()


def evaluate(clf: Classifier, prompts: list[Prompt]) -> dict[str, Any]:
    pairs, confs = [], []
    for p in prompts:
        c = clf.classify(conversation(p.messages))
        pairs.append((p.label, c.task_type.value))
        confs.append(c.confidence)
    labels = [t for t in TASK_TYPES if any(gold == t for gold, _ in pairs)]
    per_type = {}
    for t in labels:
        tp = sum(1 for g, q in pairs if g == t and q == t)
        fp = sum(1 for g, q in pairs if g != t and q == t)
        fn = sum(1 for g, q in pairs if g == t and q != t)
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        per_type[t] = (prec, rec, 2 * prec * rec / (prec + rec) if prec + rec else 0.0, tp + fn)
    confusion = Counter(pairs)
    reliability = []
    for lo, hi in pairwise(BINS):
        sel = [(g == q) for (g, q), c in zip(pairs, confs, strict=True) if lo <= c < hi]
        if sel:
            reliability.append((lo, min(hi, 1.0), len(sel), sum(sel) / len(sel)))
    by_source: dict[str, list[bool]] = {}
    for p, (g, q) in zip(prompts, pairs, strict=True):
        by_source.setdefault(p.source, []).append(g == q)
    return {
        "n": len(pairs),
        "accuracy": sum(g == q for g, q in pairs) / len(pairs),
        "macro_f1": sum(v[2] for v in per_type.values()) / len(per_type),
        "per_type": per_type,
        "confusion": confusion,
        "labels": labels,
        "reliability": reliability,
        "by_source": {s: (len(v), sum(v) / len(v)) for s, v in by_source.items()},
    }


def agent_request() -> list[dict[str, Any]]:
    """A ~4k-token request: Claude Code's recorded system prompt and tool list, a pasted file, the ask."""
    messages = long_agent_conversation()
    if FIXTURE.exists():
        body = json.loads(FIXTURE.read_text())["body"]
        system = "\n".join(s["text"] for s in body["system"]) + json.dumps(body["tools"])
        messages = [{"role": "system", "content": system[:8000]}, *messages[1:]]
    return messages


def latency(clf: Classifier, messages: list[dict[str, Any]], runs: int = 3000) -> tuple[int, dict[str, float]]:
    """Wall-clock and this thread's CPU time per call, in ms. On a shared machine the wall-clock
    p99 is mostly time spent descheduled; the CPU time is what the call itself costs."""
    for _ in range(200):
        clf.classify(conversation(messages))
    wall, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        clf.classify(conversation(messages))
        cpu.append((time.thread_time_ns() - c0) / 1e6)
        wall.append((time.perf_counter_ns() - t0) / 1e6)
    wall.sort()
    cpu.sort()
    chars = sum(len(m["content"]) for m in messages)
    at = {"p50": len(wall) // 2, "p99": int(len(wall) * 0.99)}
    return chars, {
        **{k: wall[i] for k, i in at.items()},
        "max": wall[-1],
        **{f"cpu_{k}": cpu[i] for k, i in at.items()},
        "load": os.getloadavg()[0],
    }


def render(name: str, r: dict[str, Any], lat: tuple[int, dict[str, float]]) -> str:
    out = [f"### {name}", "", f"{r['n']} prompts: macro-F1 **{r['macro_f1']:.3f}**, accuracy {r['accuracy']:.3f}", ""]
    out += ["| task type | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    out += [f"| {t} | {p:.2f} | {rc:.2f} | {f:.2f} | {n} |" for t, (p, rc, f, n) in r["per_type"].items()]
    cols = [t for t in TASK_TYPES if any(q == t for (_, q) in r["confusion"])]
    out += ["", "Confusion (rows: source label, columns: predicted):", ""]
    out += ["| | " + " | ".join(c[:6] for c in cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for g in r["labels"]:
        out.append(f"| {g} | " + " | ".join(str(r["confusion"].get((g, c), 0) or "") for c in cols) + " |")
    out += ["", "By source: " + ", ".join(f"{s} {a:.2f} ({n})" for s, (n, a) in r["by_source"].items()), ""]
    out += [
        "Reliability (confidence bin: prompts, accuracy): "
        + "; ".join(f"[{lo:.2f}, {hi:.2f}): {n}, {acc:.2f}" for lo, hi, n, acc in r["reliability"]),
        "",
    ]
    chars, ms = lat
    out += [
        f"Latency, one classification of a {chars:,}-character (≈{chars // 4:,}-token) agent request "
        f"(message parsing included): p50 {ms['p50']:.3f} ms, p99 {ms['p99']:.3f} ms, max {ms['max']:.3f} ms "
        f"wall-clock; CPU time p50 {ms['cpu_p50']:.3f} ms, p99 {ms['cpu_p99']:.3f} ms "
        f"(1-minute load average {ms['load']:.1f} on this machine's {os.cpu_count()} cores).",
        "",
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument(
        "--write", type=Path, default=None, help="replace the part between <!-- independent --> markers of this file"
    )
    parser.add_argument(
        "--classifier", nargs="+", default=["learned", "heuristic"], choices=("learned", "heuristic", "embedding")
    )
    args = parser.parse_args(argv)
    prompts = list(load(args.cache))
    if not prompts:
        print(
            f"no evaluation prompts in {args.cache}: run python -m benchmarks.classifier_eval.cache first",
            file=sys.stderr,
        )
        return 2
    counts = Counter(p.source for p in prompts)
    parts = [f"{len(prompts)} prompts: " + ", ".join(f"{s} {n}" for s, n in counts.items()) + ".\n"]
    messages = agent_request()
    for name in args.classifier:
        clf = make(name)
        parts.append(render(name, evaluate(clf, prompts), latency(clf, messages)))
    text = "\n".join(parts)
    print(text)
    if args.write:
        head, _, rest = args.write.read_text().partition(START)
        _, _, tail = rest.partition(END)
        args.write.write_text(f"{head}{START}\n\n{text.rstrip()}\n\n{END}{tail}")
        print(f"wrote {args.write}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
