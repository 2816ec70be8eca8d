"""The coordinator: a task card through five steps, each an assignment to a role bound to an agent.

    plan (router, strong model) -> implement (OpenHands) -> refine (Aider) -> fix (Cline)
    -> review (router, strong model)

Each task works in its own git worktree and branch. Every handoff is a validated message
appended to the journal *before* it takes effect; `resume` continues from the journal after a
crash or kill -9 without repeating a finished step (an interrupted step is reset to its base
commit and run again as attempt 2). Success is judged from the repository and the agent's own
output, never from an exit code alone: a code step that changes nothing fails with
`no_changes`. Each step calls the router with its own key, so the router's ledger knows each
step's tokens and cost.

    python -m src.agents.agent_coordinator run templates/task_card.md
    python -m src.agents.agent_coordinator status
    python -m src.agents.agent_coordinator resume TASK
    python -m src.agents.agent_coordinator cancel TASK
    python -m src.agents.agent_coordinator nightly QUEUE_DIR
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from src.agents.drivers import builtin_drivers
from src.agents.drivers.base import AgentDriver, AgentOutcome, StepContext
from src.agents.git_worktree import change_since, commit_all, ensure_worktree, git, head
from src.agents.journal import Journal
from src.agents.process import ProcessRunner, SubprocessRunner
from src.agents.report import write_reports
from src.agents.task_card import ROLES, TaskCard, load_card, parse_card
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
from src.router.core import task_keys

COORDINATOR = "coordinator"
CODE_ROLES = ("implement", "refine", "fix")
LOG_CAP = 4000  # characters of an agent's log kept inline in a message


def task_key(
    task: str,
    role: str,
    router_key: str | None = None,
    *,
    max_cost_usd: float | None = None,
    models: tuple[str, ...] | None = None,
    ttl_s: float = task_keys.DEFAULT_TTL_S,
) -> str:
    """The router key for one step (format: `src/router/core/task_keys.py`), signed with the router
    key (ROUTER_API_KEYS) when the router requires keys: the router attributes the step's usage
    to `<task>--<role>`, and enforces its expiry, models and the task's spend ceiling."""
    key = router_key if router_key is not None else task_keys.router_key_from_env(os.environ)
    return task_keys.mint(key, task, role, models=models, max_cost_usd=max_cost_usd, ttl_s=ttl_s)


@dataclass
class StepReport:
    role: str
    agent: str
    state: TaskState
    attempt: int
    summary: str
    files: list[str] = field(default_factory=list)
    commits: int = 0
    usage: Usage = field(default_factory=Usage)
    error: ErrorInfo | None = None
    verdict: str | None = None


@dataclass
class TaskReport:
    task: str
    title: str
    state: TaskState
    branch: str
    steps: list[StepReport]
    diff: str = ""
    tests: str | None = None


UsageFetcher = Callable[[str], Usage]


def router_usage(router_url: str) -> UsageFetcher:
    """Per-step usage from the router's ledger (GET /v1/usage?task_key=...)."""

    def fetch(key: str) -> Usage:
        try:
            router_key = task_keys.router_key_from_env(os.environ)
            claims = task_keys.read(key)
            resp = httpx.get(
                f"{router_url.rstrip('/')}/v1/usage",
                params={"task_key": claims.attribution if claims else key},
                headers={"Authorization": f"Bearer {router_key}"} if router_key else {},
                timeout=10,
            )
            data = resp.json() if resp.status_code == 200 else {}
        except httpx.HTTPError:
            data = {}
        return Usage(
            prompt_tokens=int(data.get("prompt_tokens", 0)),
            completion_tokens=int(data.get("completion_tokens", 0)),
            cost_usd=float(data.get("cost_usd", 0.0)),
            requests=int(data.get("requests", 0)),
        )

    return fetch


