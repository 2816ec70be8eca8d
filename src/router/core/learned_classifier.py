"""The learned task classifier (the default): a linear model over hashed n-grams, with the phrase
lexicon's vote.

fastText-style: the text is lower-cased, and three groups of features are hashed into 2^18
buckets: its character 1- to 5-grams (spanning word boundaries, so words and short phrases count
too); the same n-grams of the instruction window (the start and the end of the user's turn, where
people write what they want) in a namespace of their own; and its words and word pairs. Each
type's score is the sum of the buckets' weights, each group scaled by 1/sqrt(its size). The
phrase lexicon (`classifier.HeuristicClassifier`) then votes: its type's score gets a fixed
weight, chosen on collections held out from training. A softmax with a fitted temperature turns
the scores into a calibrated confidence. Trained on public labelled instruction collections
(`data/classifier/SOURCES.md`, `make train-classifier`); the weights ship in
`data/classifier/model.npz` (float16) and are loaded once at start.

What it reads: the latest user turn, with Claude Code's `<system-reminder>` blocks removed,
each fenced code block cut to its first line, and long text cut to its head and tail; and the
head of the system prompt, so a task written only into the system prompt still counts, while a
coding agent's boilerplate (trained on in thousands of wrapped examples of every type) weighs
little. Hashing is done with numpy on the UTF-8 bytes with fixed constants, so the same text
gets the same type in every process (no `hash()`, no set order).

It also reads what the request means: the instruction window and the head of the system prompt
become two sentence vectors (the mean of their tokens' static embeddings, `token_vectors`), and a
second linear head over them adds its scores with a fixed weight chosen, like the vote's, on
held-out collections. Hashed n-grams know only the phrasings they were trained on; the vectors
put "compose a sonnet" near "write a poem" whatever the training rows say.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from src.router.core.classifier import HeuristicClassifier
from src.router.core.features import Conversation
from src.router.core.policy import Classification
from src.router.core.tasks import TASK_TYPES, TaskType
from src.router.core.token_vectors import TokenVectors, VectorsUnavailable

DEFAULT_MODEL_PATH = Path(__file__).resolve().parents[3] / "data" / "classifier" / "model.npz"
FORMAT = 4
BITS = 18
NGRAMS = (1, 2, 3, 4, 5)
# How much of each part is read (characters): the instruction is almost always at the start or
# the end of the latest user turn, and at the start of a system prompt.
USER_HEAD, USER_TAIL, SYSTEM_HEAD = 700, 300, 300

_P = np.uint64(0x100000001B3)  # FNV prime: the polynomial base of the rolling hash
_P_INV = np.uint64(pow(0x100000001B3, -1, 1 << 64))
_MIX = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing multiplier
_SALT = {
    (ns, n): np.uint64((ns * 0x1F1F1F1F + n * 0x5851F42D4C957F2D) & 0xFFFFFFFFFFFFFFFF)
    for ns in (0, 1, 2, 3)
    for n in (*NGRAMS, 6, 7)
}
# The hashed namespaces: every character n-gram of the texts read; the same for the instruction's
# window (the start and the end of the user's turn, where people write what they want); the
# words and word pairs of the texts read; the words and word pairs of the ask alone (the first and
# the last words of the user's turn: "write a eulogy for ..." is a request for writing however
# much the rest of the turn says about the grandmother).
NS_TEXT, NS_INSTRUCTION, NS_WORDS, NS_ASK = 0, 1, 2, 3
INSTRUCTION_HEAD, INSTRUCTION_TAIL = 120, 80
ASK_WORDS = 5
_REMINDER_RE = re.compile(r"<system-reminder>.*?</system-reminder>", re.S)
# What the lexicon's vote reads of the user turn: its start and end, where the ask is. A passage
# pasted below or above the ask would otherwise vote with its own words ("Japanese:", "how many").
VOTE_HEAD, VOTE_TAIL = 200, 100
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


def hashed_words(text: str, namespace: int, bits: int = BITS) -> npt.NDArray[np.int64]:
    """Bucket indices of the text's words and word pairs (split at spaces, on UTF-8 bytes).

    A polynomial hash of every prefix gives any span's hash in O(1) (mod 2^64), so words and
    pairs are hashed without a Python loop over them.
    """
    data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8).astype(np.uint64)
    if len(data) < 3:
        return np.zeros(0, dtype=np.int64)
    shift = np.uint64(64 - bits)
    with np.errstate(over="ignore"):
        # P is odd, so it has an inverse mod 2^64: prefix[i] = sum(data[j] * P^-j, j < i), and
        # the span [a, b) hashes to (prefix[b] - prefix[a]) * P^(b-1) = sum(data[j] * P^(b-1-j)).
        n = len(data) + 1
        powers = np.cumprod(np.full(n, _P, dtype=np.uint64)) * _P_INV  # P^0 .. P^(n-1)
        inverse = np.cumprod(np.full(n, _P_INV, dtype=np.uint64)) * _P  # P^0 .. P^-(n-1)
        prefix = np.concatenate((np.zeros(1, dtype=np.uint64), np.cumsum(data * inverse[:-1], dtype=np.uint64)))
        spaces = np.flatnonzero(data == 32)
        starts, ends = spaces[:-1] + 1, spaces[1:]
        keep = ends > starts
        starts, ends = starts[keep], ends[keep]
        if not len(starts):
            return np.zeros(0, dtype=np.int64)
        uni = (prefix[ends] - prefix[starts]) * powers[ends - 1]
        bi = (prefix[ends[1:]] - prefix[starts[:-1]]) * powers[ends[1:] - 1]
        parts = [((uni ^ _SALT[(namespace, 6)]) * _MIX) >> shift, ((bi ^ _SALT[(namespace, 7)]) * _MIX) >> shift]
    return np.concatenate(parts).astype(np.int64)


def _scaled(idx: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
    return np.full(len(idx), 1.0 / np.sqrt(max(len(idx), 1)), dtype=np.float32)


def vote_view(conv: Conversation) -> Conversation:
    """What the lexicon votes on: the system prompt and the ask of the latest user turn (its start
    and end, agent reminders removed), not earlier turns such as a tool's output."""
    user = conv.latest_user
    if "<system-reminder>" in user:
        user = _REMINDER_RE.sub(" ", user)
    return replace(conv, latest_user=_window(user.strip(), VOTE_HEAD, VOTE_TAIL), earlier="")


