"""Task cards: Markdown with a YAML front matter (see templates/task_card.md)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from src.router.core.config_errors import ConfigError, format_validation_error

_FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*\n?(.*)\Z", re.DOTALL)
ROLES = ("plan", "implement", "refine", "fix", "review")
DEFAULT_AGENTS = {"plan": "router", "implement": "openhands", "refine": "aider", "fix": "cline", "review": "router"}
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
    repo: str = "."
    base_ref: str = "HEAD"
    files: list[str] = Field(default_factory=list, description="Files the agents should focus on")
    tests: str | None = Field(default=None, description="Shell-free test command, run after the fix step")
    timeout_s: float = Field(default=900, gt=0, description="Per step")
    max_cost_usd: float | None = Field(default=None, ge=0)
    agents: dict[str, str] = Field(default_factory=dict, description="role -> agent, overriding the defaults")
    models: dict[str, str] = Field(default_factory=dict, description="role -> router model")
    body: str = ""

    def agent_for(self, role: str) -> str:
        return self.agents.get(role, DEFAULT_AGENTS[role])

    def model_for(self, role: str) -> str:
        return self.models.get(role, DEFAULT_MODELS[role])


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