class Coordinator:
    def __init__(
        self,
        journal: Journal,
        *,
        router_url: str,
        workdir: Path,
        runner: ProcessRunner | None = None,
        drivers: Mapping[str, AgentDriver] | None = None,
        usage: UsageFetcher | None = None,
        progress: Callable[[str], None] = lambda line: print(line, flush=True),
    ) -> None:
        self.journal = journal
        self.router_url = router_url.rstrip("/")
        self.workdir = workdir
        self.runner = runner or SubprocessRunner()
        self.drivers = dict(drivers or builtin_drivers())
        self.usage = usage or router_usage(self.router_url)
        self.progress = progress

    # -- entry points ---------------------------------------------------------------------------
    def submit(self, card: TaskCard, card_text: str) -> None:
        self.journal.add_task(card.task, card_text)

    def run(self, card: TaskCard) -> TaskReport:
        state = self.journal.task_state(card.task)
        if state is not None and state.terminal:
            self.progress(f"[{card.task}] already {state.value}")
            return self.report(card)
        repo = Path(card.repo).resolve()
        worktree, branch = ensure_worktree(repo, self.workdir / "worktrees", card.task, card.base_ref)
        for role in ROLES:
            if self.journal.task_state(card.task) is TaskState.CANCELED:
                self.progress(f"[{card.task}] canceled; stopping before {role}")
                return self.report(card)
            self._step(card, role, repo, worktree, branch)
        self._finish(card, worktree)
        return self.report(card)

    def cancel(self, task: str, reason: str = "canceled by the user") -> None:
        self.journal.append(
            Message(msg_type=MsgType.CANCEL, sender="user", to=COORDINATOR, task_ref=task, instruction=reason),
            step="task",
        )
        self.journal.set_task_state(task, TaskState.CANCELED)

    # -- one step -------------------------------------------------------------------------------
    def _step(self, card: TaskCard, role: str, repo: Path, worktree: Path, branch: str) -> None:
        record = self.journal.step(card.task, role)
        if record.result is not None:
            self.progress(
                f"[{card.task}] {role}: done earlier ({record.result.status.value if record.result.status else '?'})"
                " - not repeated"
            )
            return
        agent = card.agent_for(role)
        driver = self.drivers.get(agent)
        if record.assignments:
            # Interrupted mid-step (crash, kill -9): back to the step's base, then run it again.
            last = [
                m
                for s, m in self.journal.messages(card.task)
                if s == role and m.msg_type in (MsgType.TASK_ASSIGNMENT, MsgType.REVIEW_REQUEST)
            ][-1]
            if last.workspace is not None:
                git(worktree, "reset", "-q", "--hard", last.workspace.base_ref)
                git(worktree, "clean", "-qfd")
        base = head(worktree)
        # The key dies soon after the step's deadline; the card's cost cap is the router's to enforce.
        key = task_key(card.task, role, max_cost_usd=card.max_cost_usd, ttl_s=card.timeout_s + 600)
        is_review = role == "review"
        assignment = Message(
            msg_type=MsgType.REVIEW_REQUEST if is_review else MsgType.TASK_ASSIGNMENT,
            sender=COORDINATOR,
            to=agent,
            task_ref=card.task,
            attempt=record.assignments + 1,
            context_refs=[*card.files, *([".mllm/PLAN.md"] if role != "plan" else [])],
            instruction=self._instruction(card, role),
            constraints=["Work only inside the repository"],
            expected_output="a review verdict"
            if is_review
            else "a plan"
            if role == "plan"
            else "committed code changes",
            workspace=Workspace(repo=str(repo), base_ref=base, branch=branch, worktree=str(worktree)),
            limits=Limits(timeout_s=card.timeout_s, max_cost_usd=card.max_cost_usd),
        )
        self.journal.append(assignment, step=role)
        if self.journal.task_state(card.task) is TaskState.SUBMITTED:
            self.journal.set_task_state(card.task, TaskState.WORKING)
        self.journal.append(
            Message(
                msg_type=MsgType.STATUS_UPDATE,
                sender=agent,
                to=COORDINATOR,
                task_ref=card.task,
                in_reply_to=assignment.msg_id,
                status=TaskState.WORKING,
            ),
            step=role,
        )
        self.progress(f"[{card.task}] {role}: {agent} working (attempt {assignment.attempt})")

        log_dir = self.workdir / "logs" / card.task / f"{role}-{assignment.attempt}"
        log_dir.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        why = f"unknown agent {agent!r} (known: {', '.join(self.drivers)})" if driver is None else driver.missing()
        if driver is None or why:
            outcome = AgentOutcome(False, f"agent unavailable: {why}", "")
        else:
            ctx = StepContext(
                task=card.task,
                step=role,
                role=role,
                worktree=worktree,
                log_dir=log_dir,
                instruction=assignment.instruction or "",
                router_base=f"{self.router_url}/v1",
                api_key=key,
                model=card.model_for(role),
                timeout_s=card.timeout_s,
                files=card.files,
                diff=change_since(worktree, self._task_base(card.task, worktree)).diff if is_review else "",
            )
            outcome = driver.run(ctx, self.runner)
        (log_dir / "agent.log").write_text(outcome.log)
        if role == "plan" and outcome.report:
            plan = worktree / ".mllm" / "PLAN.md"
            plan.parent.mkdir(exist_ok=True)
            plan.write_text(f"# Plan for {card.task}: {card.title}\n\n{outcome.report.strip()}\n")
        commit_all(worktree, f"{card.task}: {role} by {agent}")
        change = change_since(worktree, base)
        state, error = self._judge(role, outcome, change.changed)
        usage = self.usage(key).model_copy(update={"duration_s": round(time.monotonic() - started, 3)})
        artifacts = [
            Artifact(kind="log", name=f"{agent}.log", path=str(log_dir / "agent.log"), content=outcome.log[-LOG_CAP:])
        ]
        if change.changed:
            artifacts += [
                Artifact(kind="diff", name=f"{role}.diff", content=change.diff),
                Artifact(kind="commit_range", name=role, ref=f"{change.base}..{change.head}"),
            ]
        if outcome.report:
            artifacts.append(Artifact(kind="report", name=f"{role}.md", content=outcome.report[:LOG_CAP]))
        result = Message(
            msg_type=MsgType.REVIEW_RESULT if is_review else MsgType.TASK_RESULT,
            sender=agent,
            to=COORDINATOR,
            task_ref=card.task,
            in_reply_to=assignment.msg_id,
            attempt=assignment.attempt,
            status=state,
            artifacts=artifacts,
            usage=usage,
            error=error,
            verdict=ReviewVerdict.model_validate(
                {"decision": outcome.verdict or "request_changes", "summary": outcome.summary}
            )
            if is_review
            else None,
        )
        self.journal.append(result, step=role)
        self.progress(
            f"[{card.task}] {role}: {state.value} - {outcome.summary} "
            f"({len(change.files)} files, {usage.requests} model calls, ${usage.cost_usd:.4f})"
            + (f" [{error.code}]" if error else "")
        )

    def _judge(self, role: str, outcome: AgentOutcome, changed: bool) -> tuple[TaskState, ErrorInfo | None]:
        if outcome.timed_out:
            return TaskState.FAILED, ErrorInfo(code="timeout", message=outcome.summary, retryable=True)
        if role in CODE_ROLES:
            if not changed:
                return TaskState.FAILED, ErrorInfo(
                    code="no_changes",
                    message=f"the repository did not change; agent said: {outcome.summary}",
                    retryable=True,
                )
            if not outcome.agent_ok:
                return TaskState.FAILED, ErrorInfo(code="agent_failed", message=outcome.summary, retryable=True)
            return TaskState.COMPLETED, None
        if not outcome.agent_ok:
            return TaskState.FAILED, ErrorInfo(code="agent_failed", message=outcome.summary, retryable=True)
        return TaskState.COMPLETED, None

    def _instruction(self, card: TaskCard, role: str) -> str:
        plan = "" if role == "plan" else "\n\nThe plan is in .mllm/PLAN.md."
        ask = {
            "plan": "Write the implementation plan for this task.",
            "implement": "Implement this task in the repository.",
            "refine": "Refine the implementation of this task: fix what is incomplete or wrong.",
            "fix": "Make the smallest fixes needed so the task is done and the tests pass.",
            "review": "Review the change made for this task.",
        }[role]
        files = f"\n\nFiles: {', '.join(card.files)}" if card.files else ""
        tests = f"\n\nTests: `{card.tests}`" if card.tests else ""
        return f"{ask}\n\n# {card.title}\n\n{card.body}{files}{tests}{plan}"

    def _task_base(self, task: str, worktree: Path) -> str:
        for step, msg in self.journal.messages(task):
            if step == "plan" and msg.workspace is not None:
                return msg.workspace.base_ref
        return head(worktree)

    def _finish(self, card: TaskCard, worktree: Path) -> None:
        if card.tests:
            result = self.runner.run(
                shlex.split(card.tests), cwd=worktree, env=dict(os.environ), timeout_s=card.timeout_s
            )
            verdict = "passed" if result.returncode == 0 else f"failed (exit {result.returncode})"
            (self.workdir / "logs" / card.task / "tests.log").write_text(f"$ {card.tests}\n{verdict}\n{result.output}")
        steps = [self.journal.step(card.task, role).result for role in ROLES]
        review = steps[-1]
        done = all(s is not None and s.status is TaskState.COMPLETED for s in steps)
        approved = review is not None and review.verdict is not None and review.verdict.decision == "approve"
        final = TaskState.COMPLETED if done and approved else TaskState.FAILED
        if self.journal.task_state(card.task) is not TaskState.CANCELED:
            self.journal.set_task_state(card.task, final)
        self.progress(f"[{card.task}] {final.value}")

    # -- reporting ------------------------------------------------------------------------------
    def report(self, card: TaskCard) -> TaskReport:
        steps: list[StepReport] = []
        for role in ROLES:
            record = self.journal.step(card.task, role)
            msg = record.result
            if msg is None:
                steps.append(StepReport(role, card.agent_for(role), TaskState.SUBMITTED, record.assignments, "not run"))
                continue
            files = [a.name for a in msg.artifacts if a.kind == "diff"]
            commit_ranges = [a.ref for a in msg.artifacts if a.kind == "commit_range"]
            steps.append(
                StepReport(
                    role,
                    msg.sender,
                    msg.status or TaskState.FAILED,
                    msg.attempt,
                    msg.error.message if msg.error else (msg.verdict.summary if msg.verdict else "ok"),
                    files=files,
                    commits=len(commit_ranges),
                    usage=msg.usage or Usage(),
                    error=msg.error,
                    verdict=msg.verdict.decision if msg.verdict else None,
                )
            )
        worktree = self.workdir / "worktrees" / card.task
        diff = ""
        if (worktree / ".git").exists():
            diff = change_since(worktree, self._task_base(card.task, worktree)).diff
        tests_log = self.workdir / "logs" / card.task / "tests.log"
        return TaskReport(
            card.task,
            card.title,
            self.journal.task_state(card.task) or TaskState.SUBMITTED,
            f"mllm/{card.task}",
            steps,
            diff,
            tests_log.read_text()[:2000] if tests_log.exists() else None,
        )


