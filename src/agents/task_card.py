"""Task cards: Markdown with a YAML front matter (see templates/task_card.md)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from src.router.core.config_errors import ConfigError, format_validation_error

_FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*\n?(.*)\Z", re.DOTALL)
ROLES = ("plan", "implement", "refine", "fix", "review")
# Plan and review default to Claude Code; the coordinator falls back to the router-only driver
# when Claude Code is not installed or the router has no /v1/messages (see Coordinator.agent_for).
DEFAULT_AGENTS = {"plan": "claude", "implement": "openhands", "refine": "aider", "fix": "cline", "review": "claude"}
FALLBACK_AGENT = "router"
DEFAULT_MODELS = {
    "plan": "task/architecture_design",
    "implement": "task/code_generation",
    "refine": "task/code_generation",
    "fix": "task/code_generation",
    "review": "task/code_review",
}


class TaskCard(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    task: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", description="Task id: also its branch name")
    title: str
    repo: str = Field(default=".", description="The git repository; relative to the current folder")
    base_ref: str = "HEAD"
    files: list[str] = Field(default_factory=list, description="Files the agents should focus on")
    tests: str | None = Field(default=None, description="Shell-free test command, run after the fix step")
    timeout_s: float = Field(default=900, gt=0, description="Per step")
    max_cost_usd: float | None = Field(default=None, ge=0)
    max_output_tokens: int | None = Field(
        default=None, gt=0, description="Per model call, for every agent (default: each agent's own)"
    )
    agents: dict[str, str] = Field(default_factory=dict, description="role -> agent, overriding the defaults")
    models: dict[str, str] = Field(default_factory=dict, description="role -> router model")
    body: str = ""

    @field_validator("task")
    @classmethod
    def _a_branch_name(cls, task: str) -> str:
        why = branch_name_problem(task)
        if why:
            raise ValueError(f"task id {task!r} cannot be a git branch name (mllm/{task}): {why}")
        return task

    def agent_for(self, role: str) -> str:
        return self.agents.get(role, DEFAULT_AGENTS[role])

    def model_for(self, role: str) -> str:
        return self.models.get(role, DEFAULT_MODELS[role])


def branch_name_problem(name: str) -> str | None:
    """Why `mllm/<name>` is not a valid branch name, by the rules of `git check-ref-format`
    (for the characters a task id may hold: letters, digits, '.', '_', '-'), or None."""
    if ".." in name:
        return "it contains '..'"
    if name.endswith(".lock"):
        return "it ends with '.lock'"
    if name.endswith("."):
        return "it ends with '.'"
    return None


def parse_card(text: str, *, source: str) -> TaskCard:
    m = _FRONT.match(text)
    if not m:
        raise ConfigError(f"{source}: a task card starts with a YAML front matter between '---' lines")
    try:
        meta = yaml.safe_load(m.group(1)) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: front matter is not valid YAML: {exc}") from exc
    if not isinstance(meta, dict):
        raise ConfigError(f"{source}: front matter must be a mapping")
    try:
        card = TaskCard.model_validate({**meta, "body": m.group(2).strip()})
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source=source)) from exc
    bad = [r for r in (*card.agents, *card.models) if r not in ROLES]
    if bad:
        raise ConfigError(f"{source}: unknown role(s) {bad}; roles are {', '.join(ROLES)}")
    return card


def load_card(path: Path) -> TaskCard:
    return parse_card(path.read_text(), source=str(path))


def card_text(card: TaskCard) -> str:
    """The card as a task-card file again (what the journal keeps: with its repository resolved,
    `resume` works from any folder)."""
    meta = card.model_dump(exclude={"body"}, exclude_defaults=True)
    meta = {"task": card.task, "title": card.title, **meta}
    return "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---\n" + card.body + "\n"
