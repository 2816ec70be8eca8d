"""The learned task classifier (the default): a linear model over hashed character n-grams.

fastText-style: the text is lower-cased, its character 1- to 5-grams (spanning word
boundaries, so words and short phrases count too) are hashed into 2^18 buckets, and each type's
score is the sum of the buckets' weights, each part of the conversation scaled by 1/sqrt(its
number of n-grams); a softmax with a fitted temperature turns the scores into a calibrated
confidence. Trained on public labelled instruction collections (`data/classifier/SOURCES.md`,
`make train-classifier`); the weights ship in `data/classifier/model.npz` (float16) and are
loaded once at start.

What it reads: the latest user turn, with Claude Code's `<system-reminder>` blocks removed,
each fenced code block cut to its first line, and long text cut to its head and tail; and the
head of the system prompt, so a task written only into the system prompt still counts, while a
coding agent's boilerplate (trained on in thousands of wrapped examples of every type) weighs
little. Hashing is done with numpy on the UTF-8 bytes with fixed constants, so the same text
gets the same type in every process (no `hash()`, no set order).
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from src.router.features import Conversation
from src.router.policy import Classification
from src.router.tasks import TASK_TYPES, TaskType

DEFAULT_MODEL_PATH = Path(__file__).resolve().parents[2] / "data" / "classifier" / "model.npz"
FORMAT = 1
BITS = 18
NGRAMS = (1, 2, 3, 4, 5)
# How much of each part is read (characters): the instruction is almost always at the start or
# the end of the latest user turn, and at the start of a system prompt.
USER_HEAD, USER_TAIL, SYSTEM_HEAD = 700, 300, 300

_P = np.uint64(0x100000001B3)  # FNV prime: the polynomial base of the rolling hash
_MIX = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing multiplier
_SALT = {
    (ns, n): np.uint64((ns * 0x1F1F1F1F + n * 0x5851F42D4C957F2D) & 0xFFFFFFFFFFFFFFFF) for ns in (0, 1) for n in NGRAMS
}
_REMINDER_RE = re.compile(r"<system-reminder>.*?</system-reminder>", re.S)
_SPACE_RE = re.compile(r"\s+")
_DIGITS = str.maketrans("123456789", "000000000")


class ModelUnavailable(RuntimeError):
    """The artefact is missing, unreadable or of another format."""


def _window(text: str, head: int, tail: int) -> str:
    if len(text) <= head + tail:
        return text
    return text[:head] + " \u2026 " + (text[-tail:] if tail else "")


def _collapse_fences(text: str) -> str:
    """Each fenced code block cut to its first line: its body says little about the task and a
    lot about the code. A linear scan (str.find), not a regex: pasted code holds backticks too."""
    out, pos = [], 0
    while (start := text.find("```", pos)) != -1:
        body = text.find("\n", start)
        end = text.find("```", start + 3)
        if body == -1 or end == -1:
            break
        if end < body:  # inline ```x``` on one line: keep as it is
            out.append(text[pos : end + 3])
            pos = end + 3
            continue
        first = text[body + 1 : min(text.find("\n", body + 1) % (len(text) + 1), end, body + 61)]
        out.append(text[pos:start] + "```" + first + " …```")
        pos = end + 3
    out.append(text[pos:])
    return "".join(out)


def prepare(user: str, system: str) -> tuple[str, str]:
    """The two texts the model reads, normalised (lower case, one space, digits as 0)."""
    user = _window(user, 6 * USER_HEAD, 6 * USER_TAIL)  # bounds the regex work below on huge turns
    if "<system-reminder>" in user:
        user = _REMINDER_RE.sub(" ", user)
    if "```" in user:
        user = _collapse_fences(user)
    user = _window(user.strip(), USER_HEAD, USER_TAIL)
    system = system.strip()[:SYSTEM_HEAD]
    return (
        " " + _SPACE_RE.sub(" ", user.lower().translate(_DIGITS)) + " ",
        " " + _SPACE_RE.sub(" ", system.lower().translate(_DIGITS)) + " " if system else "",
    )


def hashed(text: str, namespace: int, bits: int = BITS) -> npt.NDArray[np.int64]:
    """Bucket indices of the text's character n-grams (on UTF-8 bytes)."""
    data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8).astype(np.uint64)
    parts = []
    shift = np.uint64(64 - bits)
    with np.errstate(over="ignore"):  # the hash is meant to wrap modulo 2^64
        h = np.zeros(len(data), dtype=np.uint64)
        for n in range(1, max(NGRAMS) + 1):
            # h[i] holds the hash of data[i : i + n]
            h = h[: len(data) - n + 1] * _P + data[n - 1 :]
            if n in NGRAMS and len(h):
                parts.append(((h ^ _SALT[(namespace, n)]) * _MIX) >> shift)
    if not parts:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate(parts).astype(np.int64)


