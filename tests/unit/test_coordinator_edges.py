"""The coordinator's edges: task ids as git sees them, where its files go, which agent plays a
role, what reaches an agent's command line, what counts as a key, how a diff is cut, a nightly
queue with a bad card, and the pinned agent installs."""

from __future__ import annotations

import json
import stat
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from src.agents import cli
from src.agents.agent_coordinator import Coordinator
from src.agents.diffs import bound_diff, parse_numstat
from src.agents.drivers.aider import AiderDriver
from src.agents.drivers.base import StepContext
from src.agents.drivers.claude_code import ClaudeCodeDriver
from src.agents.drivers.cline import ClineDriver
from src.agents.journal import Journal
from src.agents.process import ProcessResult
from src.agents.report import TaskReport
from src.agents.secrets import find_keys, scrubbed_env
from src.agents.task_card import TaskCard, branch_name_problem, parse_card
from src.agents.workspace import WorkFolder, WorkspaceError, check_outside, repo_root, work_folder
from src.protocols.llm_protocol import TaskState, Usage
from src.router.core.config_errors import ConfigError
from src.stack import agent_tools as tools

CARD = "---\ntask: {task}\ntitle: t\nrepo: {repo}\n---\nbody\n"


def git_init(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=path, check=True)
    (path / "README.md").write_text("# r\n")
    subprocess.run(["git", "add", "-A"], cwd=path, check=True)
    subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "init"], cwd=path, check=True)
    return path


# -- task ids ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("task", ["a..b", "x.lock", "ends-with-dot."])
def test_a_task_id_git_refuses_as_a_branch_is_refused_in_the_card(task: str) -> None:
    with pytest.raises(ConfigError, match="cannot be a git branch name"):
        parse_card(CARD.format(task=task, repo="."), source="card.md")


@settings(max_examples=150, deadline=None)
@given(st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,20}\Z"))
def test_task_ids_are_accepted_exactly_when_git_accepts_the_branch(task: str) -> None:
    git_ok = (
        subprocess.run(["git", "check-ref-format", "--branch", f"mllm/{task}"], capture_output=True).returncode == 0
    )
    assert (branch_name_problem(task) is None) == git_ok


# -- where files go ---------------------------------------------------------------------------------
def test_paths_are_absolute_from_the_edge(tmp_path: Path) -> None:
    repo = git_init(tmp_path / "my-repo")
    (repo / "sub").mkdir()
    assert repo_root(".", repo / "sub") == repo.resolve()  # `repo: .` from a subfolder: the repository's top
    assert work_folder("rel/work", tmp_path).root == tmp_path / "rel" / "work"
    assert work_folder(None).root.is_absolute() and work_folder(None).root.parts[-2:] == ("var", "coordinator")
    with pytest.raises(WorkspaceError, match="is not in a git repository"):
        repo_root(str(tmp_path), tmp_path)


def test_a_work_folder_inside_the_users_repository_is_refused_unless_ignored(tmp_path: Path) -> None:
    repo = git_init(tmp_path / "my-repo")
    with pytest.raises(WorkspaceError, match=r"inside the repository .* and not ignored"):
        check_outside(WorkFolder(repo / "var" / "coordinator"), repo)
    (repo / ".gitignore").write_text("/var/\n")
    check_outside(WorkFolder(repo / "var" / "coordinator"), repo)  # ignored: nothing shows in git status
    check_outside(WorkFolder(tmp_path / "elsewhere"), repo)


# -- which agent plays plan and review --------------------------------------------------------------
class Present:
    def __init__(self, name: str, missing: str | None = None) -> None:
        self.name = name
        self._missing = missing

    def missing(self) -> str | None:
        return self._missing

    def run(self, ctx: StepContext, runner: object) -> object:
        raise AssertionError("not run here")


def chooser(tmp_path: Path, claude_missing: str | None, api_problem: str | None) -> Coordinator:
    work = WorkFolder(tmp_path / "work")
    probes: list[str] = []

    def probe(key: str) -> str | None:
        probes.append(key)
        return api_problem

    drivers = {"claude": Present("claude", claude_missing), "router": Present("router")}
    return Coordinator(
        Journal(work.journal),
        router_url="http://127.0.0.1:9",
        work=work,
        drivers=drivers,  # type: ignore[arg-type]  # a stand-in that is never run
        usage=lambda key: Usage(),
        anthropic_api=probe,
        progress=lambda _: None,
    )


def test_claude_code_plans_and_reviews_when_installed_and_the_router_speaks_anthropic(tmp_path: Path) -> None:
    card = parse_card(CARD.format(task="t", repo="."), source="card")
    coord = chooser(tmp_path, None, None)
    assert coord.agent_for(card, "plan") == ("claude", "")
    assert coord.agent_for(card, "review") == ("claude", "")
    assert coord.agent_for(card, "implement") == ("openhands", "")


