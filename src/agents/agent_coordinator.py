"""The coordinator: a task card through five steps, each an assignment to a role bound to an agent.

    plan (Claude Code) -> implement (OpenHands) -> refine (Aider) -> fix (Cline) -> review (Claude Code)

Plan and review fall back to a router-only step when Claude Code is not installed or the router
has no `/v1/messages`. Each task works in its own git worktree and branch (`mllm/<task>`), in the
coordinator's work folder (`workspace.py`), never inside the user's repository. Every handoff is
a validated message appended to the journal *before* it takes effect; `resume` continues from the
journal after a crash or kill -9 without repeating a finished step (an interrupted step is reset
to its base commit and run again as attempt 2). Only the agent's change to the user's files is
committed — never the agents' own files, never a key. A step is judged (`judge.py`) from the
repository and from the router's ledger under the step's own key, never from an exit code alone.

    python -m src.agents.agent_coordinator run templates/task_card.md
    python -m src.agents.agent_coordinator status
    python -m src.agents.agent_coordinator resume TASK
    python -m src.agents.agent_coordinator cancel TASK
    python -m src.agents.agent_coordinator nightly QUEUE_DIR

Settings: ROUTER_URL (default http://127.0.0.1:5000), COORDINATOR_DIR (the work folder; default
var/coordinator in this project), COORDINATOR_REVIEW_WINDOW (tokens the reviewing model can take
where the router cannot say which models would review: default 8192, the embedded model's window).
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from src.agents import handoffs
from src.agents.diffs import CHARS_PER_TOKEN, bound_diff, diff_budget_chars
from src.agents.drivers import builtin_drivers
from src.agents.drivers.base import AgentDriver, AgentOutcome, StepContext
from src.agents.git_worktree import (
    SecretInChange,
    change_since,
    commit_all,
    committed_keys,
    ensure_worktree,
    head,
    reset_to,
)
from src.agents.journal import Journal
from src.agents.judge import judge
from src.agents.process import ProcessRunner, SubprocessRunner
from src.agents.report import StepReport, TaskReport
from src.agents.router_client import UsageFetcher, messages_api, review_window, router_usage, usage_since
from src.agents.secrets import known_secrets, scrubbed_env
from src.agents.task_card import DEFAULT_AGENTS, FALLBACK_AGENT, ROLES, TaskCard, card_text
from src.agents.workspace import WorkFolder, check_outside, repo_root
from src.protocols.llm_protocol import (
    Message,
    MsgType,
    TaskState,
    Usage,
    Workspace,
)
from src.router.core import task_keys

DROPPED = ("no_changes", "no_model_calls")  # a step that failed so leaves nothing on the branch
REVIEW_RESERVED_TOKENS = 3500  # a reviewer's system prompt and tools (Claude Code's are ~2k) and its answer


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


class Coordinator:
    def __init__(
        self,
        journal: Journal,
        *,
        router_url: str,
        work: WorkFolder,
        runner: ProcessRunner | None = None,
        drivers: Mapping[str, AgentDriver] | None = None,
        usage: UsageFetcher | None = None,
        anthropic_api: Callable[[str], str | None] | None = None,
        review_window_tokens: int = 8192,
        windows: Callable[[str, str], int | None] | None = None,
        progress: Callable[[str], None] = lambda line: print(line, flush=True),
    ) -> None:
        self.journal = journal
        self.router_url = router_url.rstrip("/")
        self.work = work
        self.runner = runner or SubprocessRunner()
        self.drivers = dict(drivers or builtin_drivers())
        self.usage = usage or router_usage(self.router_url)
        self._anthropic_api = anthropic_api or (lambda key: messages_api(self.router_url, key)())
        self._anthropic_problem: dict[str, str | None] = {}
        self.review_window_tokens = review_window_tokens
        # (key, model) -> the largest window the router would use for the model; None: unknown.
        self._windows = windows or (lambda key, model: review_window(self.router_url, key, model))
        self.progress = progress

    # -- entry points ---------------------------------------------------------------------------
    def prepare(self, card: TaskCard, *, cwd: Path | None = None, source: str = "card") -> TaskCard:
        """The card with its repository made absolute (the top of its git repository), checked
        against the work folder. Raises WorkspaceError."""
        repo = repo_root(card.repo, cwd, source=source)
        check_outside(self.work, repo)
        return card.model_copy(update={"repo": str(repo)})

    def submit(self, card: TaskCard) -> None:
        self.journal.add_task(card.task, card_text(card))

    def run(self, card: TaskCard) -> TaskReport:
        state = self.journal.task_state(card.task)
        if state is not None and state.terminal:
            self.progress(f"[{card.task}] already {state.value}")
            return self.report(card)
        repo = Path(card.repo)
        worktree, branch = ensure_worktree(repo, self.work.worktree(card.task), card.task, card.base_ref)
        for role in ROLES:
            if self.journal.task_state(card.task) is TaskState.CANCELED:
                self.progress(f"[{card.task}] canceled; stopping before {role}")
                return self.report(card)
            self._step(card, role, repo, worktree, branch)
        self._finish(card, worktree)
        return self.report(card)

    def cancel(self, task: str, reason: str = "canceled by the user") -> None:
        self.journal.append(
            Message(msg_type=MsgType.CANCEL, sender="user", to=handoffs.COORDINATOR, task_ref=task, instruction=reason),
            step="task",
        )
        self.journal.set_task_state(task, TaskState.CANCELED)

    def agent_for(self, card: TaskCard, role: str) -> tuple[str, str]:
        """The agent for a role, and why the default was not used (or ""). Claude Code, the
        default planner and reviewer, needs its CLI and the router's /v1/messages; without
        either the router-only step stands in. A card that names an agent gets that agent."""
        if role in card.agents:
            return card.agents[role], ""
        agent = DEFAULT_AGENTS[role]
        if agent != "claude":
            return agent, ""
        driver = self.drivers.get(agent)
        why = "no Claude Code driver" if driver is None else driver.missing()
        if why is None:
            key = task_key(card.task, role)
            if key not in self._anthropic_problem:
                self._anthropic_problem[key] = self._anthropic_api(key)
            why = self._anthropic_problem[key]
        return (FALLBACK_AGENT, f"Claude Code not used: {why}") if why else (agent, "")

    # -- one step -------------------------------------------------------------------------------
    def _step(self, card: TaskCard, role: str, repo: Path, worktree: Path, branch: str) -> None:
        record = self.journal.step(card.task, role)
        if record.result is not None:
            done = record.result.status.value if record.result.status else "?"
            self.progress(f"[{card.task}] {role}: done earlier ({done}) - not repeated")
            return
        agent, fallback = self.agent_for(card, role)
        if fallback:
            self.progress(f"[{card.task}] {role}: {fallback}; using the {agent} step")
        driver = self.drivers.get(agent)
        if record.assignments:
            # Interrupted mid-step (crash, kill -9): back to the step's base, then run it again.
            last = [
                m
                for s, m in self.journal.messages(card.task)
                if s == role and m.msg_type in (MsgType.TASK_ASSIGNMENT, MsgType.REVIEW_REQUEST)
            ][-1]
            if last.workspace is not None:
                reset_to(worktree, last.workspace.base_ref)
        base = head(worktree)
        # The key dies soon after the step's deadline; the card's cost cap is the router's to enforce.
        key = task_key(card.task, role, max_cost_usd=card.max_cost_usd, ttl_s=card.timeout_s + 600)
        is_review = role == "review"
        workspace = Workspace(repo=str(repo), base_ref=base, branch=branch, worktree=str(worktree))
        ask = handoffs.instruction(card, role, self._plan(card.task))
        assignment = handoffs.assignment(card, role, agent, record.assignments + 1, ask, workspace)
        self.journal.append(assignment, step=role)
        if self.journal.task_state(card.task) is TaskState.SUBMITTED:
            self.journal.set_task_state(card.task, TaskState.WORKING)
        self.journal.append(handoffs.working(assignment), step=role)
        self.progress(f"[{card.task}] {role}: {agent} working (attempt {assignment.attempt})")

        log_dir = self.work.step_logs(card.task, role, assignment.attempt)
        log_dir.mkdir(parents=True, exist_ok=True)
        before = self.usage(key)
        started = time.monotonic()
        why = f"unknown agent {agent!r} (known: {', '.join(self.drivers)})" if driver is None else driver.missing()
        if driver is None or why:
            outcome = AgentOutcome(False, f"agent unavailable: {why}", "")
        else:
            diff, note = self._review_diff(card, worktree, assignment.instruction or "", key) if is_review else ("", "")
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
                diff=diff,
                diff_note=note,
                max_output_tokens=card.max_output_tokens,
            )
            outcome = driver.run(ctx, self.runner)
        (log_dir / "agent.log").write_text(outcome.log)
        if role == "plan" and outcome.report:
            (self.work.task_logs(card.task) / "PLAN.md").write_text(
                f"# Plan for {card.task}: {card.title}\n\n{outcome.report.strip()}\n"
            )
        leaked = self._commit(worktree, base, f"{card.task}: {role} by {agent}", key)
        change = change_since(worktree, base)
        usage = usage_since(before, self.usage(key), duration_s=time.monotonic() - started)
        state, error = judge(
            role,
            outcome,
            substantive=change.changed,
            files=change.files,
            model_calls=usage.requests,
            leaked=leaked,
        )
        if error is not None and error.code in DROPPED and change.stats:
            # What a step that did no work left (empty files, edits made without a model) is not
            # kept on the task branch: the next step starts from where this one started.
            reset_to(worktree, base)
            error = error.model_copy(update={"message": f"{error.message} (dropped: {', '.join(change.files)})"})
            change = change_since(worktree, base)
        summary = f"{fallback}; {outcome.summary}" if fallback else outcome.summary
        result = handoffs.step_result(
            assignment,
            outcome,
            change,
            usage,
            (state, error),
            role=role,
            log_path=log_dir / "agent.log",
            summary=summary,
        )
        self.journal.append(result, step=role)
        models = ", ".join(f"{m} x{n}" for m, n in usage.models.items()) or "no model"
        self.progress(
            f"[{card.task}] {role}: {state.value} - {outcome.summary} "
            f"({len(change.files)} files, {usage.requests} model calls ({models}), ${usage.cost_usd:.4f})"
            + (f" [{error.code}]" if error else "")
        )

    def _commit(self, worktree: Path, base: str, message: str, key: str) -> list[str] | None:
        """Commit the agent's change; if it (or a commit the agent made itself) adds a key,
        drop the whole step's change and say where the key was."""
        known = known_secrets(os.environ, key)
        try:
            commit_all(worktree, message, known_keys=known)
            leaked = committed_keys(worktree, base, known_keys=known)
        except SecretInChange as exc:
            leaked = exc.findings
        if leaked:
            reset_to(worktree, base)
            return leaked
        return None

    def _review_diff(self, card: TaskCard, worktree: Path, instruction: str, key: str) -> tuple[str, str]:
        """The task's whole change, cut to fit the largest window among the models the router
        would review it with (the router then skips those too small), and what was cut; the
        configured window where the router cannot say."""
        change = change_since(worktree, self._task_base(card.task, worktree))
        reserved = REVIEW_RESERVED_TOKENS + int(len(instruction) / CHARS_PER_TOKEN)
        window = self._windows(key, card.model_for("review")) or self.review_window_tokens
        bounded = bound_diff(change.diff, diff_budget_chars(window, reserved))
        return bounded.text, bounded.note

    def _plan(self, task: str) -> str:
        return handoffs.plan_of(self.journal.step(task, "plan").result, self.work.task_logs(task) / "PLAN.md")

    def _task_base(self, task: str, worktree: Path) -> str:
        for step, msg in self.journal.messages(task):
            if step == "plan" and msg.workspace is not None:
                return msg.workspace.base_ref
        return head(worktree)

    def _finish(self, card: TaskCard, worktree: Path) -> None:
        if card.tests:
            # The card's command runs without the router's, LiteLLM's or any other key.
            try:
                result = self.runner.run(
                    shlex.split(card.tests), cwd=worktree, env=scrubbed_env(), timeout_s=card.timeout_s
                )
                verdict = "passed" if result.returncode == 0 else f"failed (exit {result.returncode})"
                output = result.output
            except OSError as exc:
                verdict, output = f"could not run ({exc})", ""
            (self.work.task_logs(card.task) / "tests.log").write_text(f"$ {card.tests}\n{verdict}\n{output}")
        steps = [self.journal.step(card.task, role).result for role in ROLES]
        review = steps[-1]
        done = all(s is not None and s.status is TaskState.COMPLETED for s in steps)
        approved = review is not None and review.verdict is not None and review.verdict.decision == "approve"
        final = TaskState.COMPLETED if done and approved else TaskState.FAILED
        if self.journal.task_state(card.task) is not TaskState.CANCELED:
            self.journal.set_task_state(card.task, final)
        self.progress(f"[{card.task}] {final.value}")

    # -- reporting ------------------------------------------------------------------------------
    def report(self, card: TaskCard, *, with_diff: bool = True) -> TaskReport:
        steps: list[StepReport] = []
        for role in ROLES:
            record = self.journal.step(card.task, role)
            msg = record.result
            if msg is None:
                steps.append(StepReport(role, card.agent_for(role), TaskState.SUBMITTED, record.assignments, "not run"))
                continue
            steps.append(
                StepReport(
                    role,
                    msg.sender,
                    msg.status or TaskState.FAILED,
                    msg.attempt,
                    msg.error.message if msg.error else (msg.verdict.summary if msg.verdict else "ok"),
                    files=[f"{a.name} ({a.content})" for a in msg.artifacts if a.kind == "file"],
                    commits=sum(1 for a in msg.artifacts if a.kind == "commit_range"),
                    usage=msg.usage or Usage(),
                    error=msg.error,
                    verdict=msg.verdict.decision if msg.verdict else None,
                )
            )
        worktree = self.work.worktree(card.task)
        diff = ""
        if with_diff and (worktree / ".git").exists():
            diff = change_since(worktree, self._task_base(card.task, worktree)).diff
        tests_log = self.work.task_logs(card.task) / "tests.log"
        return TaskReport(
            card.task,
            card.title,
            self.journal.task_state(card.task) or TaskState.SUBMITTED,
            f"mllm/{card.task}",
            steps,
            diff,
            tests_log.read_text()[:2000] if tests_log.exists() else None,
        )


if __name__ == "__main__":
    from src.agents.cli import main  # the command line lives in cli.py; this is the documented entry

    sys.exit(main())
