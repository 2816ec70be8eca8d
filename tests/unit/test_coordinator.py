"""The coordinator's own logic: journaling, judging from the repository and the ledger, resuming.
The agents here are scripted drivers and the ledger a counter of the calls they say they made
(the real Aider, Cline, OpenHands and Claude Code, and the real router, run in the integration
tier)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from src.agents.agent_coordinator import Coordinator
from src.agents.drivers.base import AgentOutcome, StepContext
from src.agents.journal import Journal
from src.agents.process import ProcessRunner, SubprocessRunner
from src.agents.report import StepReport, TaskReport, write_reports
from src.agents.task_card import TaskCard, parse_card
from src.agents.workspace import WorkFolder
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


class Ledger:
    """Stands in for the router's ledger: what each step key has used, cumulative, by model."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}

    def record(self, key: str) -> None:
        self.calls[key] = self.calls.get(key, 0) + 1

    def usage(self, key: str) -> Usage:
        n = self.calls.get(key, 0)
        return Usage(
            prompt_tokens=10 * n, completion_tokens=5 * n, cost_usd=0.001 * n, requests=n, models={"local-small": n}
        )


class ScriptDriver:
    """Does to the worktree what a script says, per role; counts its runs. Each run makes one
    model call under the step's key unless the role is in `silent`."""

    name = "script"

    def __init__(
        self, actions: dict[str, Callable[[StepContext], AgentOutcome]], *, silent: tuple[str, ...] = ()
    ) -> None:
        self.actions = actions
        self.calls: list[str] = []
        self.ledger = Ledger()
        self.silent = silent
        self.instructions: dict[str, str] = {}

    def missing(self) -> str | None:
        return None

    def run(self, ctx: StepContext, runner: ProcessRunner) -> AgentOutcome:
        self.calls.append(ctx.role)
        self.instructions[ctx.role] = ctx.instruction
        claims = task_keys.read(ctx.api_key)  # minted per step, with an expiry: compare what it says
        assert claims is not None and claims.attribution == f"greet--{ctx.role}"
        if ctx.role not in self.silent:
            self.ledger.record(ctx.api_key)
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


def review_any(ctx: StepContext) -> AgentOutcome:
    return AgentOutcome(True, "reviewed", "log", verdict="request_changes", report="VERDICT: REQUEST_CHANGES")


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


def coordinator(
    tmp_path: Path, driver: ScriptDriver, ledger: Ledger | None = None, window: int | None = None
) -> Coordinator:
    work = WorkFolder(tmp_path / "work")
    return Coordinator(
        Journal(work.journal),
        router_url="http://127.0.0.1:9",
        work=work,
        drivers={"script": driver},
        usage=(ledger or driver.ledger).usage,
        windows=lambda key, model: window,
        progress=lambda _: None,
    )


def submit(coord: Coordinator, repo: Path, card_text: str = CARD) -> TaskCard:
    card = coord.prepare(parse_card(card_text.format(repo=repo), source="card"))
    coord.submit(card)
    return card


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
    card = submit(coord, repo)
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
    # The plan reached the later steps in their instructions, and is kept in the work folder.
    assert "1. add greet.py" in driver.instructions["implement"]
    assert (tmp_path / "work" / "logs" / "greet" / "PLAN.md").read_text().startswith("# Plan for greet")
    branch = subprocess.run(["git", "branch", "--show-current"], cwd=worktree, capture_output=True, text=True)
    assert branch.stdout.strip() == "mllm/greet"
    assert tracked(repo, "mllm/greet") == ["README.md", "greet.py"]  # no plan, log or agent file on the branch
    # Every message in the journal validates, and each step has one assignment and one result.
    messages = coord.journal.messages("greet")
    for _, msg in messages:
        parse_message(msg.to_json())
    results = [(s, m) for s, m in messages if m.msg_type in (MsgType.TASK_RESULT, MsgType.REVIEW_RESULT)]
    assert [s for s, _ in results] == ["plan", "implement", "refine", "fix", "review"]
    assert all(m.usage is not None and m.usage.cost_usd == 0.001 for _, m in results)
    assert all(m.usage is not None and m.usage.models == {"local-small": 1} for _, m in results)
    md, html = write_reports([report], tmp_path / "reports")
    assert "| refine | script | completed | 1 | greet.py (+2 -1) | local-small ×1 | 1 | 15 |" in md.read_text()
    assert "| fix | script | failed | 1 | — | local-small ×1 |" in md.read_text() and "<table>" in html.read_text()


