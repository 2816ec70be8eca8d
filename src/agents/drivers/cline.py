"""Cline CLI 3.x, headless: one task with auto-approve, in a data folder of its own. Its NDJSON
output ends with a `run_result` line; it exits 0 only when the task completed.

The router (provider, model, base URL, the step's key) is written into the data folder's
`settings/providers.json` — what `cline auth -k KEY ...` would write — so that the key never
appears on a command line (where `ps` shows it to every user of the machine).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from src.agents.drivers.base import AgentOutcome, StepContext, json_events_last_first
from src.agents.process import ProcessRunner
from src.stack import agent_tools as tools


def last_run_result(output: str) -> dict[str, Any] | None:
    return next((e for e in json_events_last_first(output) if e.get("type") == "run_result"), None)


class ClineDriver:
    name = "cline"

    def missing(self) -> str | None:
        return tools.missing(tools.cline())

    def run(self, ctx: StepContext, runner: ProcessRunner) -> AgentOutcome:
        binary = str(tools.cline().binary)
        data_dir = ctx.log_dir / "cline-data"
        write_provider(data_dir, api_key=ctx.api_key, model=ctx.model, base_url=ctx.router_base)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(ctx.log_dir), "NO_COLOR": "1"}
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
        return AgentOutcome(ok, summary, result.output, result.returncode, result.timed_out, result.duration_s)


def write_provider(data_dir: Path, *, api_key: str, model: str, base_url: str) -> Path:
    """Cline's provider settings (the format `cline auth` writes), readable by the owner only."""
    settings = data_dir / "settings"
    settings.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = settings / "providers.json"
    body = {
        "version": 1,
        "lastUsedProvider": "openai-compatible",
        "modes": {},
        "providers": {
            "openai-compatible": {
                "settings": {"provider": "openai-compatible", "apiKey": api_key, "model": model, "baseUrl": base_url},
                "updatedAt": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "tokenSource": "manual",
            }
        },
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(body, f, indent=2)
    return path
