"""Whether a step did its work: a pure function of what was seen, never of an exit code alone.

In order: a step killed at its deadline timed out; a change that adds a key is refused whatever
else it did; a step that made no model call through its own key did not do the work (an agent
that never reached the router — Aider exits 0 then); a code step whose change has no content
(nothing, or only empty files) changed nothing; then the agent's own account decides.
"""

from __future__ import annotations

from src.agents.drivers.base import AgentOutcome
from src.protocols.llm_protocol import ErrorInfo, TaskState

CODE_ROLES = ("implement", "refine", "fix")


def judge(
    role: str,
    outcome: AgentOutcome,
    *,
    substantive: bool,
    files: list[str],
    model_calls: int,
    leaked: list[str] | None = None,
) -> tuple[TaskState, ErrorInfo | None]:
    if outcome.timed_out:
        return TaskState.FAILED, ErrorInfo(code="timeout", message=outcome.summary, retryable=True)
    if leaked:
        return TaskState.FAILED, ErrorInfo(
            code="secret_in_change",
            message="the change was not committed: it adds what looks like a key in " + "; ".join(leaked),
        )
    if model_calls == 0:
        return TaskState.FAILED, ErrorInfo(
            code="no_model_calls",
            message=f"no model call reached the router under this step's key; agent said: {outcome.summary}",
            retryable=True,
        )
    if role in CODE_ROLES and not substantive:
        what = f"only empty or unchanged files ({', '.join(files)})" if files else "nothing"
        return TaskState.FAILED, ErrorInfo(
            code="no_changes",
            message=f"the repository did not change: the step left {what}; agent said: {outcome.summary}",
            retryable=True,
        )
    if not outcome.agent_ok:
        return TaskState.FAILED, ErrorInfo(code="agent_failed", message=outcome.summary, retryable=True)
    return TaskState.COMPLETED, None
