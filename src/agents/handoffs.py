"""What a step's handoffs say: the assignment an agent gets, its status, and the result it hands
back, built from the card, the agent's outcome, the repository's change and the router's ledger.

Pure: the coordinator decides and records; these only shape the messages (`src/protocols/`).
"""

from __future__ import annotations

from pathlib import Path

from src.agents.drivers.base import AgentOutcome
from src.agents.git_worktree import StepChange
from src.agents.task_card import TaskCard
from src.protocols.llm_protocol import (
    Artifact,
    ErrorInfo,
    Limits,
    Message,
    MsgType,
    ReviewVerdict,
    TaskState,
    Usage,
    Workspace,
)

COORDINATOR = "coordinator"
LOG_CAP = 4000  # characters of an agent's log kept inline in a message
PLAN_CAP = 4000  # characters of a planner's or reviewer's answer kept in the journal
PLAN_IN_INSTRUCTION = 1500  # characters of the plan each later step gets: it rides in every prompt

ASKS = {
    "plan": "Write the implementation plan for this task.",
    "implement": "Implement this task in the repository.",
    "refine": "Refine the implementation of this task: fix what is incomplete or wrong.",
    "fix": "Make the smallest fixes needed so the task is done and the tests pass.",
    "review": "Review the change made for this task.",
}
EXPECTED = {"plan": "a plan", "review": "a review verdict"}


def instruction(card: TaskCard, role: str, plan: str = "") -> str:
    """What the agent playing `role` is asked: the card, its files and tests, and the plan so far."""
    files = f"\n\nFiles: {', '.join(card.files)}" if card.files else ""
    tests = f"\n\nTests: `{card.tests}`" if card.tests else ""
    planned = f"\n\n## Plan\n\n{plan}" if plan and role != "plan" else ""
    return f"{ASKS[role]}\n\n# {card.title}\n\n{card.body}{files}{tests}{planned}"


def plan_of(result: Message | None, whole_plan: Path) -> str:
    """The planner's answer from its result, cut to what rides in every later prompt (with where
    the whole of it is); empty where the plan step did not complete."""
    if result is None or result.status is not TaskState.COMPLETED:
        return ""
    plan = next((a.content or "" for a in result.artifacts if a.kind == "report"), "").strip()
    if len(plan) > PLAN_IN_INSTRUCTION:
        cut = plan[:PLAN_IN_INSTRUCTION].rsplit("\n", 1)[0]
        plan = f"{cut}\n[... the plan is cut here; all of it: {whole_plan}]"
    return plan


def assignment(card: TaskCard, role: str, agent: str, attempt: int, ask: str, workspace: Workspace) -> Message:
    review = role == "review"
    return Message(
        msg_type=MsgType.REVIEW_REQUEST if review else MsgType.TASK_ASSIGNMENT,
        sender=COORDINATOR,
        to=agent,
        task_ref=card.task,
        attempt=attempt,
        context_refs=list(card.files),
        instruction=ask,
        constraints=["Work only inside the repository"],
        expected_output=EXPECTED.get(role, "committed code changes"),
        workspace=workspace,
        limits=Limits(timeout_s=card.timeout_s, max_cost_usd=card.max_cost_usd),
    )


def working(assigned: Message) -> Message:
    return Message(
        msg_type=MsgType.STATUS_UPDATE,
        sender=assigned.to,
        to=COORDINATOR,
        task_ref=assigned.task_ref,
        in_reply_to=assigned.msg_id,
        status=TaskState.WORKING,
    )


def step_result(
    assigned: Message,
    outcome: AgentOutcome,
    change: StepChange,
    usage: Usage,
    judged: tuple[TaskState, ErrorInfo | None],
    *,
    role: str,
    log_path: Path,
    summary: str,
) -> Message:
    """The result the agent hands back: its log, its change (diff, commit range, files), its
    answer, the ledger's usage, and the coordinator's verdict on it (`judge.py`)."""
    agent = assigned.to
    artifacts = [Artifact(kind="log", name=f"{agent}.log", path=str(log_path), content=outcome.log[-LOG_CAP:])]
    if change.stats:
        artifacts += [
            Artifact(kind="diff", name=f"{role}.diff", content=change.diff[: LOG_CAP * 5]),
            Artifact(kind="commit_range", name=role, ref=f"{change.base}..{change.head}"),
            *(Artifact(kind="file", name=s.path, content=s.counts) for s in change.stats),
        ]
    if outcome.report:
        artifacts.append(Artifact(kind="report", name=f"{role}.md", content=outcome.report[:PLAN_CAP]))
    review = assigned.msg_type is MsgType.REVIEW_REQUEST
    verdict = {"decision": outcome.verdict or "request_changes", "summary": summary}
    state, error = judged
    return Message(
        msg_type=MsgType.REVIEW_RESULT if review else MsgType.TASK_RESULT,
        sender=agent,
        to=COORDINATOR,
        task_ref=assigned.task_ref,
        in_reply_to=assigned.msg_id,
        attempt=assigned.attempt,
        status=state,
        artifacts=artifacts,
        usage=usage,
        error=error,
        verdict=ReviewVerdict.model_validate(verdict) if review else None,
    )