def instruction_window(user: str) -> str:
    """The start and the end of the (prepared) user turn: where the ask almost always is."""
    if len(user) <= INSTRUCTION_HEAD + INSTRUCTION_TAIL:
        return user
    return user[:INSTRUCTION_HEAD] + " \u2026 " + user[-INSTRUCTION_TAIL:]


def ask_words(user: str) -> str:
    """The first and the last `ASK_WORDS` words of the (prepared) user turn, space-delimited."""
    words = user.split()
    if len(words) <= 2 * ASK_WORDS:
        return user
    return " " + " ".join(words[:ASK_WORDS]) + " \u2026 " + " ".join(words[-ASK_WORDS:]) + " "


def prepared_features(u: str, s: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """The bucket indices of the n-gram features of the texts `prepare` returned, and the value
    each counts with.

    Each group (the user turn's n-grams, the system prompt's, the instruction window's, the
    words', the ask's words) is scaled by 1/sqrt(its size), so a long system prompt does not drown a short
    request (and a long pasted document does not drown a short system instruction). The user
    turn and the system prompt share one hash space: "summarize" means the same in either.
    """
    groups = [hashed(u, NS_TEXT)]
    if s:
        groups.append(hashed(s, NS_TEXT))
    groups.append(hashed(instruction_window(u), NS_INSTRUCTION))
    groups.append(hashed_words(u + s, NS_WORDS))
    groups.append(hashed_words(ask_words(u), NS_ASK))
    return np.concatenate(groups), np.concatenate([_scaled(g) for g in groups])


def vector_views(u: str, s: str) -> tuple[str, str]:
    """What the sentence vectors read of the texts `prepare` returned: the instruction window
    and the head of the system prompt (empty without one: a zero vector)."""
    return instruction_window(u), s


def sentence_vectors(vectors: TokenVectors, u: str, s: str) -> npt.NDArray[np.float32]:
    """The vector features of one conversation: the views' vectors side by side (the system
    prompt's is remembered: an agent sends the same one with every request)."""
    instruction, system = vector_views(u, s)
    return np.concatenate([vectors.embed(instruction), vectors.embed(system, remember=True)])


@dataclass(frozen=True, slots=True)
class LearnedModel:
    weights: npt.NDArray[np.float32]  # (2^bits, types)
    bias: npt.NDArray[np.float32]  # (types,)
    temperature: float
    labels: tuple[TaskType, ...]
    heuristic_weight: float  # added to the logit of the type the phrase lexicon names
    dense: npt.NDArray[np.float32]  # (views x vector dimensions, types): the head over the sentence vectors
    dense_bias: npt.NDArray[np.float32]  # (types,)
    dense_weight: float  # how much the vector head's scores count beside the n-grams'
    vectors: TokenVectors

    @classmethod
    def load(cls, path: Path, vectors: TokenVectors | None = None) -> LearnedModel:
        """The artefact at `path`, with the token vectors it was trained on (the installed ones
        unless given); `ModelUnavailable` says why when either cannot be used."""
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
                heuristic_weight = float(z["heuristic_weight"])
                dense = z["dense"].astype(np.float32)
                dense_bias = z["dense_bias"].astype(np.float32)
                dense_weight = float(z["dense_weight"])
                trained_on = str(z["vectors"])
        except ModelUnavailable:
            raise
        except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise ModelUnavailable(f"{path}: {exc}") from exc
        if weights.shape != (1 << BITS, len(labels)) or bias.shape != (len(labels),) or not temperature > 0:
            raise ModelUnavailable(f"{path}: weights {weights.shape}, bias {bias.shape}: not a {BITS}-bit model")
        if not np.isfinite(weights).all() or not np.isfinite(dense).all():
            raise ModelUnavailable(f"{path}: weights are not finite")
        for name, w in (("heuristic_weight", heuristic_weight), ("dense_weight", dense_weight)):
            if not np.isfinite(w) or w < 0:
                raise ModelUnavailable(f"{path}: {name} {w}")
        try:
            vectors = vectors if vectors is not None else TokenVectors.load()
        except VectorsUnavailable as exc:
            raise ModelUnavailable(f"{path}: its token vectors: {exc}") from exc
        if trained_on != vectors.name:
            raise ModelUnavailable(f"{path}: trained on the token vectors {trained_on!r}, {vectors.name!r} installed")
        views = len(vector_views("", ""))
        if dense.shape != (views * vectors.dimensions, len(labels)) or dense_bias.shape != (len(labels),):
            raise ModelUnavailable(f"{path}: vector head {dense.shape} for {views} views of {vectors.dimensions}")
        return cls(weights, bias, temperature, labels, heuristic_weight, dense, dense_bias, dense_weight, vectors)

    def logits(self, user: str, system: str) -> npt.NDArray[np.float64]:
        """The two linear heads' scores, before the lexicon's vote and the temperature."""
        u, s = prepare(user, system)
        idx, vals = prepared_features(u, s)
        z = vals @ self.weights[idx] + self.bias
        if self.dense_weight:
            z += self.dense_weight * (sentence_vectors(self.vectors, u, s) @ self.dense + self.dense_bias)
        out: npt.NDArray[np.float64] = z.astype(np.float64)
        return out

    def probabilities(self, user: str, system: str, lexicon: TaskType | None = None) -> npt.NDArray[np.float64]:
        logits = self.logits(user, system)
        if lexicon is not None:
            logits[self.labels.index(lexicon)] += self.heuristic_weight
        logits /= self.temperature
        logits -= logits.max()
        p = np.exp(logits)
        out: npt.NDArray[np.float64] = p / p.sum()
        return out


class LearnedClassifier:
    """`Classifier` over the learned model; `load()` raises `ModelUnavailable` with the reason.

    The phrase lexicon (`HeuristicClassifier`) votes too: its type's logit gets the model's
    `heuristic_weight`, a weight chosen when training on collections held out from the weights
    (`python -m scripts.classifier.train --cross-source`). The two err on different requests;
    together they do better on held-out collections than either alone.
    """

    def __init__(self, model: LearnedModel, lexicon: HeuristicClassifier | None = None) -> None:
        self.model = model
        self.lexicon = lexicon or HeuristicClassifier()

    @classmethod
    def load(cls, path: Path = DEFAULT_MODEL_PATH, vectors: TokenVectors | None = None) -> LearnedClassifier:
        return cls(LearnedModel.load(path, vectors))

    def classify(self, conv: Conversation) -> Classification:
        vote = self.lexicon.classify(vote_view(conv)).task_type if self.model.heuristic_weight else None
        p = self.model.probabilities(conv.latest_user, conv.system, vote)
        # argmax takes the first of equal maxima: ties resolve in the fixed label order.
        best = int(np.argmax(p))
        runner_up = int(np.argsort(-p, kind="stable")[1])
        matched: tuple[str, ...] = (
            f"p={p[best]:.3f}",
            f"next {self.model.labels[runner_up].value} p={p[runner_up]:.3f}",
        )
        if vote is not None:
            matched += (f"lexicon {vote.value}",)
        return Classification(self.model.labels[best], round(float(p[best]), 4), "learned", matched)


@dataclass(frozen=True, slots=True)
class VectorHead:
    """The trained head over the sentence vectors, as `save_model` writes it."""

    weights: Any  # (views x dimensions, types)
    bias: Any  # (types,)
    weight: float  # its scores' weight beside the n-grams'
    vectors: str  # TokenVectors.name


def save_model(
    path: Path,
    weights: Any,
    bias: Any,
    temperature: float,
    heuristic_weight: float,
    head: VectorHead,
    meta: dict[str, str],
) -> None:
    """Write the artefact (float16 weights, compressed, byte-for-byte reproducible); `make train-classifier`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, Any] = {
        "format": np.int64(FORMAT),
        "labels": np.array(TASK_TYPES),
        "weights": np.asarray(weights, dtype=np.float16),
        "bias": np.asarray(bias, dtype=np.float32),
        "temperature": np.float64(temperature),
        "heuristic_weight": np.float64(heuristic_weight),
        "dense": np.asarray(head.weights, dtype=np.float32),
        "dense_bias": np.asarray(head.bias, dtype=np.float32),
        "dense_weight": np.float64(head.weight),
        "vectors": np.array(head.vectors),
        **{f"meta_{k}": np.array(v) for k, v in sorted(meta.items())},
    }
    # np.savez stamps each member with the current time; a fixed stamp makes the bytes reproducible.
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, value in arrays.items():
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=False)
