"""OpenHands CLI, headless: the task from a file, JSONL events out. It tries to fetch skills
from the network and carries on when that fails; it may exit without a meaningful code, so the
last events are read to tell how it ended."""

from __future__ import annotations

import os
import shutil
import tempfile

from src.agents.drivers.base import AgentOutcome, StepContext, json_events_last_first
from src.agents.process import ProcessRunner
from src.stack import agent_tools as tools

_FAILED_STATES = {"error", "stopped", "rejected", "failed"}


def final_state(output: str) -> str | None:
    """The agent state in the last JSONL event that carries one."""
    for event in json_events_last_first(output):
        raw_extras = event.get("extras")
        extras: dict[str, object] = raw_extras if isinstance(raw_extras, dict) else {}
        for key in ("agent_state", "execution_status", "status", "state"):
            value = event.get(key, extras.get(key))
            if isinstance(value, str):
                return value.lower()
    return None


class OpenHandsDriver:
    name = "openhands"

    def missing(self) -> str | None:
        return tools.missing(tools.openhands())

    def run(self, ctx: StepContext, runner: ProcessRunner) -> AgentOutcome:
        tmux_dir = tempfile.mkdtemp(prefix="mllm-tmux-")
        task_file = ctx.log_dir / "openhands-task.md"
        task_file.write_text(ctx.instruction)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(ctx.log_dir),
            "LLM_MODEL": f"openai/{ctx.model}",
            "LLM_BASE_URL": ctx.router_base,
            "LLM_API_KEY": ctx.api_key,
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "OPENHANDS_SUPPRESS_BANNER": "1",
            # Its terminal tool starts a tmux server, which leaves our process group: give it a
            # socket folder of its own (short: a UNIX socket path has ~100 bytes) to stop it after.
            "TMUX_TMPDIR": tmux_dir,
            "NO_COLOR": "1",
        }
        if ctx.max_output_tokens:
            env["LLM_MAX_OUTPUT_TOKENS"] = str(ctx.max_output_tokens)
        result = runner.run(
            [str(tools.openhands().binary), "--headless", "--json", "--override-with-envs", "-f", str(task_file)],
            cwd=ctx.worktree,
            env=env,
            timeout_s=ctx.timeout_s,
        )
        tmux = shutil.which("tmux")
        if tmux:
            runner.run(
                [tmux, "-L", "openhands", "kill-server"],
                cwd=ctx.log_dir,
                env={"PATH": env["PATH"], "TMUX_TMPDIR": tmux_dir},
                timeout_s=10,
            )
        shutil.rmtree(tmux_dir, ignore_errors=True)
        state = final_state(result.output)
        crashed = "Traceback (most recent call last)" in result.output
        ok = not result.timed_out and not crashed and (state is None or state not in _FAILED_STATES)
        if result.timed_out:
            summary = f"timed out after {ctx.timeout_s:g}s"
        elif crashed:
            summary = f"crashed (exit {result.returncode}): a Python traceback in its output"
        else:
            summary = f"exited {result.returncode}, last state {state or 'unknown'}"
        return AgentOutcome(ok, summary, result.output, result.returncode, result.timed_out, result.duration_s)
