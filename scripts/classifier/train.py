"""Train the learned task classifier (multinomial logistic regression, numpy, deterministic).

    python -m scripts.classifier.train [--data FILE] [--out data/classifier/model.npz]
    python -m scripts.classifier.train --cross-source      # held-out collections + development sets, report
    python -m scripts.classifier.train --dev               # the development sets alone, report

FILE is the training set built by `scripts.classifier.build_data` (see data/classifier/SOURCES.md
for where it is kept). Same data, same artefact: a fixed seed, a fixed order of examples and
batches, and only order-preserving numpy reductions.

Two heads are trained: one over hashed n-grams (minibatch SGD) and one over sentence vectors
(`token_vectors`: the instruction window's and the system prompt's; full-batch Adam). The
temperature that calibrates the confidence is fitted on a slice of the training sources held back
from the weights (a tenth of the rows, chosen by a fixed hash of their position), then the
weights are trained again on everything.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from src.router.core.classifier import HeuristicClassifier
from src.router.core.features import conversation
from src.router.core.learned_classifier import (
    BITS,
    DEFAULT_MODEL_PATH,
    VectorHead,
    prepare,
    prepared_features,
    save_model,
    vector_views,
    vote_view,
)
from src.router.core.tasks import TASK_TYPES
from src.router.core.token_vectors import TokenVectors, VectorsUnavailable

SEED = 16
EPOCHS = 8
BATCH = 256
LR = 100.0
L2 = 1e-6
# What the phrase lexicon's vote adds to its type's logit, chosen by `weight_rule`: the best mean
# macro-F1 over the held-out collections (all rows; public collections only; people's requests
# other than Dolly's) and the two development sets of human phrasing (`--cross-source` prints the
# grid; 10 each round since the labelled Dolly requests), never on the independent evaluation
# prompts.
HEURISTIC_WEIGHT = 10.0
HEURISTIC_WEIGHTS = (0.0, 10.0, 15.0, 20.0, 25.0, 30.0, 40.0)
# How much the sentence-vector head's scores count beside the n-gram head's, chosen by the same
# rule (`--cross-source` prints both grids, each at the other's chosen weight).
DENSE_WEIGHT = 4.0
DENSE_WEIGHTS = (0.0, 2.0, 4.0, 8.0)
# The vector head: full-batch Adam on the weighted, type-balanced cross-entropy.
DENSE_STEPS, DENSE_LR, DENSE_L2 = 300, 0.05, 1e-4
# The collections of requests people wrote to an assistant (labelled for this project), as opposed
# to templates and phrasings: what the router sees from its users. Each of their rows counts
# HUMAN_WEIGHT times in the loss, so that how people phrase a task outweighs how a template does.
# 2 raises `weight_rule` (0.679 -> 0.685); 4 to 6 raised it more but cost code review and
# architecture design, held out, 0.05 each (docs/classifier_eval.md, "Targets").
HUMAN_WRITTEN = frozenset(
    {
        "dolly-labelled",
        "dolly-train-labelled",
        "self-instruct-seed",
        "self-instruct-user",
        "role-prompts",
        "oasst-labelled",
        "arena-hard-labelled",
        "arena-hard-v2-labelled",
    }
)
# Held out, the human-written collections other than Dolly (the development sets are Dolly's) are
# one more column of `weight_rule`.
HUMAN_NOT_DOLLY = frozenset(g for g in HUMAN_WRITTEN if not g.startswith("dolly"))
HUMAN_WEIGHT = 2.0
DEFAULT_DATA = [
    Path(__file__).resolve().parents[3] / "shared" / "classifier" / "train.jsonl.gz",
    Path.home() / ".cache" / "multi-llm" / "classifier" / "train.jsonl.gz",
]
K = len(TASK_TYPES)
F = 1 << BITS


def load_rows(path: Path) -> list[dict[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


class Matrix:
    """Rows as (indices, scale): the sparse design matrix, built once; and their sentence vectors."""

    def __init__(self, rows: list[dict[str, str]], vectors: TokenVectors, human_weight: float = HUMAN_WEIGHT) -> None:
        idx, vals, ptr = [], [], [0]
        prepared = [prepare(r["user"], r["system"]) for r in rows]
        for u, s in prepared:
            i, v = prepared_features(u, s)
            idx.append(i)
            vals.append(v)
            ptr.append(ptr[-1] + len(i))
        self.indices = np.concatenate(idx).astype(np.int32)
        self.vals = np.concatenate(vals).astype(np.float32)
        self.ptr = np.array(ptr, dtype=np.int64)
        self.y = np.array([TASK_TYPES.index(r["label"]) for r in rows], dtype=np.int64)
        # How much each row counts in the loss (`HUMAN_WEIGHT` for the human-written collections).
        self.weight = np.array(
            [human_weight if group_of(r["source"]) in HUMAN_WRITTEN else 1.0 for r in rows], dtype=np.float32
        )
        self.vectors = vectors
        self.x = vector_matrix(prepared, vectors)

    def __len__(self) -> int:
        return len(self.y)

    def batch(
        self, rows: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Indices of the rows' features, the batch-local row of each, and each feature's value."""
        starts, ends = self.ptr[rows], self.ptr[rows + 1]
        lengths = ends - starts
        idx = np.concatenate([self.indices[a:b] for a, b in zip(starts, ends, strict=True)])
        vals = np.concatenate([self.vals[a:b] for a, b in zip(starts, ends, strict=True)])
        owner = np.repeat(np.arange(len(rows)), lengths)
        return idx, owner, vals