def test_an_interrupted_step_is_rerun_from_its_base_and_finished_steps_are_not_repeated(
    repo: Path, tmp_path: Path
) -> None:
    def crash(ctx: StepContext) -> AgentOutcome:
        (ctx.worktree / "half-done.txt").write_text("partial work")
        raise KeyboardInterrupt  # the process dies mid-step

    first = ScriptDriver({"plan": plan, "implement": write("greet.py", "v1\n"), "refine": crash})
    coord = coordinator(tmp_path, first)
    card = submit(coord, repo)
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
    second.ledger = first.ledger  # the same router: the keys' totals carry over
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
    card = submit(coord, repo)
    report = coord.run(card)
    assert driver.calls == ["plan", "implement"]
    assert report.state is TaskState.CANCELED


def test_the_subprocess_runner_kills_the_whole_group_at_the_deadline(tmp_path: Path) -> None:
    nap = f"sleep 30.{os.getpid()}"  # this run's own: other runs of this test may share the machine
    result = SubprocessRunner().run(
        ["sh", "-c", f"echo started; {nap} & {nap}"], cwd=tmp_path, env={"PATH": "/usr/bin:/bin"}, timeout_s=1
    )
    assert result.timed_out and result.returncode is None
    assert "started" in result.output
    leftover = subprocess.run(["pgrep", "-f", nap], capture_output=True, text=True)
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


def tracked(repo: Path, ref: str) -> list[str]:
    out = subprocess.run(["git", "ls-tree", "-r", "--name-only", ref], cwd=repo, capture_output=True, text=True)
    return sorted(out.stdout.split())


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
    report = coord.run(submit(coord, repo))
    implement = next(s for s in report.steps if s.role == "implement")
    assert implement.state is TaskState.FAILED and implement.error is not None
    assert implement.error.code == "no_changes"


def step(report: TaskReport, role: str) -> StepReport:
    return next(s for s in report.steps if s.role == role)


def test_a_step_that_only_creates_empty_files_did_not_do_the_work(repo: Path, tmp_path: Path) -> None:
    driver = ScriptDriver(
        {"plan": plan, "implement": write("greet.py", ""), "refine": nothing, "fix": nothing, "review": review_any}
    )
    coord = coordinator(tmp_path, driver)
    report = coord.run(submit(coord, repo))
    implement = step(report, "implement")
    assert implement.state is TaskState.FAILED and implement.error is not None
    assert (
        implement.error.code == "no_changes" and "only empty or unchanged files (greet.py)" in implement.error.message
    )


def test_a_step_that_made_no_model_call_through_its_key_failed_whatever_it_wrote(repo: Path, tmp_path: Path) -> None:
    # Aider exits 0, and may create the files it was given, even when every request failed.
    driver = ScriptDriver(
        {
            "plan": plan,
            "implement": write("greet.py", "def greet(n): return n\n"),
            "refine": nothing,
            "fix": nothing,
            "review": review_any,
        },
        silent=("implement",),
    )
    coord = coordinator(tmp_path, driver)
    report = coord.run(submit(coord, repo))
    implement = step(report, "implement")
    assert implement.state is TaskState.FAILED and implement.error is not None
    assert implement.error.code == "no_model_calls" and implement.usage.requests == 0
    assert tracked(repo, "mllm/greet") == ["README.md"]
    assert step(report, "plan").usage.requests == 1


def test_a_change_that_adds_a_key_is_not_committed_and_fails_the_step(repo: Path, tmp_path: Path) -> None:
    def leak(ctx: StepContext) -> AgentOutcome:
        (ctx.worktree / "greet.py").write_text("def greet(n):\n    return f'Hello, {n}!'\n")
        (ctx.worktree / "settings.json").write_text('{"apiKey": "' + ctx.api_key + '"}\n')
        return AgentOutcome(True, "done", "log")

    def commits_on_its_own(ctx: StepContext) -> AgentOutcome:
        # An agent that commits by itself (as Aider does): the key is already in a commit.
        (ctx.worktree / "config.py").write_text('OPENAI_KEY = "sk-proj-' + "a1B2" * 10 + '"\n')
        subprocess.run(["git", "add", "config.py"], cwd=ctx.worktree, check=True)
        subprocess.run(["git", "commit", "-qm", "add config"], cwd=ctx.worktree, check=True)
        return AgentOutcome(True, "done", "log")

    driver = ScriptDriver(
        {"plan": plan, "implement": leak, "refine": commits_on_its_own, "fix": nothing, "review": review_any}
    )
    coord = coordinator(tmp_path, driver)
    report = coord.run(submit(coord, repo))
    for role, where in (
        ("implement", "settings.json: a key the coordinator holds"),
        ("refine", "config.py: an API key (sk-...)"),
    ):
        s = step(report, role)
        assert s.state is TaskState.FAILED and s.error is not None and s.error.code == "secret_in_change"
        assert where in s.error.message and "sk-" not in s.error.message.replace("(sk-...)", "")
    assert tracked(repo, "mllm/greet") == ["README.md"]  # nothing of either step reached the branch
    log = subprocess.run(["git", "log", "-p", "mllm/greet"], cwd=repo, capture_output=True, text=True).stdout
    assert "sk-task-" not in log and "sk-proj-" not in log


