"""Git for the coordinator: one worktree and branch per task, and what a step changed."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from src.agents.diffs import FileStat, parse_numstat
from src.agents.secrets import find_keys

GIT_ENV = {
    "GIT_AUTHOR_NAME": "multi-llm coordinator",
    "GIT_AUTHOR_EMAIL": "coordinator@localhost",
    "GIT_COMMITTER_NAME": "multi-llm coordinator",
    "GIT_COMMITTER_EMAIL": "coordinator@localhost",
}


GIT = shutil.which("git") or "/usr/bin/git"


class GitError(RuntimeError):
    pass


def git(repo: Path, *args: str, check: bool = True) -> str:
    proc = subprocess.run(
        [GIT, *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **GIT_ENV},
        timeout=120,
    )
    if check and proc.returncode != 0:
        raise GitError(f"git {' '.join(args)} failed in {repo}: {proc.stderr.strip()[:500]}")
    return proc.stdout


@dataclass(frozen=True)
class StepChange:
    base: str
    head: str
    commits: int
    stats: list[FileStat]
    diff: str

    @property
    def files(self) -> list[str]:
        return [s.path for s in self.stats]

    @property
    def changed(self) -> bool:
        """Real work: some file gained or lost content (an empty file created is not work)."""
        return any(s.substantive for s in self.stats)


def ensure_worktree(repo: Path, path: Path, task: str, base_ref: str) -> tuple[Path, str]:
    """The task's worktree at `path` (absolute; created on first use, outside the repository
    if the caller says so: git keeps worktrees anywhere) and its branch."""
    branch = f"mllm/{task}"
    if (path / ".git").exists():
        return path, branch
    path.parent.mkdir(parents=True, exist_ok=True)
    git(repo, "worktree", "prune")  # a worktree folder deleted by hand leaves a stale entry
    exists = git(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False).strip()
    if exists:
        git(repo, "worktree", "add", str(path), branch)
    else:
        git(repo, "worktree", "add", "-b", branch, str(path), base_ref)
    return path, branch


def head(worktree: Path) -> str:
    return git(worktree, "rev-parse", "HEAD").strip()


# What agents and the coordinator leave behind that is not work: the agents' chat logs, caches,
# data and settings folders, bytecode. Never committed, so that a step which only produced these
# is judged as having changed nothing (and no agent's config, with its key, reaches git history).
AGENT_DROPPINGS = (
    ".aider*",
    ".aider*/**",
    ".openhands*",
    ".openhands*/**",
    ".cline*/**",
    ".claude/**",
    ".mllm/**",
    "cline-data/**",
    "__pycache__/**",
    "*.pyc",
    ".pytest_cache/**",
)
_EXCLUDES = [f":(exclude,glob)**/{pattern}" for pattern in AGENT_DROPPINGS]


class SecretInChange(GitError):
    """The change holds something that looks like a key; nothing was committed."""

    def __init__(self, findings: list[str]) -> None:
        super().__init__("refused to commit: the change adds what looks like a key in " + "; ".join(findings))
        self.findings = findings


def commit_all(worktree: Path, message: str, *, known_keys: Iterable[str] = ()) -> bool:
    """Commit the work the agent left uncommitted (not its droppings); False if there was
    nothing. Raises SecretInChange, with nothing staged, when the change adds a key."""
    git(worktree, "add", "-A", "--", ".", *_EXCLUDES)
    if not git(worktree, "diff", "--cached", "--name-only").strip():
        return False
    findings = find_keys(git(worktree, "diff", "--cached", "--no-color", "-U0"), known_keys)
    if findings:
        git(worktree, "reset", "-q")
        raise SecretInChange(findings)
    git(worktree, "commit", "-q", "--no-verify", "-m", message)
    return True


def committed_keys(worktree: Path, base: str, *, known_keys: Iterable[str] = ()) -> list[str]:
    """Keys in what the commits since `base` added (an agent may commit on its own, as Aider
    does): the same check as `commit_all`, for history already written."""
    return find_keys(git(worktree, "diff", "--no-color", "-U0", base, "HEAD"), known_keys)


def reset_to(worktree: Path, ref: str) -> None:
    git(worktree, "reset", "-q", "--hard", ref)
    git(worktree, "clean", "-qfd")


def change_since(worktree: Path, base: str, *, diff_cap: int = 200_000) -> StepChange:
    new_head = head(worktree)
    stats = parse_numstat(git(worktree, "diff", "--numstat", base, new_head))
    commits = int(git(worktree, "rev-list", "--count", f"{base}..{new_head}").strip() or 0)
    diff = git(worktree, "diff", "--no-color", base, new_head)
    if len(diff) > diff_cap:
        diff = diff[:diff_cap] + "\n[... diff truncated ...]\n"
    return StepChange(base, new_head, commits, stats, diff)