def features(user: str, system: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """The bucket indices of a conversation's n-grams and the value each counts with.

    Each part is scaled by 1/sqrt(its number of n-grams), so a long system prompt does not drown
    a short request (and a long pasted document does not drown a short system instruction).
    Both parts share one hash space: "summarize" means the same in either.
    """
    u, s = prepare(user, system)
    iu = hashed(u, 0)
    vu = np.full(len(iu), 1.0 / np.sqrt(max(len(iu), 1)), dtype=np.float32)
    if not s:
        return iu, vu
    i_s = hashed(s, 0)
    vs = np.full(len(i_s), 1.0 / np.sqrt(max(len(i_s), 1)), dtype=np.float32)
    return np.concatenate((iu, i_s)), np.concatenate((vu, vs))


@dataclass(frozen=True, slots=True)
class LearnedModel:
    weights: npt.NDArray[np.float32]  # (2^bits, types)
    bias: npt.NDArray[np.float32]  # (types,)
    temperature: float
    labels: tuple[TaskType, ...]

    @classmethod
    def load(cls, path: Path) -> LearnedModel:
        try:
            # Opened here, not by np.load: numpy leaves the file open when the zip is corrupt.
            with path.open("rb") as fh, np.load(fh, allow_pickle=False) as z:
                fmt = int(z["format"])
                if fmt != FORMAT:
                    raise ModelUnavailable(f"{path}: format {fmt}, this router reads format {FORMAT}")
                labels = tuple(TaskType(str(x)) for x in z["labels"])
                weights = z["weights"].astype(np.float32)
                bias = z["bias"].astype(np.float32)
                temperature = float(z["temperature"])
        except ModelUnavailable:
            raise
        except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise ModelUnavailable(f"{path}: {exc}") from exc
        if weights.shape != (1 << BITS, len(labels)) or bias.shape != (len(labels),) or not temperature > 0:
            raise ModelUnavailable(f"{path}: weights {weights.shape}, bias {bias.shape}: not a {BITS}-bit model")
        if not np.isfinite(weights).all():
            raise ModelUnavailable(f"{path}: weights are not finite")
        return cls(weights, bias, temperature, labels)

    def probabilities(self, user: str, system: str) -> npt.NDArray[np.float64]:
        idx, vals = features(user, system)
        logits = (vals @ self.weights[idx] + self.bias).astype(np.float64) / self.temperature
        logits -= logits.max()
        p = np.exp(logits)
        out: npt.NDArray[np.float64] = p / p.sum()
        return out


class LearnedClassifier:
    """`Classifier` over the learned model; `load()` raises `ModelUnavailable` with the reason."""

    def __init__(self, model: LearnedModel) -> None:
        self.model = model

    @classmethod
    def load(cls, path: Path = DEFAULT_MODEL_PATH) -> LearnedClassifier:
        return cls(LearnedModel.load(path))

    def classify(self, conv: Conversation) -> Classification:
        p = self.model.probabilities(conv.latest_user, conv.system)
        # argmax takes the first of equal maxima: ties resolve in the fixed label order.
        best = int(np.argmax(p))
        runner_up = int(np.argsort(-p, kind="stable")[1])
        matched = (f"p={p[best]:.3f}", f"next {self.model.labels[runner_up].value} p={p[runner_up]:.3f}")
        return Classification(self.model.labels[best], round(float(p[best]), 4), "learned", matched)


def save_model(path: Path, weights: Any, bias: Any, temperature: float, meta: dict[str, str]) -> None:
    """Write the artefact (float16 weights, compressed, byte-for-byte reproducible); `make train-classifier`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, Any] = {
        "format": np.int64(FORMAT),
        "labels": np.array(TASK_TYPES),
        "weights": np.asarray(weights, dtype=np.float16),
        "bias": np.asarray(bias, dtype=np.float32),
        "temperature": np.float64(temperature),
        **{f"meta_{k}": np.array(v) for k, v in sorted(meta.items())},
    }
    # np.savez stamps each member with the current time; a fixed stamp makes the bytes reproducible.
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, value in arrays.items():
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=False)
