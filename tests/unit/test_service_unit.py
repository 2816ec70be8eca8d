"""The stack as a systemd service, as the README installs it: `python -m src.stack unit`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze (systemd)")
def test_the_printed_unit_is_one_systemd_accepts_and_runs_the_launcher_of_this_clone(tmp_path: Path) -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "src.stack", "unit"], cwd=REPO, capture_output=True, text=True, check=True, timeout=60
    ).stdout
    unit = tmp_path / "multi-llm.service"
    unit.write_text(printed)
    verified = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False, timeout=60
    )
    # verify fails on a missing executable and warns (stderr) on any value it would ignore
    assert verified.returncode == 0 and verified.stderr == "", verified.stderr
    assert f"WorkingDirectory={REPO}\n" in printed
    assert f"ExecStart={REPO / '.venv' / 'bin' / 'python'} -m src.stack run\n" in printed