def vector_matrix(prepared: list[tuple[str, str]], vectors: TokenVectors) -> npt.NDArray[np.float32]:
    """Each row's sentence vectors (those of `vector_views` of its `prepare`d texts), side by side:
    what the vector head reads."""
    views = [vector_views(u, s) for u, s in prepared]
    columns = [vectors.embed_many([v[i] for v in views]) for i in range(len(vector_views("", "")))]
    return np.hstack(columns).astype(np.float32)


def lexicon_votes(rows: list[dict[str, str]]) -> npt.NDArray[np.float32]:
    """One-hot rows: the type the phrase lexicon gives each example (it is not trained)."""
    lexicon = HeuristicClassifier()
    votes = np.zeros((len(rows), K), dtype=np.float32)
    for i, row in enumerate(rows):
        system = [{"role": "system", "content": row["system"]}] if row["system"] else []
        conv = conversation([*system, {"role": "user", "content": row["user"]}])
        votes[i, TASK_TYPES.index(lexicon.classify(vote_view(conv)).task_type.value)] = 1.0
    return votes


def _logits(
    w: npt.NDArray[np.float32], b: npt.NDArray[np.float32], idx: Any, owner: Any, vals: Any, n: int
) -> npt.NDArray[np.float32]:
    z = np.zeros((n, K), dtype=np.float32)
    # Sum each row's weighted features: rows' features are contiguous, so reduceat does it in order.
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]]) if len(owner) else np.zeros(0, dtype=np.int64)
    sums = (
        np.add.reduceat(w[idx] * vals[:, None], starts, axis=0) if len(starts) else np.zeros((0, K), dtype=np.float32)
    )
    z[owner[starts]] = sums
    result: npt.NDArray[np.float32] = z + b
    return result


def softmax(z: npt.NDArray[Any]) -> npt.NDArray[Any]:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    out: npt.NDArray[Any] = e / e.sum(axis=1, keepdims=True)
    return out


