"""The router's command line: validate and explain, offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from src.router.cli import main

REPO = Path(__file__).resolve().parents[2]


def test_validate_accepts_the_shipped_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "validate",
                "--rules",
                str(REPO / "config/routing_rules.yaml"),
                "--litellm-config",
                str(REPO / "config/litellm.example.yaml"),
            ]
        )
        == 0
    )
    assert "OK (10 rules" in capsys.readouterr().out


def test_validate_rejects_a_bad_file_with_a_precise_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text("rules:\n  - task_type: sentiment\n    model: gpt-4o\n")
    assert main(["validate", "--rules", str(bad), "--litellm-config", str(REPO / "config/litellm.example.yaml")]) == 1
    err = capsys.readouterr().err
    assert str(bad) in err and "rules[0].model" in err and "'gpt-4o'" in err and "claude-sonnet" in err


def test_explain_prints_the_decision_for_a_prompt(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    assert (
        main(
            [
                "explain",
                "Please review this diff for security issues",
                "--rules",
                str(REPO / "config/routing_rules.yaml"),
                "--litellm-config",
                str(REPO / "config/litellm.example.yaml"),
            ]
        )
        == 0
    )
    decision = json.loads(capsys.readouterr().out)
    assert decision["task_type"] == "code_review"
    assert decision["rule"] == "code_review#6"
    # No Anthropic key here: claude-sonnet is skipped and the decision says why.
    assert decision["model"] != "claude-sonnet"
    assert decision["signals"]["skipped"][0]["model"] == "claude-sonnet"
