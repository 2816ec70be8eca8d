"""Aider 0.86.2, headless: one message, auto-commits, nothing interactive.

Aider exits 0 even when every model request failed (seen here), so its exit code says
nothing; the coordinator judges from the repository, and this driver reads Aider's output
for the errors it prints.
"""

from __future__ import annotations

import os
import re

from src.agents.drivers.base import AgentOutcome, StepContext
from src.agents.process import ProcessRunner
from src.stack import agent_tools as tools

_ERRORS = re.compile(
    r"litellm\.\w*Error|APIConnectionError|AuthenticationError|Unable to (?:reach|connect)|"
    r"Model .* not found|BadRequestError|InternalServerError",
    re.IGNORECASE,
)


class AiderDriver:
    name = "aider"

    def missing(self) -> str | None:
        return tools.missing(tools.aider())

    def run(self, ctx: StepContext, runner: ProcessRunner) -> AgentOutcome:
        message = ctx.log_dir / "aider-message.md"
        message.write_text(ctx.instruction)
        model = f"openai/{ctx.model}"
        settings: list[str] = []
        if ctx.max_output_tokens:
            path = ctx.log_dir / "aider-model-settings.yml"
            path.write_text(f"- name: {model}\n  extra_params:\n    max_tokens: {ctx.max_output_tokens}\n")
            settings = ["--model-settings-file", str(path)]
        argv = [
            str(tools.aider().binary),
            "--model",
            model,
            *settings,
            # One request at a time: without a timeout, Aider's client gives up on a slow answer
            # after a few minutes and sends it again while the first is still being generated.
            "--timeout",
            str(int(ctx.timeout_s)),
            "--message-file",
            str(message),
            "--yes-always",
            "--no-stream",
            "--no-pretty",
            "--no-fancy-input",
            "--no-check-update",
            "--analytics-disable",
            "--no-show-model-warnings",
            "--no-gitignore",
            "--no-restore-chat-history",
            "--chat-history-file",
            str(ctx.log_dir / "aider.chat.md"),
            "--input-history-file",
            str(ctx.log_dir / "aider.input.history"),
            "--llm-history-file",
            str(ctx.log_dir / "aider.llm.history"),
            "--map-tokens",
            "1024",
            "--edit-format",
            "whole",
            *ctx.files,
        ]
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(ctx.log_dir),
            "OPENAI_API_BASE": ctx.router_base,
            "OPENAI_API_KEY": ctx.api_key,
            "AIDER_ANALYTICS": "false",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "TERM": "dumb",
        }
        result = runner.run(argv, cwd=ctx.worktree, env=env, timeout_s=ctx.timeout_s)
        errors = _ERRORS.findall(result.output)
        ok = not result.timed_out and not errors
        summary = (
            f"timed out after {ctx.timeout_s:g}s"
            if result.timed_out
            else f"model errors in output: {', '.join(sorted(set(errors)))[:300]}"
            if errors
            else f"exited {result.returncode}"
        )
        return AgentOutcome(ok, summary, result.output, result.returncode, result.timed_out, result.duration_s)
