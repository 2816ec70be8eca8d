"""Claude Code, headless (`claude -p --output-format json`), as planner and reviewer.

It talks to the router's Anthropic surface: `ANTHROPIC_BASE_URL` is the router, the step's own
key goes as `ANTHROPIC_AUTH_TOKEN` (sent as `Authorization: Bearer`, which is how the router
attributes usage to a step) — in the environment, never on the command line. Its tools are the
read-only ones (Read, Grep, Glob) and its system prompt is ours: the default prompt and tool set
come to ~12k tokens, more than the embedded model's whole window; this way a request is ~2k.
As root Claude Code refuses `--dangerously-skip-permissions`, so it runs with
`--permission-mode acceptEdits`. The prompt goes on stdin (a reviewer's diff can be long).

Its JSON result says `is_error`, `subtype` and the answer in `result`; an exit code of 0 with
`is_error: true` is a failure.
"""

from __future__ import annotations

import os
from typing import Any

from src.agents.drivers.base import AgentOutcome, StepContext, json_events_last_first
from src.agents.drivers.prompts import read_verdict, system_for, user_prompt
from src.agents.process import ProcessRunner
from src.stack import agent_tools as tools

READ_ONLY_TOOLS = "Read,Grep,Glob"
MAX_OUTPUT_TOKENS = 1024  # Claude Code asks for 32k-128k by default: more than a small model's window
MAX_TURNS = 6


def final_result(output: str) -> dict[str, Any] | None:
    return next((e for e in json_events_last_first(output) if e.get("type") == "result"), None)


class ClaudeCodeDriver:
    name = "claude"

    def missing(self) -> str | None:
        return tools.missing(tools.claude_code())

    def run(self, ctx: StepContext, runner: ProcessRunner) -> AgentOutcome:
        home = ctx.log_dir / "claude-home"  # its ~/.claude.json and ~/.claude/: not the user's, not the repo's
        home.mkdir(parents=True, exist_ok=True)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "ANTHROPIC_BASE_URL": ctx.router_base.removesuffix("/v1"),
            "ANTHROPIC_AUTH_TOKEN": ctx.api_key,
            # Its background requests (titles, summaries) name a "small fast" model: the same one.
            "ANTHROPIC_DEFAULT_HAIKU_MODEL": ctx.model,
            "ANTHROPIC_SMALL_FAST_MODEL": ctx.model,
            "CLAUDE_CODE_MAX_OUTPUT_TOKENS": str(ctx.max_output_tokens or MAX_OUTPUT_TOKENS),
            "MAX_THINKING_TOKENS": "0",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_AUTOUPDATER": "1",
            "DISABLE_TELEMETRY": "1",
            "DISABLE_ERROR_REPORTING": "1",
            "NO_COLOR": "1",
        }
        argv = [
            str(tools.claude_code().binary),
            "-p",
            "--output-format",
            "json",
            "--model",
            ctx.model,
            "--permission-mode",
            "acceptEdits",
            "--tools",
            READ_ONLY_TOOLS,
            "--system-prompt",
            system_for(ctx.role),
            "--max-turns",
            str(MAX_TURNS),
            "--no-session-persistence",
            "--strict-mcp-config",
            "--disable-slash-commands",
        ]
        result = runner.run(argv, cwd=ctx.worktree, env=env, timeout_s=ctx.timeout_s, stdin=user_prompt(ctx))
        final = final_result(result.output)
        if result.timed_out:
            summary = f"timed out after {ctx.timeout_s:g}s"
            return AgentOutcome(False, summary, result.output, None, True, result.duration_s)
        if final is None:
            return AgentOutcome(
                False,
                f"exited {result.returncode} without a JSON result",
                result.output,
                result.returncode,
                duration_s=result.duration_s,
            )
        text = str(final.get("result") or "")
        if final.get("is_error") or final.get("subtype") != "success":
            why = f"{final.get('subtype')}: {text[:200]}" if text else str(final.get("subtype"))
            return AgentOutcome(
                False, f"Claude Code failed ({why})", result.output, result.returncode, duration_s=result.duration_s
            )
        verdict = read_verdict(text) if ctx.role == "review" else None
        models = ", ".join(final.get("modelUsage") or {}) or ctx.model
        summary = (
            f"{ctx.role} by Claude Code ({models}, {final.get('num_turns', '?')} turn(s)): {len(text)} characters"
            + (f", verdict {verdict}" if verdict else "")
        )
        return AgentOutcome(
            bool(text.strip()),
            summary,
            result.output,
            result.returncode,
            duration_s=result.duration_s,
            verdict=verdict,
            report=text,
        )
