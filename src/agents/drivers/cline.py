"""Cline CLI 3.x, headless: authenticate against the router once per data dir, then one task
with auto-approve. Its NDJSON output ends with a `run_result` line; it exits 0 only when the
task completed."""

from __future__ import annotations

import json
import os
from typing import Any

from src.agents import tools
from src.agents.drivers.base import AgentOutcome, StepContext, json_events_last_first
from src.agents.process import ProcessRunner


def last_run_result(output: str) -> dict[str, Any] | None:
    return next((e for e in json_events_last_first(output) if e.get("type") == "run_result"), None)


class ClineDriver:
    name = "cline"

    def missing(self) -> str | None:
        return tools.missing(tools.cline())

    def run(self, ctx: StepContext, runner: ProcessRunner) -> AgentOutcome:
        binary = str(tools.cline().binary)
        data_dir = ctx.log_dir / "cline-data"
        data_dir.mkdir(parents=True, exist_ok=True)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(ctx.log_dir), "NO_COLOR": "1"}
        auth = runner.run(
            [
                binary,
                "auth",
                "--data-dir",
                str(data_dir),
                "-p",
                "openai-compatible",
                "-k",
                ctx.api_key,
                "-m",
                ctx.model,
                "-b",
                ctx.router_base,
            ],
            cwd=ctx.worktree,
            env=env,
            timeout_s=120,
        )
        if auth.returncode != 0:
            return AgentOutcome(
                False,
                f"cline auth failed (exit {auth.returncode})",
                auth.output,
                auth.returncode,
                auth.timed_out,
                auth.duration_s,
            )
        seconds = str(max(30, int(ctx.timeout_s) - 30))
        result = runner.run(
            [
                binary,
                "--data-dir",
                str(data_dir),
                "-c",
                str(ctx.worktree),
                "--json",
                "--auto-approve",
                "true",
                "--retries",
                "2",  # consecutive mistakes before giving up (a small model makes many)
                "-t",
                seconds,
                ctx.instruction,
            ],
            cwd=ctx.worktree,
            env=env,
            timeout_s=ctx.timeout_s,
        )
        final = last_run_result(result.output)
        ok = result.returncode == 0 and final is not None
        summary = (
            f"timed out after {ctx.timeout_s:g}s"
            if result.timed_out
            else f"run_result: {json.dumps(final)[:300]}"
            if final is not None
            else f"exited {result.returncode} without a run_result line"
        )
        return AgentOutcome(
            ok,
            summary,
            auth.output + result.output,
            result.returncode,
            result.timed_out,
            auth.duration_s + result.duration_s,
        )
