"""Sentence vectors from static token embeddings: the mean of a text's token vectors, unit length.

The vectors are WordLlama's `l2_supercat_256` (MIT; PyPI `wordllama`): Llama 2's token codebook
(and those of models that share its tokenizer) trained as an average-pooled sentence encoder on
NLI, question and retrieval pairs. A text costs one tokenisation and a mean of a few dozen
256-dimensional rows (~30 µs for 200 characters), so the classifier can read what a request
means, not only which n-grams it has, within its latency budget. No model runs: no PyTorch, no
download at run time (the table and the tokenizer ship inside the wheel, 16 MB and 2 MB).

The package is not imported (its `__init__` configures the root logger); its two data files
are located through the installed distribution's file list and read here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

DISTRIBUTION = "wordllama"
TABLE = "wordllama/weights/l2_supercat_256.safetensors"
TABLE_KEY = "embedding.weight"
TOKENIZER = "wordllama/tokenizers/l2_supercat_tokenizer_config.json"
RECENT = 256  # remembered texts (a system prompt's head, 300 characters, and its vector: ~1.3 KB each)


class VectorsUnavailable(RuntimeError):
    """The token table or its tokenizer is not installed or not readable."""


@dataclass(frozen=True, slots=True)
class TokenVectors:
    table: npt.NDArray[np.float32]  # (vocabulary, dimensions)
    tokenizer: Any  # tokenizers.Tokenizer
    name: str  # which table: recorded in the classifier's artefact, checked when it loads
    # Vectors of texts seen recently: an agent sends the same system prompt with every request.
    _recent: dict[str, npt.NDArray[np.float32]] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def load(cls, distribution: str = DISTRIBUTION) -> TokenVectors:
        """The table and tokenizer of the installed `wordllama` wheel."""
        try:
            dist = metadata.distribution(distribution)
        except metadata.PackageNotFoundError as exc:
            raise VectorsUnavailable(f"{distribution} is not installed (pip install -r requirements.lock)") from exc
        return cls.from_files(
            Path(str(dist.locate_file(TABLE))),
            Path(str(dist.locate_file(TOKENIZER))),
            f"{distribution} {dist.version} {Path(TABLE).stem}",
        )

    @classmethod
    def from_files(cls, table: Path, tokenizer: Path, name: str) -> TokenVectors:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        try:
            weights = load_file(str(table))[TABLE_KEY]
            tok = Tokenizer.from_file(str(tokenizer))
        except Exception as exc:  # OSError, KeyError, SafetensorError; tokenizers raises a bare Exception
            raise VectorsUnavailable(f"{table.name}, {tokenizer.name}: {exc}") from exc
        if weights.ndim != 2 or tok.get_vocab_size() > len(weights):
            raise VectorsUnavailable(f"{table}: table {weights.shape} for a {tok.get_vocab_size()}-token tokenizer")
        tok.no_padding()
        tok.no_truncation()
        return cls(np.ascontiguousarray(weights, dtype=np.float32), tok, name)

    @property
    def dimensions(self) -> int:
        return int(self.table.shape[1])

    def _mean(self, ids: list[int]) -> npt.NDArray[np.float32]:
        # The mean's direction: the sum, scaled to unit length (dividing by the count first changes nothing).
        v: npt.NDArray[np.float32] = self.table[ids].sum(axis=0) if ids else np.zeros(self.dimensions, np.float32)
        norm = float(np.sqrt(v @ v))
        return v / norm if norm > 0 else v

    def embed(self, text: str, *, remember: bool = False) -> npt.NDArray[np.float32]:
        """One text's vector (zeros for a text with no tokens). With `remember`, for texts that
        recur (a system prompt), it is kept for the next call; it is read-only, as it is shared."""
        if remember and (hit := self._recent.get(text)) is not None:
            return hit
        v = self._mean(self.tokenizer.encode(text, add_special_tokens=False).ids)
        if remember:
            v.flags.writeable = False
            if len(self._recent) >= RECENT:
                self._recent.clear()
            self._recent[text] = v
        return v

    def embed_many(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Many texts at once (the tokenizer's batch call, for training): the same vectors as `embed`."""
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for i, enc in enumerate(self.tokenizer.encode_batch(texts, add_special_tokens=False)):
            out[i] = self._mean(enc.ids)
        return out