# -- command line ---------------------------------------------------------------------------------
def _coordinator(args: argparse.Namespace) -> Coordinator:
    workdir = Path(args.workdir)
    return Coordinator(Journal(workdir / "journal.sqlite3"), router_url=args.router, workdir=workdir)


def _card_for(coord: Coordinator, task: str) -> TaskCard:
    text = coord.journal.card(task)
    if text is None:
        raise SystemExit(f"no task {task!r} in the journal")
    return parse_card(text, source=f"journal:{task}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m src.agents.agent_coordinator",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--router", default=os.environ.get("ROUTER_URL", "http://127.0.0.1:5000"))
    parser.add_argument("--workdir", default=os.environ.get("COORDINATOR_DIR", "var/coordinator"))
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run").add_argument("card", type=Path)
    sub.add_parser("status")
    sub.add_parser("resume").add_argument("task")
    sub.add_parser("cancel").add_argument("task")
    nightly = sub.add_parser("nightly")
    nightly.add_argument("queue", type=Path, help="a folder of task cards (*.md), run in name order")
    nightly.add_argument("--report-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    coord = _coordinator(args)
    if args.command == "status":
        for task, state, updated in coord.journal.tasks():
            print(f"{task:<32} {state.value:<15} {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(updated))}")
        return 0
    if args.command == "cancel":
        coord.cancel(args.task)
        print(f"{args.task}: canceled")
        return 0
    if args.command == "resume":
        report = coord.run(_card_for(coord, args.task))
        write_reports([report], Path(args.workdir) / "reports")
        return 0 if report.state is TaskState.COMPLETED else 1
    if args.command == "run":
        text = args.card.read_text()
        card = load_card(args.card)
        coord.submit(card, text)
        report = coord.run(card)
        paths = write_reports([report], Path(args.workdir) / "reports")
        print(f"report: {paths[0]}")
        return 0 if report.state is TaskState.COMPLETED else 1
    cards = sorted(args.queue.glob("*.md"))
    reports = []
    for path in cards:
        card = load_card(path)
        coord.submit(card, path.read_text())
        reports.append(coord.run(card))
        write_reports(reports, args.report_dir or Path(args.workdir) / "reports")  # progress after each task
    paths = write_reports(reports, args.report_dir or Path(args.workdir) / "reports")
    print(f"nightly: {len(reports)} task(s); report {paths[0]} and {paths[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
