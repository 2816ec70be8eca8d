"""Git for the coordinator: one worktree and branch per task, and what a step changed."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

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
    files: list[str]
    diff: str

    @property
    def changed(self) -> bool:
        return bool(self.files)


def ensure_worktree(repo: Path, root: Path, task: str, base_ref: str) -> tuple[Path, str]:
    """The task's worktree (created on first use) and its branch."""
    branch = f"mllm/{task}"
    path = root / task
    if (path / ".git").exists():
        return path, branch
    root.mkdir(parents=True, exist_ok=True)
    exists = git(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False).strip()
    if exists:
        git(repo, "worktree", "add", str(path), branch)
    else:
        git(repo, "worktree", "add", "-b", branch, str(path), base_ref)
    return path, branch


def head(worktree: Path) -> str:
    return git(worktree, "rev-parse", "HEAD").strip()


# What agents leave behind that is not work: caches, their own state, bytecode. Never committed,
# so that a step which only produced these is judged as having changed nothing.
AGENT_DROPPINGS = (".aider*", ".aider*/**", ".openhands/**", ".cline/**", "__pycache__/**", "*.pyc")
_EXCLUDES = [f":(exclude,glob)**/{pattern}" for pattern in AGENT_DROPPINGS]


def commit_all(worktree: Path, message: str) -> bool:
    """Commit whatever work the agent left uncommitted; False if there was nothing."""
    git(worktree, "add", "-A", "--", ".", *_EXCLUDES)
    if not git(worktree, "diff", "--cached", "--name-only").strip():
        return False
    git(worktree, "commit", "-q", "--no-verify", "-m", message)
    return True


def change_since(worktree: Path, base: str, *, diff_cap: int = 20_000) -> StepChange:
    new_head = head(worktree)
    files = [f for f in git(worktree, "diff", "--name-only", base, new_head).splitlines() if f]
    commits = int(git(worktree, "rev-list", "--count", f"{base}..{new_head}").strip() or 0)
    diff = git(worktree, "diff", base, new_head)
    if len(diff) > diff_cap:
        diff = diff[:diff_cap] + "\n[... diff truncated ...]\n"
    return StepChange(base, new_head, commits, files, diff)
