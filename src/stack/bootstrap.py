"""First-run files: `config/litellm.yaml` and `.env`, created from the examples if missing.

An existing file is never overwritten; a missing master key is generated (LiteLLM exits
with status 3 on a weak one). `.env` holds keys: it is written owner-only (0600) from the
start, to a temporary file renamed into place, so it is never readable by others, not even
for a moment, and never half-written.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from pathlib import Path

from dotenv import dotenv_values

from src.stack.paths import REPO_ROOT


def generate_master_key() -> str:
    return "sk-" + secrets.token_hex(24)


def ensure_litellm_config(root: Path = REPO_ROOT) -> Path:
    target = root / "config" / "litellm.yaml"
    if not target.exists():
        shutil.copyfile(root / "config" / "litellm.example.yaml", target)
        print(f"created {target.relative_to(root)} from config/litellm.example.yaml", flush=True)
    return target


def write_secret_file(target: Path, text: str) -> None:
    """Replace `target` with `text`, mode 0600 from creation, atomically."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def ensure_env_file(root: Path = REPO_ROOT) -> Path:
    target = root / ".env"
    if not target.exists():
        text = (root / ".env.example").read_text()
        write_secret_file(
            target, text.replace("LITELLM_MASTER_KEY=\n", f"LITELLM_MASTER_KEY={generate_master_key()}\n")
        )
        print(f"created {target.relative_to(root)} with a generated LiteLLM master key", flush=True)
    elif not dotenv_values(target).get("LITELLM_MASTER_KEY"):
        # Often a copied .env.example (mode 0644): the key must not land in a world-readable file.
        text = target.read_text()
        write_secret_file(target, f"{text.rstrip(chr(10))}\nLITELLM_MASTER_KEY={generate_master_key()}\n")
        print(f"added a generated LITELLM_MASTER_KEY to {target.relative_to(root)} (now mode 0600)", flush=True)
    return target
