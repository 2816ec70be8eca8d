"""The agent drivers, one per agent, listed in one table. A third-party driver registers the
same way: an object with `name`, `missing()` and `run(ctx, runner)` (see `base.AgentDriver`)."""

from __future__ import annotations

from src.agents.drivers.aider import AiderDriver
from src.agents.drivers.base import AgentDriver
from src.agents.drivers.claude_code import ClaudeCodeDriver
from src.agents.drivers.cline import ClineDriver
from src.agents.drivers.openhands import OpenHandsDriver
from src.agents.drivers.router_llm import RouterLLMDriver


def builtin_drivers() -> dict[str, AgentDriver]:
    return {
        "claude": ClaudeCodeDriver(),
        "router": RouterLLMDriver(),
        "openhands": OpenHandsDriver(),
        "aider": AiderDriver(),
        "cline": ClineDriver(),
    }
