"""`.env` holds the LiteLLM master key: it is owner-only whichever way it came to be."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

from dotenv import dotenv_values

from src.stack.bootstrap import ensure_env_file

REPO = Path(__file__).resolve().parents[2]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_env_file_is_owner_only_with_a_generated_key(tmp_path: Path) -> None:
    shutil.copyfile(REPO / ".env.example", tmp_path / ".env.example")
    old = os.umask(0o022)
    try:
        env = ensure_env_file(tmp_path)
    finally:
        os.umask(old)
    assert mode(env) == 0o600
    assert str(dotenv_values(env)["LITELLM_MASTER_KEY"]).startswith("sk-")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".env", ".env.example"]  # no temporary left behind


def test_a_copied_example_gets_its_key_and_becomes_owner_only(tmp_path: Path) -> None:
    # What a user does by hand: `cp .env.example .env` (0644 under the usual umask), then setup.
    env = tmp_path / ".env"
    shutil.copyfile(REPO / ".env.example", env)
    env.chmod(0o644)
    ensure_env_file(tmp_path)
    assert mode(env) == 0o600
    values = dotenv_values(env)
    assert str(values["LITELLM_MASTER_KEY"]).startswith("sk-")
    assert values["ROUTER_PORT"] == "5000"  # the rest of the file is kept
