"""Where the stack keeps what it builds and downloads.

Build products and model files are cached outside the clone (keyed by version), so a
second clone or a CI run on the same machine reuses them; run-time state (logs) lives in
the clone's git-ignored `var/`.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def cache_dir() -> Path:
    """`$MLLM_CACHE_DIR`, else `$XDG_CACHE_HOME/multi-llm`, else `~/.cache/multi-llm`."""
    explicit = os.environ.get("MLLM_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "multi-llm"


def var_dir() -> Path:
    return REPO_ROOT / "var"