@pytest.mark.parametrize(
    ("missing", "api", "why"),
    [
        ("claude is not installed (/x); run: make agents", None, "run: make agents"),
        (None, "the router has no /v1/messages (HTTP 404)", "no /v1/messages"),
    ],
)
def test_plan_and_review_fall_back_to_the_router_step(
    tmp_path: Path, missing: str | None, api: str | None, why: str
) -> None:
    card = parse_card(CARD.format(task="t", repo="."), source="card")
    agent, note = chooser(tmp_path, missing, api).agent_for(card, "review")
    assert agent == "router" and note.startswith("Claude Code not used:") and why in note


def test_an_agent_the_card_names_is_used_as_named(tmp_path: Path) -> None:
    card = parse_card("---\ntask: t\ntitle: t\nagents: {review: claude}\n---\n", source="card")
    assert chooser(tmp_path, "claude is not installed", None).agent_for(card, "review") == ("claude", "")


# -- what reaches an agent's command line -----------------------------------------------------------
class Recorder:
    def __init__(self, output: str) -> None:
        self.output = output
        self.calls: list[tuple[list[str], dict[str, str], str | None]] = []

    def run(
        self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], timeout_s: float, stdin: str | None = None
    ) -> ProcessResult:
        self.calls.append((list(argv), dict(env), stdin))
        return ProcessResult(0, self.output, 0.1, False, False)


def context(tmp_path: Path, role: str) -> StepContext:
    (tmp_path / "wt").mkdir(exist_ok=True)
    return StepContext(
        task="t",
        step=role,
        role=role,
        worktree=tmp_path / "wt",
        log_dir=tmp_path / "logs",
        instruction="Review the change.",
        router_base="http://127.0.0.1:5000/v1",
        api_key="sk-task-t--" + role + ".0123456789abcdef",
        model="task/code_review",
        timeout_s=60,
        diff="diff --git a/x b/x\n+1\n",
        diff_note="[The diff was cut ...]",
    )


def test_cline_gets_the_router_key_in_its_settings_file_not_on_its_command_line(tmp_path: Path) -> None:
    runner = Recorder('{"type":"run_result","status":"completed"}\n')
    ctx = context(tmp_path, "fix")
    ClineDriver().run(ctx, runner)
    assert len(runner.calls) == 1  # no separate `cline auth -k KEY` any more
    argv, env, _ = runner.calls[0]
    assert not any(ctx.api_key in a for a in argv) and ctx.api_key not in json.dumps(env)
    settings_file = ctx.log_dir / "cline-data" / "settings" / "providers.json"
    saved = json.loads(settings_file.read_text())["providers"]["openai-compatible"]["settings"]
    assert saved == {
        "provider": "openai-compatible",
        "apiKey": ctx.api_key,
        "model": ctx.model,
        "baseUrl": ctx.router_base,
    }
    assert stat.S_IMODE(settings_file.stat().st_mode) == 0o600


