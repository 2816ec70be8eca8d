"""The coordinator as a user runs it, with the real agents — Claude Code (when the router speaks
Anthropic; the router-only step otherwise), OpenHands, Aider, Cline — against the real router ->
LiteLLM -> llama-server (SmolLM2-135M). The commands are the README's, as written, from the
project folder; the stack's address comes in ROUTER_URL, the work folder in COORDINATOR_DIR.

A 135M model writes poor code and often none; what is asserted is the mechanics: every step
reached a model through its own key (the router's /v1/usage), every step was judged truthfully
from the repository, the task branch holds only the agents' changes to the user's files (no
coordinator or agent file, no key), the user's `git status` shows nothing new, and a kill -9
mid-run resumes without repeating a step.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from src.agents.agent_coordinator import task_key
from src.agents.router_client import messages_api
from src.agents.secrets import find_keys
from src.agents.task_card import ROLES
from src.protocols.llm_protocol import MsgType, TaskState, parse_message
from src.stack import agent_tools as tools
from tests.integration.conftest import MASTER_KEY, REPO, Stack, base_env

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(2400)]

README_RUN = [".venv/bin/python", "-m", "src.agents.agent_coordinator", "run"]
README_RESUME = [".venv/bin/python", "-m", "src.agents.agent_coordinator", "resume"]
CARD = """---
task: {task}
title: Add a greeting function
repo: {repo}
files: [greet.py]
timeout_s: {timeout}
max_output_tokens: 384
---
Edit greet.py: make `greet(name)` return the string "Hello, " + name + "!".
"""
# What no task branch may hold: the coordinator's and the agents' own files.
NOT_WORK = re.compile(r"(^|/)(\.aider|\.openhands|\.cline|cline-data|\.claude/|\.mllm/|journal\.sqlite3|agent\.log)")


def make_repo(root: Path) -> Path:
    """A user's repository: its own git repository, outside the project and any ignored folder."""
    repo = root / "my-repo"
    repo.mkdir(parents=True)
    (repo / "greet.py").write_text('def greet(name):\n    """Return a greeting."""\n    return None\n')
    (repo / "README.md").write_text("# demo\n")
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "-m", "init"],
    ):
        subprocess.run(["git", *args], cwd=repo, check=True)
    return repo


def readme_env(stack: Stack, work: Path | str) -> dict[str, str]:
    return {**base_env(), "ROUTER_URL": stack.router_url, "COORDINATOR_DIR": str(work)}


