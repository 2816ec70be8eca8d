"""The benchmark harness runs end to end (CI runs it short; thresholds live in docs, not here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_the_harness_measures_every_path_and_writes_json(tmp_path: Path) -> None:
    out, md = tmp_path / "bench.json", tmp_path / "bench.md"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--smoke", "--out", str(out), "--markdown", str(md)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert [p["name"] for p in report["paths"]] == ["direct", "passthrough", "router", "litellm", "router+litellm"]
    for p in report["paths"]:
        assert p["rps_32c"] > 0 and p["p50_1c_ms"] > 0 and p["ttfb_p50_ms"] > 0, p
        assert p["errors"] == 0, p
    assert [b["path"] for b in report["bulk"]] == ["llama-server direct", "router (direct path)", "router -> litellm"]
    assert all(b["rps"] > 0 and b["errors"] == 0 for b in report["bulk"]), (report["bulk"], proc.stdout[-3000:])
    assert report["rss"]["requests"] >= 2000 and report["rss"]["after_mb"] > 0
    assert "| router |" in md.read_text()
    fleet = [(r["shared_state"], r["workers"]) for r in report["fleet"]]
    assert fleet == [("SQLite ledger", 1), ("SQLite ledger", 2), ("SQLite ledger", 4), ("Redis", 1), ("Redis", 4)]
    for r in report["fleet"]:
        assert r["priced_rps"] > 0 and r["free_rps"] > 0 and r["errors"] == 0, r
    assert "| 4 workers | Redis |" in md.read_text()


def test_the_messages_benchmark_measures_both_apis_through_the_router() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.messages", "--n", "5"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert [line.split("  ")[0].strip() for line in lines[:4]] == [
        "router chat",
        "router messages",
        "litellm chat",
        "litellm messages",
    ]
    assert lines[-1].startswith("/v1/messages over /v1/chat/completions, p50: ")
