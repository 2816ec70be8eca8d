"""The compromised LiteLLM releases cannot get in: not in the locks, refused by the check."""

from __future__ import annotations

from pathlib import Path

from src.stack.supply_chain import COMPROMISED, installed_problems, lock_problems

REPO = Path(__file__).resolve().parents[2]


def test_the_locks_pin_every_package_with_hashes_and_no_compromised_release() -> None:
    for name in ("requirements.lock", "requirements-dev.lock"):
        lock = REPO / name
        assert lock_problems(lock) == []
        pins = [line for line in lock.read_text().splitlines() if "==" in line and not line.startswith("#")]
        hashes = lock.read_text().count("--hash=sha256:")
        assert pins and hashes >= len(pins)
        assert any(p.startswith("litellm==1.106.12") for p in pins)


def test_a_lock_that_pins_a_compromised_release_is_refused(tmp_path: Path) -> None:
    for bad in sorted(COMPROMISED["litellm"]):
        lock = tmp_path / "requirements.lock"
        lock.write_text(f"litellm=={bad} \\\n    --hash=sha256:{'0' * 64}\n")
        assert lock_problems(lock) == [f"requirements.lock pins litellm=={bad}, reported compromised"]


def test_the_constraints_exclude_every_compromised_release() -> None:
    text = (REPO / "constraints.txt").read_text()
    assert all(f"!={v}" in text for v in COMPROMISED["litellm"])


def test_the_installed_environment_is_clean() -> None:
    assert installed_problems() == []