def test_agents_own_files_are_never_committed(repo: Path, tmp_path: Path) -> None:
    def work_and_droppings(ctx: StepContext) -> AgentOutcome:
        (ctx.worktree / "greet.py").write_text("def greet(n):\n    return f'Hello, {n}!'\n")
        (ctx.worktree / ".aider.chat.history.md").write_text("# aider chat\n")
        (ctx.worktree / ".aider.tags.cache.v4").mkdir()
        (ctx.worktree / ".aider.tags.cache.v4" / "cache.db").write_bytes(b"x")
        (ctx.worktree / ".openhands").mkdir()
        (ctx.worktree / ".openhands" / "state.json").write_text("{}")
        (ctx.worktree / ".claude").mkdir()
        (ctx.worktree / ".claude" / "settings.local.json").write_text("{}")
        return AgentOutcome(True, "done", "log")

    driver = ScriptDriver(
        {"plan": plan, "implement": work_and_droppings, "refine": nothing, "fix": nothing, "review": review_any}
    )
    coord = coordinator(tmp_path, driver)
    report = coord.run(submit(coord, repo))
    assert step(report, "implement").state is TaskState.COMPLETED
    assert tracked(repo, "mllm/greet") == ["README.md", "greet.py"]


@pytest.mark.parametrize("router_says", [None, 200_000])
def test_the_reviewer_gets_a_diff_cut_to_its_window_with_a_note_of_what_was_cut(
    repo: Path, tmp_path: Path, router_says: int | None
) -> None:
    """The window is the largest the router would review with (router_client.review_window);
    where it cannot say, the configured one (COORDINATOR_REVIEW_WINDOW, 8,192)."""

    def many_files(ctx: StepContext) -> AgentOutcome:
        for i in range(6):
            (ctx.worktree / f"mod{i}.py").write_text("".join(f"x{j} = {j}\n" for j in range(400)))
        return AgentOutcome(True, "done", "log")

    seen: dict[str, str] = {}

    def reviewer(ctx: StepContext) -> AgentOutcome:
        seen["diff"], seen["note"] = ctx.diff, ctx.diff_note
        return AgentOutcome(True, "r", "log", verdict="approve")

    driver = ScriptDriver(
        {"plan": plan, "implement": many_files, "refine": nothing, "fix": nothing, "review": reviewer}
    )
    coord = coordinator(tmp_path, driver, window=router_says)
    coord.run(submit(coord, repo))
    if router_says is not None:  # a model with a larger window will review it: the whole diff goes
        assert "mod5.py" in seen["diff"] and seen["note"] == ""
        return
    budget = int((8192 - 3500 - int(len(driver.instructions["review"]) / 2.5)) * 2.5)
    assert 0 < len(seen["diff"]) <= budget < 6 * 400 * 9  # the whole diff would not fit
    assert "mod0.py" in seen["diff"] and "mod5.py" not in seen["diff"]
    assert seen["note"].startswith("[The diff was cut to fit the reviewer's context window:")
    assert "mod5.py" in seen["note"] and "of 6 file(s)" in seen["note"]


def test_the_card_tests_command_gets_no_keys(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTER_API_KEYS", "sk-router-secret-0123456789")
    monkeypatch.setenv("LITELLM_MASTER_KEY", "sk-master-secret-0123456789")
    monkeypatch.setenv("SOME_SERVICE_TOKEN", "tok-0123456789")
    driver = ScriptDriver(
        {
            "plan": plan,
            "implement": write("greet.py", "x = 1\n"),
            "refine": nothing,
            "fix": nothing,
            "review": review_any,
        }
    )
    coord = coordinator(tmp_path, driver)
    report = coord.run(submit(coord, repo, CARD.replace("timeout_s: 60", "timeout_s: 60\ntests: env")))
    assert report.tests is not None and report.tests.startswith("$ env\npassed")
    assert "PATH=" in report.tests
    for secret in ("sk-router-secret", "sk-master-secret", "tok-0123456789", "sk-task-"):
        assert secret not in report.tests