def test_claude_code_runs_headless_against_the_router_with_the_step_key_in_its_environment(tmp_path: Path) -> None:
    result = {"type": "result", "subtype": "success", "is_error": False, "num_turns": 1, "result": "VERDICT: APPROVE"}
    runner = Recorder("[claude-code:unrecognized_model] {}\n" + json.dumps(result) + "\n")
    ctx = context(tmp_path, "review")
    outcome = ClaudeCodeDriver().run(ctx, runner)
    argv, env, stdin = runner.calls[0]
    assert argv[1:5] == ["-p", "--output-format", "json", "--model"] and "acceptEdits" in argv
    assert not any(ctx.api_key in a for a in argv)
    assert env["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:5000" and env["ANTHROPIC_AUTH_TOKEN"] == ctx.api_key
    assert "ANTHROPIC_API_KEY" not in env and env["HOME"].startswith(str(ctx.log_dir))
    assert stdin is not None and ctx.diff in stdin and ctx.diff_note in stdin
    assert outcome.agent_ok and outcome.verdict == "approve" and outcome.report == "VERDICT: APPROVE"


def test_aider_waits_for_one_answer_with_its_output_capped_and_no_key_on_its_command_line(tmp_path: Path) -> None:
    runner = Recorder("Applied edit to greet.py\n")
    ctx = replace(context(tmp_path, "refine"), max_output_tokens=512, files=["greet.py"])
    (ctx.log_dir).mkdir(parents=True)
    AiderDriver().run(ctx, runner)
    argv, env, _ = runner.calls[0]
    assert not any(ctx.api_key in a for a in argv) and env["OPENAI_API_KEY"] == ctx.api_key
    assert argv[argv.index("--timeout") + 1] == "60"  # not the client's default: it re-sends a slow request
    settings_file = Path(argv[argv.index("--model-settings-file") + 1])
    assert yaml.safe_load(settings_file.read_text()) == [
        {"name": "openai/task/code_review", "extra_params": {"max_tokens": 512}}
    ]
    assert argv[-1] == "greet.py" and Path(argv[argv.index("--message-file") + 1]).is_absolute()


def test_a_claude_code_error_result_is_a_failure_even_with_exit_0(tmp_path: Path) -> None:
    result = {"type": "result", "subtype": "success", "is_error": True, "result": "API Error: 400 prompt too long"}
    outcome = ClaudeCodeDriver().run(context(tmp_path, "plan"), Recorder(json.dumps(result)))
    assert not outcome.agent_ok and "400 prompt too long" in outcome.summary


# -- keys and diffs ---------------------------------------------------------------------------------
def test_keys_are_found_in_added_lines_and_named_without_the_key() -> None:
    diff = (
        "diff --git a/a.env b/a.env\n+++ b/a.env\n+OPENAI_API_KEY=sk-proj-abcdefghijklmnop1234\n"
        "diff --git a/b.py b/b.py\n+++ b/b.py\n-old = 'sk-removed-0123456789abcdef'\n+x = 1\n"
        "diff --git a/c.pem b/c.pem\n+++ b/c.pem\n+-----BEGIN RSA PRIVATE KEY-----\n"
        "diff --git a/d.txt b/d.txt\n+++ b/d.txt\n+token: mysecretvalue42\n"
    )
    found = find_keys(diff, known=["mysecretvalue42"])
    assert found == ["a.env: an API key (sk-...)", "c.pem: a private key", "d.txt: a key the coordinator holds"]


def test_the_scrubbed_environment_has_no_keys() -> None:
    env = {"PATH": "/bin", "HOME": "/h", "ROUTER_API_KEY": "k", "GITHUB_TOKEN": "t", "ROUTER_URL": "u", "LANG": "C"}
    assert scrubbed_env(env) == {"PATH": "/bin", "HOME": "/h", "LANG": "C"}


def test_numstat_tells_an_empty_file_from_work() -> None:
    stats = parse_numstat("0\t0\tempty.py\n3\t1\tgreet.py\n-\t-\tlogo.png\n")
    assert [(s.path, s.substantive) for s in stats] == [("empty.py", False), ("greet.py", True), ("logo.png", True)]


def test_a_diff_that_fits_is_passed_whole() -> None:
    diff = "diff --git a/a b/a\n+1\n"
    bounded = bound_diff(diff, 1000)
    assert bounded.text == diff and bounded.note == ""


# -- nightly ----------------------------------------------------------------------------------------
class RecordingCoordinator(Coordinator):
    """Records which cards it was asked to run (the workflow itself is tested elsewhere)."""

    ran: list[str]

    def run(self, card: TaskCard) -> TaskReport:
        self.ran = [*getattr(self, "ran", []), card.task]
        if card.base_ref != "HEAD":
            return super().run(card)  # the real thing, up to creating the worktree
        return self.report(card, with_diff=False)


def test_a_bad_card_in_a_nightly_queue_is_reported_and_the_others_run(tmp_path: Path) -> None:
    repo = git_init(tmp_path / "repo")
    queue = tmp_path / "queue"
    queue.mkdir()
    (queue / "1-bad.md").write_text(CARD.format(task="a..b", repo=repo))
    (queue / "2-no-repo.md").write_text(CARD.format(task="elsewhere", repo=tmp_path / "missing"))
    (queue / "3-good.md").write_text(CARD.format(task="good", repo=repo))
    (queue / "4-no-base.md").write_text(
        CARD.format(task="nobase", repo=repo).replace("title: t", "title: t\nbase_ref: v9")
    )
    work = WorkFolder(tmp_path / "work")
    coord = RecordingCoordinator(
        Journal(work.journal), router_url="http://127.0.0.1:9", work=work, usage=lambda k: Usage(), progress=print
    )
    assert cli._nightly(coord, queue, tmp_path / "reports") == 1
    assert coord.ran == ["good", "nobase"]
    report = (tmp_path / "reports" / "report.md").read_text()
    assert "4 task(s), 3 invalid" in report
    assert "## 4-no-base.md: invalid card, not run" in report and "v9" in report
    assert "## 1-bad.md: invalid card, not run" in report and "cannot be a git branch name" in report
    assert "## 2-no-repo.md: invalid card, not run" in report and "is not a folder" in report
    assert "## good: t" in report
    assert coord.journal.task_state("good") is TaskState.SUBMITTED


# -- installs ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("folder", "package", "version"),
    [("cline", "cline", tools.CLINE_VERSION), ("claude-code", "@anthropic-ai/claude-code", tools.CLAUDE_CODE_VERSION)],
)
def test_npm_agents_install_from_a_committed_lock_with_integrity_hashes(
    folder: str, package: str, version: str
) -> None:
    lock = json.loads((tools.LOCKS / folder / "package-lock.json").read_text())
    manifest = json.loads((tools.LOCKS / folder / "package.json").read_text())
    assert manifest["dependencies"] == {package: version}
    packages = {k: v for k, v in lock["packages"].items() if k}
    assert packages[f"node_modules/{package}"]["version"] == version
    assert all(p.get("integrity", "").startswith("sha512-") for p in packages.values() if not p.get("link"))


def test_a_missing_agent_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLLM_CACHE_DIR", str(tmp_path))
    assert tools.missing(tools.claude_code()) == (
        f"claude is not installed ({tmp_path}/tools/claude-code-{tools.CLAUDE_CODE_VERSION}/node_modules/.bin/claude);"
        " run: make agents"
    )
