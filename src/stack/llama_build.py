"""Building llama.cpp's `llama-server` offline, once per version, into the user's cache.

The `llama-cpp-python` sdist on PyPI carries llama.cpp's complete source under
`vendor/llama.cpp`; it is downloaded pinned to PyPI's sha256 (`src/stack/pinned.py`). It is
built statically (`BUILD_SHARED_LIBS=OFF`) so the one binary can be moved into the cache
atomically and runs from anywhere.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from src.stack.locking import file_lock
from src.stack.paths import cache_dir
from src.stack.pinned import LLAMA_CPP_PYTHON, pip_download_argv, verified

LLAMA_CPP_PYTHON_VERSION = "0.3.36"
CMAKE_FLAGS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_SHARED_LIBS=OFF",
    "-DLLAMA_CURL=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_SERVER=ON",
)


class BuildError(RuntimeError):
    pass


def binary_path(version: str = LLAMA_CPP_PYTHON_VERSION) -> Path:
    return cache_dir() / "llama.cpp" / f"llama-cpp-python-{version}" / "llama-server"


def _run(argv: list[str], cwd: Path, log: Path) -> None:
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(argv)}\n".encode())
        out.flush()
        proc = subprocess.run(argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, check=False)
    if proc.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise BuildError(f"`{' '.join(argv)}` failed with status {proc.returncode}; log {log}:\n{tail}")


def ensure_llama_server(version: str = LLAMA_CPP_PYTHON_VERSION, *, echo: bool = True) -> Path:
    """The path of a working `llama-server`, building it first if the cache has none."""
    target = binary_path(version)
    if target.exists():
        return target
    with file_lock(target.parent.parent / f".{version}.lock"):
        if target.exists():  # another process finished the build while we waited
            return target
        pin = LLAMA_CPP_PYTHON.get(version)
        if pin is None:
            raise BuildError(
                f"llama-cpp-python {version} has no pinned sha256 in src/stack/pinned.py "
                f"(pinned: {', '.join(LLAMA_CPP_PYTHON)}); add PyPI's hash for its sdist there"
            )
        cmake = shutil.which("cmake")
        if cmake is None:
            raise BuildError(
                "cmake is needed to build llama-server: install it (apt-get install cmake, or pip install cmake)"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        log = target.parent / "build.log"
        if echo:
            print(
                f"building llama-server from llama-cpp-python {version} (about 7-15 min on 2 cores); log: {log}",
                flush=True,
            )
        with tempfile.TemporaryDirectory(prefix="llama-build-", dir=target.parent) as tmp:
            work = Path(tmp)
            _run(pip_download_argv(pin, work, sdist=True), work, log)
            sdist = verified(work, pin)
            with tarfile.open(sdist) as tar:
                members = [m for m in tar.getmembers() if "/vendor/llama.cpp/" in m.name]
                tar.extractall(work, members=members, filter="data")
            src = next(work.glob("llama_cpp_python-*/vendor/llama.cpp"))
            jobs = str(os.cpu_count() or 2)
            _run([cmake, "-B", "build", *CMAKE_FLAGS], src, log)
            _run([cmake, "--build", "build", "--target", "llama-server", "-j", jobs], src, log)
            built = src / "build" / "bin" / "llama-server"
            staged = target.with_suffix(".tmp")
            shutil.copy2(built, staged)
            os.replace(staged, target)  # atomic: a half-copied binary is never seen
        if echo:
            print(f"llama-server ready: {target}", flush=True)
        return target