def from_project(
    stack: Stack, work: Path | str, argv: list[str], *, timeout: float = 2400, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """A README command, run as written from the project folder, against the test stack."""
    return subprocess.run(
        argv, cwd=REPO, env=readme_env(stack, work), capture_output=True, text=True, timeout=timeout, check=check
    )


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout


def journal(work: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(work / "journal.sqlite3") as conn:
        return list(conn.execute("SELECT step, msg_type, body FROM messages ORDER BY seq"))


def journal_task_state(work: Path, task: str) -> str:
    with sqlite3.connect(work / "journal.sqlite3") as conn:
        return str(conn.execute("SELECT state FROM tasks WHERE task_ref=?", (task,)).fetchone()[0])


def router_calls(stack: Stack, task: str, role: str) -> dict[str, int]:
    data = httpx.get(f"{stack.router_url}/v1/usage", params={"task_key": f"{task}--{role}"}, timeout=10).json()
    return {m: int(v["requests"]) for m, v in data["models"].items()}


def expected_planner(stack: Stack) -> str:
    """Claude Code where it can run (installed, and the router has /v1/messages), else the
    router-only step: the test follows what the router offers, and says which it saw."""
    if tools.missing(tools.claude_code()) is None and messages_api(stack.router_url, "sk-task-probe--plan")() is None:
        return "claude"
    return "router"


def check_run(stack: Stack, work: Path, repo: Path, task: str, status_before: str) -> dict[str, str]:
    """The done-when of a run, for one task; returns role -> state."""
    rows = journal(work)
    for _, _, body in rows:
        parse_message(body)
    results = [(s, parse_message(b)) for s, t, b in rows if t in ("task_result", "review_result")]
    results = [(s, m) for s, m in results if m.task_ref == task]
    assert [s for s, _ in results] == list(ROLES), "a step lost or repeated"
    planner = expected_planner(stack)
    worktree = work / "worktrees" / task
    states = {}
    for role, msg in results:
        assert msg.status is not None and msg.status.terminal
        states[role] = msg.status.value
        if role in ("plan", "review"):
            assert msg.sender == planner, f"{role} was played by {msg.sender}, expected {planner}"
        # Every agent step reached a model through its own key: the router's ledger says so.
        calls = router_calls(stack, task, role)
        assert sum(calls.values()) >= 1, f"{role} ({msg.sender}) made no model call through its key: {msg.error}"
        # What the journal (and so the report) says is the ledger's: this attempt's share of it.
        assert msg.usage is not None and msg.usage.requests >= 1, f"{role}: this attempt made no call"
        assert all(0 < n <= calls.get(m, 0) for m, n in msg.usage.models.items()), (msg.usage.models, calls)
        ranges = [a.ref for a in msg.artifacts if a.kind == "commit_range" and a.ref]
        if role in ("implement", "refine", "fix"):
            if msg.status is TaskState.COMPLETED:
                assert ranges, f"{role} completed without a commit"
            if ranges:
                base, head = ranges[0].split("..")
                numstat = git(worktree, "diff", "--numstat", base, head).split("\n")
                assert any(line and not line.startswith("0\t0\t") for line in numstat), f"{role}: no content"
            else:
                assert msg.status is TaskState.FAILED and msg.error is not None
                assert msg.error.code in {"no_changes", "timeout", "agent_failed", "secret_in_change"}
        if role == "review":
            assert msg.verdict is not None
    # The task branch: only the agents' changes to the user's files; no coordinator or agent
    # file, no key.
    plan = next(parse_message(b) for s, t, b in rows if s == "plan" and t == "task_assignment")
    assert plan.task_ref == task and plan.workspace is not None
    base = plan.workspace.base_ref
    branch = f"mllm/{task}"
    changed = git(repo, "diff", "--name-only", base, branch).split()
    assert not [f for f in changed if NOT_WORK.search(f)], changed
    history = git(repo, "log", "-p", "--no-color", f"{base}..{branch}")
    assert find_keys(history, [MASTER_KEY, *(task_key(task, r) for r in ROLES)]) == []
    # The user's repository: nothing new in its status (the worktree is in the work folder).
    assert git(repo, "status", "--porcelain") == status_before
    return states


def check_report(work: Path, states: dict[str, str]) -> str:
    report = (work / "reports" / "report.md").read_text()
    assert "| step | agent | state | attempt | changed | models (calls) | model calls |" in report
    for role, state in states.items():
        assert re.search(rf"\| {role} \| \w+ \| {state} \| \d \| [^|]* \| [\w./-]+ ×\d+[^|]* \| [1-9]", report), report
    return report


@pytest.fixture(scope="module")
def agents_installed() -> None:
    missing = [t.name for t in (tools.aider(), tools.cline(), tools.openhands()) if not t.binary.exists()]
    assert not missing, f"agents not installed: {missing} (make agents installs them)"


def test_the_readme_command_with_the_template_card_from_the_project_folder(
    stack: Stack, agents_installed: None
) -> None:
    """`.venv/bin/python -m src.agents.agent_coordinator run templates/task_card.md`: the
    template's `repo: .` is the project itself; the work folder is under its ignored var/."""
    task, branch = "add-greeting", "mllm/add-greeting"
    assert not git(REPO, "branch", "--list", branch).strip(), f"{branch} exists in this clone: delete it first"
    work_rel = f"var/coordinator-e2e-{os.getpid()}"  # relative: resolved from the project folder
    work = REPO / work_rel
    status_before = git(REPO, "status", "--porcelain")
    try:
        proc = from_project(stack, work_rel, [*README_RUN, "templates/task_card.md"])
        out = proc.stdout + proc.stderr
        assert f"report: {work}/reports/report.md" in out, out[-4000:]
        states = check_run(stack, work, REPO, task, status_before)
        check_report(work, states)
        assert (proc.returncode == 0) == (journal_task_state(work, task) == "completed")
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(work / "worktrees" / task)], cwd=REPO, check=False)
        subprocess.run(["git", "branch", "-D", branch], cwd=REPO, capture_output=True, check=False)
        subprocess.run(["rm", "-rf", str(work)], check=False)