def class_weights(m: Matrix, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
    """Every type weighs the same in all, counting each row by its weight: a human-written row
    counts more than a template's of its own type, without moving weight from one type to another."""
    counts = np.bincount(m.y[rows], weights=m.weight[rows], minlength=K).astype(np.float32)
    out: npt.NDArray[np.float32] = (counts.sum() / np.maximum(counts, 1e-6) / K).astype(np.float32)
    return out


def fit(
    m: Matrix, rows: npt.NDArray[np.int64], epochs: int = EPOCHS
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    rng = np.random.default_rng(SEED)
    w = np.zeros((F, K), dtype=np.float32)
    b = np.zeros(K, dtype=np.float32)
    class_weight = class_weights(m, rows)
    steps = epochs * ((len(rows) + BATCH - 1) // BATCH)
    step = 0
    for _ in range(epochs):
        order = rows[rng.permutation(len(rows))]
        for start in range(0, len(order), BATCH):
            batch = order[start : start + BATCH]
            idx, owner, vals = m.batch(batch)
            z = _logits(w, b, idx, owner, vals, len(batch))
            g = softmax(z)
            g[np.arange(len(batch)), m.y[batch]] -= 1.0
            g *= (class_weight[m.y[batch]] * m.weight[batch])[:, None] / len(batch)
            lr = LR * (1.0 - step / steps)  # linear decay, as fastText does
            step += 1
            contrib = g[owner] * vals[:, None]
            for k in range(K):
                w[:, k] -= lr * np.bincount(idx, weights=contrib[:, k], minlength=F).astype(np.float32)
            w *= np.float32(1.0 - lr * L2)
            b -= lr * g.sum(axis=0)
    return w, b


def fit_dense(m: Matrix, rows: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """The vector head: the same weighted, type-balanced loss as `fit`, over `m.x`, by full-batch
    Adam (a fixed number of steps from zeros: deterministic)."""
    x, y = m.x[rows], m.y[rows]
    sample = class_weights(m, rows)[y] * m.weight[rows]
    sample = (sample / sample.sum()).astype(np.float32)[:, None]
    onehot = np.eye(K, dtype=np.float32)[y]
    w: npt.NDArray[np.float32] = np.zeros((x.shape[1], K), dtype=np.float32)
    b = np.zeros(K, dtype=np.float32)
    moments = [(np.zeros_like(p), np.zeros_like(p)) for p in (w, b)]
    beta1, beta2 = 0.9, 0.999
    for t in range(1, DENSE_STEPS + 1):
        g = (softmax(x @ w + b) - onehot) * sample
        grads = [x.T @ g + 2 * DENSE_L2 * w, g.sum(axis=0)]
        for p, grad, (mean, var) in zip((w, b), grads, moments, strict=True):
            mean *= beta1
            mean += (1 - beta1) * grad
            var *= beta2
            var += (1 - beta2) * grad * grad
            p -= DENSE_LR * (mean / (1 - beta1**t)) / (np.sqrt(var / (1 - beta2**t)) + 1e-8)
    return w, b


def predict(m: Matrix, w: Any, b: Any, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
    out = []
    for start in range(0, len(rows), 1024):
        batch = rows[start : start + 1024]
        idx, owner, vals = m.batch(batch)
        out.append(_logits(w, b, idx, owner, vals, len(batch)))
    return np.concatenate(out)


def fit_temperature(z: npt.NDArray[np.float32], y: npt.NDArray[np.int64]) -> float:
    best, best_nll = 1.0, float("inf")
    for t in np.round(np.arange(0.3, 30.01, 0.05), 2):
        p = softmax(z.astype(np.float64) / t)
        nll = float(-np.log(p[np.arange(len(y)), y] + 1e-12).mean())
        if nll < best_nll:
            best, best_nll = float(t), nll
    return best


def macro_f1(y: Any, pred: Any) -> tuple[float, dict[str, float]]:
    f1 = {}
    for k, name in enumerate(TASK_TYPES):
        tp = int(((pred == k) & (y == k)).sum())
        fp = int(((pred == k) & (y != k)).sum())
        fn = int(((pred != k) & (y == k)).sum())
        if tp + fn == 0:
            continue
        f1[name] = 2 * tp / max(2 * tp + fp + fn, 1)
    return sum(f1.values()) / len(f1), f1


def group_of(source: str) -> str:
    """The collection a row came from, agent wrapping aside: a T0 or FLAN data set ("t0:xsum",
    "flan:wmt16_translate"), CoNaLa, GSM8K, ..., or one family of this project's phrasings."""
    return source.split("+")[0]


def cross_source(rows: list[dict[str, str]], m: Matrix, folds: int = 4) -> dict[str, Any]:
    """Train on some collections, test on the others: each row's collection is in one fold."""
    import zlib

    groups = [group_of(r["source"]) for r in rows]
    fold = np.array([zlib.crc32(g.encode()) % folds for g in groups])
    z = np.zeros((len(rows), K), dtype=np.float32)
    zd = np.zeros((len(rows), K), dtype=np.float32)
    for f in range(folds):
        train, test = np.flatnonzero(fold != f), np.flatnonzero(fold == f)
        w, b = fit(m, train)
        z[test] = predict(m, w, b, test)
        dw, db = fit_dense(m, train)
        zd[test] = m.x[test] @ dw + db
        print(f"fold {f}: held out {sorted({groups[i] for i in test})}", file=sys.stderr)
    votes = lexicon_votes(rows)
    # Also on the public collections alone (T0, FLAN, CoNaLa, GSM8K, ...), without this project's phrasings.
    public = np.array([not g.startswith(("synthetic:", "stdlib-", "gsm8k-code")) for g in groups])
    human = np.array([g in HUMAN_NOT_DOLLY for g in groups])

    def columns(hw: float, dw: float) -> dict[str, float]:
        pred = (z + dw * zd + hw * votes).argmax(axis=1)
        return {
            "all": round(macro_f1(m.y, pred)[0], 4),
            "public": round(macro_f1(m.y[public], pred[public])[0], 4),
            "human": round(macro_f1(m.y[human], pred[human])[0], 4),
        }

    pred = (z + DENSE_WEIGHT * zd + HEURISTIC_WEIGHT * votes).argmax(axis=1)
    score, per_type = macro_f1(m.y, pred)
    by_group = {}
    for g in sorted(set(groups)):
        sel = np.array([x == g for x in groups])
        by_group[g] = {"n": int(sel.sum()), "accuracy": round(float((pred[sel] == m.y[sel]).mean()), 3)}
    return {
        "macro_f1": round(score, 4),
        "heuristic_weight": HEURISTIC_WEIGHT,
        "dense_weight": DENSE_WEIGHT,
        "macro_f1_by_heuristic_weight": {str(hw): columns(hw, DENSE_WEIGHT) for hw in HEURISTIC_WEIGHTS},
        "macro_f1_by_dense_weight": {str(dw): columns(HEURISTIC_WEIGHT, dw) for dw in DENSE_WEIGHTS},
        "macro_f1_lexicon_alone": round(macro_f1(m.y, votes.argmax(axis=1))[0], 4),
        "macro_f1_vectors_alone": round(macro_f1(m.y, zd.argmax(axis=1))[0], 4),
        "f1": {k: round(v, 4) for k, v in per_type.items()},
        "by_source": by_group,
    }


def dev_sets(data: Path) -> dict[str, list[dict[str, str]]]:
    """The development sets `build_data` writes beside the training file, those that exist."""
    names = {"dolly_categories": "dev.jsonl.gz", "our_labels": "dev-ours.jsonl.gz"}
    return {key: load_rows(data.with_name(name)) for key, name in names.items() if data.with_name(name).exists()}


def _scores(y: npt.NDArray[np.int64], z: npt.NDArray[np.float32]) -> dict[str, float]:
    pred = z.argmax(axis=1)
    return {"macro_f1": round(macro_f1(y, pred)[0], 4), "accuracy": round(float((pred == y).mean()), 4)}


def dev_report(m: Matrix, devs: dict[str, list[dict[str, str]]]) -> dict[str, Any]:
    """Train on every training row, score each development set (human phrasing, never trained on)
    for each of HEURISTIC_WEIGHTS and DENSE_WEIGHTS: macro-F1 and accuracy, per-type F1 and
    confusion at the chosen weights."""
    every = np.arange(len(m), dtype=np.int64)
    w, b = fit(m, every)
    dw, db = fit_dense(m, every)
    out: dict[str, Any] = {}
    for name, dev in devs.items():
        d = Matrix(dev, m.vectors)
        z = predict(d, w, b, np.arange(len(d), dtype=np.int64))
        zd = d.x @ dw + db
        votes = lexicon_votes(dev)
        pred = (z + DENSE_WEIGHT * zd + HEURISTIC_WEIGHT * votes).argmax(axis=1)
        confusion: dict[str, dict[str, int]] = {}
        for truth, guess in zip(d.y.tolist(), pred.tolist(), strict=True):
            row = confusion.setdefault(TASK_TYPES[truth], {})
            row[TASK_TYPES[guess]] = row.get(TASK_TYPES[guess], 0) + 1
        out[name] = {
            "rows": len(dev),
            "by_heuristic_weight": {
                str(hw): _scores(d.y, z + DENSE_WEIGHT * zd + hw * votes) for hw in HEURISTIC_WEIGHTS
            },
            "by_dense_weight": {
                str(dense): _scores(d.y, z + dense * zd + HEURISTIC_WEIGHT * votes) for dense in DENSE_WEIGHTS
            },
            "lexicon_alone": round(macro_f1(d.y, votes.argmax(axis=1))[0], 4),
            "f1": {k: round(v, 4) for k, v in macro_f1(d.y, pred)[1].items()},
            "confusion": confusion,
        }
    return out


def weight_rule(held_out: dict[str, Any], dev: dict[str, Any], grid: str = "heuristic") -> dict[str, float]:
    """The rule HEURISTIC_WEIGHT and DENSE_WEIGHT are chosen by (and HUMAN_WEIGHT checked on): for
    each weight of the `grid`, the mean macro-F1 of the held-out collections (all rows; public
    collections only; the human-written ones other than Dolly) and of the development sets (Dolly's)."""
    means = {}
    for key, cols in held_out.items():
        scores = [cols["all"], cols["public"], cols["human"]]
        scores += [d[f"by_{grid}_weight"][key]["macro_f1"] for d in dev.values()]
        means[key] = round(sum(scores) / len(scores), 4)
    return means


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument("--epochs", type=int, default=EPOCHS, help="passes over the data (a small set needs more)")
    parser.add_argument(
        "--human-weight",
        type=float,
        default=HUMAN_WEIGHT,
        help="how much a row of a human-written collection counts in the loss",
    )
    parser.add_argument("--cross-source", action="store_true", help="hold out whole sources and report; writes nothing")
    parser.add_argument(
        "--dev",
        action="store_true",
        help="train on all rows, score the development sets beside the data; writes nothing",
    )
    args = parser.parse_args(argv)
    data = args.data or next((p for p in DEFAULT_DATA if p.exists()), None)
    if data is None or not data.exists():
        print(f"training data not found: {args.data or ' or '.join(map(str, DEFAULT_DATA))}", file=sys.stderr)
        return 2
    try:
        vectors = TokenVectors.load()
    except VectorsUnavailable as exc:
        print(f"token vectors: {exc}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    rows = load_rows(data)
    m = Matrix(rows, vectors, args.human_weight)
    print(f"{len(rows)} rows, {len(m.indices):,} features, built in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    if args.cross_source or args.dev:
        devs = dev_sets(data)
        if not devs:
            print(f"no development set beside {data} (build_data writes dev.jsonl.gz there)", file=sys.stderr)
            return 2
        report: dict[str, Any] = {"dev": dev_report(m, devs)}
        if args.cross_source:
            report["held_out"] = cross_source(rows, m)
            report["weight_rule"] = {}
            for grid in ("heuristic", "dense"):
                means = weight_rule(report["held_out"][f"macro_f1_by_{grid}_weight"], report["dev"], grid)
                report["weight_rule"][grid] = {"mean_macro_f1": means, "best": max(means, key=lambda k: means[k])}
        print(json.dumps(report, indent=1))
        return 0
    every = np.arange(len(m), dtype=np.int64)
    held = (every * 2654435761 % 10) == 0
    w, b = fit(m, every[~held], args.epochs)
    dw, db = fit_dense(m, every[~held])
    z = predict(m, w, b, every[held]) + DENSE_WEIGHT * (m.x[held] @ dw + db)
    z += HEURISTIC_WEIGHT * lexicon_votes([rows[i] for i in every[held]])
    temperature = fit_temperature(z, m.y[held])
    print(f"temperature {temperature} (on {int(held.sum())} held-back rows)", file=sys.stderr)
    w, b = fit(m, every, args.epochs)
    dw, db = fit_dense(m, every)
    import hashlib

    meta = {
        "data_sha256": hashlib.sha256(data.read_bytes()).hexdigest(),
        "rows": str(len(rows)),
        "human_weight": str(args.human_weight),
    }
    save_model(args.out, w, b, temperature, HEURISTIC_WEIGHT, VectorHead(dw, db, DENSE_WEIGHT, vectors.name), meta)
    print(f"wrote {args.out} in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
