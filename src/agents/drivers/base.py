"""What every agent driver implements; built-ins register in `src/agents/drivers/__init__.py`
exactly as a third-party driver would."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from src.agents.process import ProcessRunner


@dataclass(frozen=True)
class StepContext:
    task: str
    step: str
    role: str
    worktree: Path
    log_dir: Path
    instruction: str  # the full text the agent gets
    router_base: str  # OpenAI-compatible base URL of the router, ending in /v1
    api_key: str  # this task's (and step's) router key: usage is attributed to it
    model: str  # a router model: "auto", "task/<type>" or a concrete name
    timeout_s: float
    files: list[str] = field(default_factory=list)
    diff: str = ""  # for reviewers: the task's change so far, cut to fit the reviewing model
    diff_note: str = ""  # what was cut from `diff`, if anything
    max_output_tokens: int | None = None  # per model call; None: the agent's own default


@dataclass(frozen=True)
class AgentOutcome:
    agent_ok: bool  # what the agent's own output says (never trusted alone)
    summary: str
    log: str
    returncode: int | None = None
    timed_out: bool = False
    duration_s: float = 0.0
    verdict: str | None = None  # reviewers: approve | request_changes | reject
    report: str | None = None  # planners and reviewers: the text they produced


class AgentDriver(Protocol):
    name: str

    def missing(self) -> str | None:
        """Why this agent cannot run here (not installed, ...), or None."""

    def run(self, ctx: StepContext, runner: ProcessRunner) -> AgentOutcome:
        """Run the agent on the worktree and report what its own output says."""


def json_events_last_first(output: str) -> Iterator[dict[str, Any]]:
    """The JSON objects an agent printed one per line (NDJSON/JSONL), last first; other lines
    (banners, warnings, tracebacks) are skipped."""
    for line in reversed(output.splitlines()):
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(event, dict):
            yield event