def test_the_readme_command_on_a_card_for_the_users_own_repository(
    stack: Stack, tmp_path: Path, agents_installed: None
) -> None:
    repo = make_repo(tmp_path / "home")
    work = tmp_path / "coordinator"
    card = tmp_path / "cards" / "greet.md"
    card.parent.mkdir()
    card.write_text(CARD.format(task="greet-e2e", repo=repo, timeout=360))
    proc = from_project(stack, work, [*README_RUN, str(card)])
    out = proc.stdout + proc.stderr
    assert "report:" in out, out[-4000:]
    states = check_run(stack, work, repo, "greet-e2e", "")
    report = check_report(work, states)
    assert (work / "reports" / "report.html").read_text().startswith("<!doctype html>")
    assert (proc.returncode == 0) == (journal_task_state(work, "greet-e2e") == "completed")
    assert "## greet-e2e: Add a greeting function" in report
    # `status` shows each step's model, calls, tokens and cost from the ledger.
    status = from_project(
        stack, work, [".venv/bin/python", "-m", "src.agents.agent_coordinator", "status"], timeout=60, check=True
    ).stdout
    for role in ROLES:
        calls = r"[1-9]\d* call\(s\) +[\d,]+ tokens \$[\d.]+  models: [\w./-]+ ×"
        line = rf"^  {role} +\w+ +\w+ +{calls}"
        assert re.search(line, status, re.MULTILINE), status


def test_nightly_sh_on_a_queue_with_an_invalid_card_runs_the_valid_one_and_reports_both(
    stack: Stack, tmp_path: Path, agents_installed: None
) -> None:
    repo = make_repo(tmp_path / "home")
    queue = tmp_path / "queue"
    queue.mkdir()
    (queue / "1-invalid.md").write_text(CARD.format(task="bad..id", repo=repo, timeout=360))
    (queue / "2-greet.md").write_text(CARD.format(task="greet-nightly", repo=repo, timeout=360))
    work, reports = tmp_path / "coordinator", tmp_path / "reports"
    proc = from_project(stack, work, ["scripts/nightly.sh", str(queue), str(reports)])
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out[-4000:]  # one card could not run
    assert "[1-invalid.md] invalid card, not run" in out and "nightly: 2 task(s), 1 invalid" in out
    states = check_run(stack, work, repo, "greet-nightly", "")
    report = (reports / "report.md").read_text()
    assert "2 task(s), 1 invalid" in report
    assert "## 1-invalid.md: invalid card, not run" in report and "cannot be a git branch name" in report
    assert "## greet-nightly: Add a greeting function" in report
    for role, state in states.items():
        assert f"| {role} |" in report and state.partition(":")[0] in report
    assert "bad..id" not in git(repo, "branch", "--list")


def test_kill_9_mid_run_then_resume_finishes_without_repeating_a_step(
    stack: Stack, tmp_path: Path, agents_installed: None
) -> None:
    repo = make_repo(tmp_path / "home")
    work = tmp_path / "coordinator"
    card = tmp_path / "card.md"
    card.write_text(CARD.format(task="greet-kill", repo=repo, timeout=360))
    proc = subprocess.Popen(
        [*README_RUN, str(card)],
        cwd=REPO,
        env=readme_env(stack, work),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 900
    try:
        # Wait until the refine step (Aider) has been assigned: plan and implement are done.
        while time.monotonic() < deadline:
            if (work / "journal.sqlite3").exists() and any(
                s == "refine" and t == "task_assignment" for s, t, _ in journal(work)
            ):
                break
            assert proc.poll() is None, "the coordinator ended before the refine step"
            time.sleep(0.2)
        else:
            pytest.fail("refine was never assigned")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the coordinator and its agent, mid-step
        proc.wait()
    before = journal(work)
    assert not any(s == "refine" and t == "task_result" for s, t, _ in before)

    resumed = from_project(stack, work, [*README_RESUME, "greet-kill"])
    assert "done earlier" in resumed.stdout, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    check_run(stack, work, repo, "greet-kill", "")
    assignments: dict[str, int] = {}
    for s, t, _ in journal(work):
        if t in (MsgType.TASK_ASSIGNMENT.value, MsgType.REVIEW_REQUEST.value):
            assignments[s] = assignments.get(s, 0) + 1
    assert assignments == {"plan": 1, "implement": 1, "refine": 2, "fix": 1, "review": 1}
