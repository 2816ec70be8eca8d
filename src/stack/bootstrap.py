"""First-run files: `config/litellm.yaml` and `.env`, created from the examples if missing.

An existing file is never overwritten; a missing master key is generated (LiteLLM exits
with status 3 on a weak one).
"""

from __future__ import annotations

import secrets
import shutil
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


def ensure_env_file(root: Path = REPO_ROOT) -> Path:
    target = root / ".env"
    if not target.exists():
        text = (root / ".env.example").read_text()
        target.write_text(text.replace("LITELLM_MASTER_KEY=\n", f"LITELLM_MASTER_KEY={generate_master_key()}\n"))
        target.chmod(0o600)
        print(f"created {target.relative_to(root)} with a generated LiteLLM master key", flush=True)
    elif not dotenv_values(target).get("LITELLM_MASTER_KEY"):
        with target.open("a") as fh:
            fh.write(f"\nLITELLM_MASTER_KEY={generate_master_key()}\n")
        print(f"added a generated LITELLM_MASTER_KEY to {target.relative_to(root)}", flush=True)
    return target
