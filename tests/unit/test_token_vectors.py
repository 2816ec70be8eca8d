"""Sentence vectors from the installed WordLlama table: what the classifier's vector head reads."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

from src.router.core.token_vectors import TokenVectors, VectorsUnavailable

vectors = TokenVectors.load()


def test_the_installed_table_loads_and_names_itself() -> None:
    assert vectors.name == f"wordllama {metadata.version('wordllama')} l2_supercat_256"
    assert vectors.table.shape == (32000, 256) and vectors.dimensions == 256


def test_a_text_gets_one_unit_vector_the_same_alone_or_in_a_batch() -> None:
    texts = [" write a limerick about a cat. ", " translate this into german: good morning ", ""]
    batch = vectors.embed_many(texts)
    for text, row in zip(texts, batch, strict=True):
        np.testing.assert_array_equal(vectors.embed(text), row)
    assert np.allclose(np.linalg.norm(batch[:2], axis=1), 1.0, atol=1e-5)
    assert not batch[2].any()  # no tokens: zeros, not NaN


def test_requests_that_mean_the_same_are_closer_than_requests_that_do_not() -> None:
    """The point of the vectors: words the training rows never used still land near their meaning."""
    poem, sonnet, bug = (
        vectors.embed(t)
        for t in (" write a poem about the ocean ", " compose a sonnet on the sea ", " fix the failing unit test ")
    )
    assert float(poem @ sonnet) > float(sonnet @ bug) + 0.2


def test_a_missing_package_or_file_is_refused_with_the_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def not_installed(name: str) -> metadata.Distribution:
        raise metadata.PackageNotFoundError(name)

    with monkeypatch.context() as m:
        m.setattr(metadata, "distribution", not_installed)
        with pytest.raises(VectorsUnavailable, match="wordllama is not installed"):
            TokenVectors.load()
    (tmp_path / "table.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}")
    with pytest.raises(VectorsUnavailable, match=r"table\.safetensors"):
        TokenVectors.from_files(tmp_path / "table.safetensors", tmp_path / "tokenizer.json", "broken")


def test_a_remembered_text_is_computed_once_and_cannot_be_changed_by_its_callers() -> None:
    system = " you are claude code, anthropic's official cli for claude. "
    first = vectors.embed(system, remember=True)
    assert vectors.embed(system, remember=True) is first
    np.testing.assert_array_equal(first, vectors.embed(system))
    with pytest.raises(ValueError, match="read-only"):
        first += 1.0
