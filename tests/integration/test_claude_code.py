"""The real Claude Code CLI (2.1.328, installed by `make setup-tests`) with the router as its
`ANTHROPIC_BASE_URL`, exactly as the README tells a user to run it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from src.router.core.spend import input_tokens
from src.stack import agent_tools as tools
from tests.integration.conftest import CLAUDE_STANDIN_PRICES, Stack, base_env
from tests.integration.test_anthropic import (
    coding_on_claude,  # noqa: F401  (a fixture, used by name)
    metric,
)

# The file reads strongly like another task: a classifier that read the tool's output would
# route the loop's next request as translation; the session keeps it on the turn's model anyway.
READS_LIKE_TRANSLATION = (
    "Translator's notes: translate and localize this into German, into Spanish, into Italian, in Japanese"
    " and to English; translating it is the whole job, a translation per language."
)


@pytest.fixture(scope="module")
def claude() -> Path:
    tool = tools.claude_code()
    assert tool.binary.exists(), f"Claude Code is not installed at {tool.binary} (make setup-tests installs it)"
    return tool.binary


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    (work / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    subprocess.run(["git", "init", "-q"], cwd=work, check=True)
    return work


def run_claude(stack: Stack, claude: Path, work: Path, *args: str) -> dict[str, Any]:
    env = {
        **base_env(),
        "HOME": str(work.parent / "home"),  # its settings and transcripts: not the user's
        "ANTHROPIC_BASE_URL": stack.router_url,
        "ANTHROPIC_API_KEY": "sk-any-local-key",  # the router accepts any key when ROUTER_API_KEYS is unset
        "DISABLE_AUTOUPDATER": "1",
    }
    proc = subprocess.run(
        [str(claude), "-p", *args, "--output-format", "json"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def session_usage(stack: Stack, session: str) -> dict[str, Any]:
    resp = httpx.get(stack.router_url + "/v1/usage", params={"session_id": session})
    assert resp.status_code == 200
    return resp.json()  # type: ignore[no-any-return]


def test_claude_code_completes_a_prompt_on_the_embedded_model_and_its_usage_is_in_the_ledger(
    stack: Stack, claude: Path, workdir: Path
) -> None:
    out = run_claude(
        stack,
        claude,
        workdir,
        "Say hello in five words.",
        "--model",
        "local-small",
        "--bare",
        "--system-prompt",
        "You are terse.",
        "--tools",
        "",
    )
    assert out["subtype"] == "success" and not out["is_error"], out
    assert out["result"].strip()
    spent = session_usage(stack, out["session_id"])  # Claude Code's own session id, from its header
    assert spent["requests"] == out["num_turns"] == 1
    assert spent["completion_tokens"] == out["usage"]["output_tokens"] > 0
    assert spent["prompt_tokens"] > 0 and spent["cost_usd"] == 0.0


def test_claude_code_s_default_prompt_is_routed_to_a_model_whose_window_fits_it(
    stack: Stack,
    claude: Path,
    workdir: Path,
    coding_on_claude: None,  # noqa: F811  (the fixture imported above)
) -> None:
    seen = len(stack.anthropic.requests)
    # No --model, no --bare: Claude Code's default model name, system prompt and tools (~18k tokens).
    out = run_claude(
        stack, claude, workdir, "What does calc.py do? Answer in one line.", "--permission-mode", "acceptEdits"
    )
    assert out["subtype"] == "success" and not out["is_error"], out
    assert out["result"] == "- Captain\n- Scoop"  # the stand-in's recorded answer: Claude answered
    sent = stack.anthropic.requests[seen:]
    assert sent, "nothing reached the Claude model"
    _, _, body = sent[-1]
    assert len(body["tools"]) >= 10 and body["model"] == "claude-sonnet-4-5"
    spent = session_usage(stack, out["session_id"])
    assert spent["requests"] >= 1
    price_in, price_out = CLAUDE_STANDIN_PRICES
    assert spent["cost_usd"] == pytest.approx(
        spent["prompt_tokens"] * price_in + spent["completion_tokens"] * price_out
    )
    assert spent["cost_usd"] > 0
    # What reached Claude is larger than the embedded model's window (the router's estimate).
    assert input_tokens(body) > 8192


def test_claude_code_s_tool_loop_stays_on_the_turn_s_model(
    stack: Stack,
    claude: Path,
    workdir: Path,
    coding_on_claude: None,  # noqa: F811  (the fixture imported above)
) -> None:
    # The file Claude Code will read reads, on its own, like a translation job.
    (workdir / "calc.py").write_text(f"# {READS_LIKE_TRANSLATION}\n")
    stack.anthropic.server.tool_call = ("Read", {"file_path": str(workdir / "calc.py")})
    pinned = 'router_session_turns_total{outcome="pinned"}'
    pinned_before = metric(stack, pinned)
    seen = len(stack.anthropic.requests)
    try:
        out = run_claude(
            stack,
            claude,
            workdir,
            "Fix the bug in calc.py",
            "--bare",
            "--system-prompt",
            "You are terse.",
            "--tools",
            "Read",
            "--permission-mode",
            "acceptEdits",
        )
    finally:
        stack.anthropic.server.tool_call = None
    assert out["subtype"] == "success" and out["num_turns"] >= 2, out
    carrying = [body for _, _, body in stack.anthropic.requests[seen:] if "tool_result" in json.dumps(body)]
    assert carrying, "the request with Read's output did not reach the turn's (Claude) model"
    assert "Translator's notes" in json.dumps(carrying[-1])
    assert metric(stack, pinned) >= pinned_before + 1
    # Control: that same request in a session with no turn is routed on its own (not pinned); the
    # learned classifier reads the user's instruction, not the file the tool returned.
    alone = {**carrying[-1], "model": "auto", "max_tokens": 16, "stream": False}
    resp = httpx.post(
        stack.router_url + "/v1/messages",
        json=alone,
        headers={"anthropic-version": "2023-06-01", "x-claude-code-session-id": "control-" + out["session_id"]},
        timeout=120,
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["x-router-pinned"] == "false" and resp.headers["x-router-rule"] != "session"
    assert resp.headers["x-router-task-type"] == "code_generation"
