"""The coordinator's own logic: journaling, judging from the repository, resuming. The agents
here are scripted drivers (the real Aider, Cline and OpenHands run in the integration tier)."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from src.agents.agent_coordinator import Coordinator
from src.agents.drivers.base import AgentOutcome, StepContext
from src.agents.journal import Journal
from src.agents.process import ProcessRunner, SubprocessRunner
from src.agents.report import write_reports
from src.agents.task_card import parse_card
from src.protocols.llm_protocol import MsgType, TaskState, Usage, parse_message
from src.router.core import task_keys

CARD = """---
task: greet
title: Add a greeting
repo: {repo}
files: [greet.py]
timeout_s: 60
agents: {{plan: script, implement: script, refine: script, fix: script, review: script}}
---
Write greet(name) returning "Hello, <name>!".
"""


class ScriptDriver:
    """Does to the worktree what a script says, per role; counts its calls."""

    name = "script"

    def __init__(self, actions: dict[str, Callable[[StepContext], AgentOutcome]]) -> None:
        self.actions = actions
        self.calls: list[str] = []

    def missing(self) -> str | None:
        return None

    def run(self, ctx: StepContext, runner: ProcessRunner) -> AgentOutcome:
        self.calls.append(ctx.role)
        claims = task_keys.read(ctx.api_key)  # minted per step, with an expiry: compare what it says
        assert claims is not None and claims.attribution == f"greet--{ctx.role}"
        return self.actions[ctx.role](ctx)


def write(name: str, text: str) -> Callable[[StepContext], AgentOutcome]:
    def act(ctx: StepContext) -> AgentOutcome:
        (ctx.worktree / name).write_text(text)
        return AgentOutcome(True, f"wrote {name}", "log")

    return act


def nothing(ctx: StepContext) -> AgentOutcome:
    return AgentOutcome(True, "said it was done", "log")


def plan(ctx: StepContext) -> AgentOutcome:
    return AgentOutcome(True, "planned", "log", report="1. add greet.py\n2. test it")


def review(ctx: StepContext) -> AgentOutcome:
    assert "greet.py" in ctx.diff  # the reviewer sees the task's whole change
    return AgentOutcome(True, "reviewed", "log", verdict="approve", report="Looks right. VERDICT: APPROVE")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    r = tmp_path / "repo"
    r.mkdir()
    for args in (["init", "-q", "-b", "main"], ["config", "user.email", "t@t"], ["config", "user.name", "t"]):
        subprocess.run(["git", *args], cwd=r, check=True)
    (r / "README.md").write_text("# demo\n")
    subprocess.run(["git", "add", "-A"], cwd=r, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "init"], cwd=r, check=True)
    return r


def coordinator(tmp_path: Path, driver: ScriptDriver) -> Coordinator:
    def usage(key: str) -> Usage:
        return Usage(prompt_tokens=10, completion_tokens=5, cost_usd=0.001, requests=1)

    return Coordinator(
        Journal(tmp_path / "work" / "journal.sqlite3"),
        router_url="http://127.0.0.1:9",
        workdir=tmp_path / "work",
        drivers={"script": driver},
        usage=usage,
        progress=lambda _: None,
    )


def test_a_card_goes_through_five_steps_judged_from_the_repository(repo: Path, tmp_path: Path) -> None:
    driver = ScriptDriver(
        {
            "plan": plan,
            "implement": write("greet.py", "def greet(n): return n\n"),
            "refine": write("greet.py", "def greet(n):\n    return f'Hello, {n}!'\n"),
            "fix": nothing,
            "review": review,
        }
    )
    coord = coordinator(tmp_path, driver)
    card = parse_card(CARD.format(repo=repo), source="card")
    coord.submit(card, CARD)
    report = coord.run(card)

    states = {s.role: s.state for s in report.steps}
    assert states == {
        "plan": TaskState.COMPLETED,
        "implement": TaskState.COMPLETED,
        "refine": TaskState.COMPLETED,
        "fix": TaskState.FAILED,
        "review": TaskState.COMPLETED,
    }
    fix = next(s for s in report.steps if s.role == "fix")
    assert fix.error is not None and fix.error.code == "no_changes" and fix.error.retryable
    assert report.state is TaskState.FAILED  # a step failed: the task is not done, whatever the review says
    assert next(s for s in report.steps if s.role == "review").verdict == "approve"
    # Work happened on the task's own branch in its own worktree; the main checkout is untouched.
    assert not (repo / "greet.py").exists()
    worktree = tmp_path / "work" / "worktrees" / "greet"
    assert (worktree / ".mllm" / "PLAN.md").read_text().startswith("# Plan for greet")
    branch = subprocess.run(["git", "branch", "--show-current"], cwd=worktree, capture_output=True, text=True)
    assert branch.stdout.strip() == "mllm/greet"
    # Every message in the journal validates, and each step has one assignment and one result.
    messages = coord.journal.messages("greet")
    for _, msg in messages:
        parse_message(msg.to_json())
    results = [(s, m) for s, m in messages if m.msg_type in (MsgType.TASK_RESULT, MsgType.REVIEW_RESULT)]
    assert [s for s, _ in results] == ["plan", "implement", "refine", "fix", "review"]
    assert all(m.usage is not None and m.usage.cost_usd == 0.001 for _, m in results)
    md, html = write_reports([report], tmp_path / "reports")
    assert "| fix | script | failed | 1 |" in md.read_text() and "<table>" in html.read_text()


def test_an_interrupted_step_is_rerun_from_its_base_and_finished_steps_are_not_repeated(
    repo: Path, tmp_path: Path
) -> None:
    def crash(ctx: StepContext) -> AgentOutcome:
        (ctx.worktree / "half-done.txt").write_text("partial work")
        raise KeyboardInterrupt  # the process dies mid-step

    first = ScriptDriver({"plan": plan, "implement": write("greet.py", "v1\n"), "refine": crash})
    card = parse_card(CARD.format(repo=repo), source="card")
    coord = coordinator(tmp_path, first)
    coord.submit(card, CARD)
    with pytest.raises(KeyboardInterrupt):
        coord.run(card)
    assert first.calls == ["plan", "implement", "refine"]

    second = ScriptDriver(
        {
            "plan": plan,
            "implement": write("greet.py", "v2\n"),
            "refine": write("greet.py", "v3\n"),
            "fix": write("greet.py", "v4\n"),
            "review": review,
        }
    )
    resumed = coordinator(tmp_path, second)
    report = resumed.run(card)
    assert second.calls == ["refine", "fix", "review"]  # plan and implement were not repeated
    worktree = tmp_path / "work" / "worktrees" / "greet"
    assert not (worktree / "half-done.txt").exists()  # the interrupted attempt's leftovers were reset
    refine = next(s for s in report.steps if s.role == "refine")
    assert refine.attempt == 2 and refine.state is TaskState.COMPLETED
    assert report.state is TaskState.COMPLETED
    steps = [
        s for s, m in resumed.journal.messages("greet") if m.msg_type in (MsgType.TASK_RESULT, MsgType.REVIEW_RESULT)
    ]
    assert steps == ["plan", "implement", "refine", "fix", "review"]  # none lost, none twice


def test_a_canceled_task_stops_before_its_next_step(repo: Path, tmp_path: Path) -> None:
    holder: dict[str, Coordinator] = {}

    def cancel_during_implement(ctx: StepContext) -> AgentOutcome:
        holder["c"].cancel("greet")
        (ctx.worktree / "greet.py").write_text("x\n")
        return AgentOutcome(True, "done", "log")

    driver = ScriptDriver({"plan": plan, "implement": cancel_during_implement})
    coord = holder["c"] = coordinator(tmp_path, driver)
    card = parse_card(CARD.format(repo=repo), source="card")
    coord.submit(card, CARD)
    report = coord.run(card)
    assert driver.calls == ["plan", "implement"]
    assert report.state is TaskState.CANCELED


def test_the_subprocess_runner_kills_the_whole_group_at_the_deadline(tmp_path: Path) -> None:
    # A sleep length no other process on the machine uses: pgrep then finds only this test's
    # children (a plain "sleep 30" also matched other people's processes).
    marker = f"sleep 30.{uuid.uuid4().int % 10**9:09d}"
    result = SubprocessRunner().run(
        ["sh", "-c", f"echo started; {marker} & {marker}"], cwd=tmp_path, env={"PATH": "/usr/bin:/bin"}, timeout_s=1
    )
    assert result.timed_out and result.returncode is None
    assert "started" in result.output
    leftover = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True)
    assert leftover.stdout.strip() == ""


def test_captured_output_is_capped_keeping_head_and_tail(tmp_path: Path) -> None:
    result = SubprocessRunner(output_cap=2000).run(
        ["python3", "-c", "print('FIRST'); [print('x' * 50) for _ in range(2000)]; print('LAST')"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin:/usr/local/bin:" + str(Path.home() / ".pyenv/shims")},
        timeout_s=30,
    )
    assert result.truncated and len(result.output) < 3000
    assert result.output.startswith("FIRST") and result.output.rstrip().endswith("LAST")


def test_agent_droppings_are_not_work(repo: Path, tmp_path: Path) -> None:
    def caches_only(ctx: StepContext) -> AgentOutcome:
        (ctx.worktree / ".aider.tags.cache.v4").mkdir()
        (ctx.worktree / ".aider.tags.cache.v4" / "cache.db").write_bytes(b"sqlite")
        (ctx.worktree / "__pycache__").mkdir()
        (ctx.worktree / "__pycache__" / "greet.cpython-311.pyc").write_bytes(b"\0")
        return AgentOutcome(True, "said it was done", "log")

    driver = ScriptDriver(
        {
            "plan": plan,
            "implement": caches_only,
            "refine": nothing,
            "fix": nothing,
            "review": lambda ctx: AgentOutcome(True, "r", "log", verdict="reject"),
        }
    )
    coord = coordinator(tmp_path, driver)
    card = parse_card(CARD.format(repo=repo), source="card")
    coord.submit(card, CARD)
    report = coord.run(card)
    implement = next(s for s in report.steps if s.role == "implement")
    assert implement.state is TaskState.FAILED and implement.error is not None
    assert implement.error.code == "no_changes"
