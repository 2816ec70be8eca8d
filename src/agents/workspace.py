"""Where things are, decided once at the edge and absolute from then on.

The coordinator's own state (journal, logs, the agents' data folders, reports) and the task
worktrees live in one work folder, by default `var/coordinator` under this project (git-ignored),
otherwise `--workdir` / `COORDINATOR_DIR` (a relative value is taken from the current folder).
It is never inside the repository the agents work on unless that repository ignores it: nothing
the coordinator writes may show up in the user's `git status` or be committed by an agent step.
A card's `repo` is taken from the current folder and stands for the top of its git repository.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from src.agents.git_worktree import GitError, git
from src.stack.paths import var_dir


class WorkspaceError(ValueError):
    """A repository or work folder the coordinator cannot use; the message says why."""


@dataclass(frozen=True)
class WorkFolder:
    root: Path  # absolute

    @property
    def journal(self) -> Path:
        return self.root / "journal.sqlite3"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    def worktree(self, task: str) -> Path:
        return self.root / "worktrees" / task

    def task_logs(self, task: str) -> Path:
        return self.root / "logs" / task

    def step_logs(self, task: str, role: str, attempt: int) -> Path:
        return self.task_logs(task) / f"{role}-{attempt}"


def work_folder(value: str | Path | None, cwd: Path | None = None) -> WorkFolder:
    """The work folder from a flag or setting (None: the project's `var/coordinator`), absolute."""
    if value is None or str(value) == "":
        return WorkFolder(var_dir() / "coordinator")
    path = Path(os.path.expanduser(str(value)))
    return WorkFolder(Path(os.path.abspath((cwd or Path.cwd()) / path)))


def repo_root(repo: str, cwd: Path | None = None, *, source: str = "card") -> Path:
    """The top folder of the git repository at `repo` (relative to `cwd`), absolute."""
    path = Path(os.path.abspath((cwd or Path.cwd()) / os.path.expanduser(repo)))
    if not path.is_dir():
        raise WorkspaceError(f"{source}: repo: {repo!r} -> {path} is not a folder")
    try:
        top = git(path, "rev-parse", "--show-toplevel").strip()
    except GitError as exc:
        raise WorkspaceError(f"{source}: repo: {repo!r} -> {path} is not in a git repository") from exc
    return Path(top)


def check_outside(work: WorkFolder, repo: Path) -> None:
    """Refuse a work folder inside the repository unless the repository ignores it."""
    root = work.root.resolve()
    try:
        inside = root.relative_to(repo.resolve())
    except ValueError:
        return
    work.root.mkdir(parents=True, exist_ok=True)  # a folder: so that `var/`-style rules match it
    if str(inside) == "." or not git(repo, "check-ignore", str(inside), check=False).strip():
        raise WorkspaceError(_inside(work, repo))


def _inside(work: WorkFolder, repo: Path) -> str:
    return (
        f"the work folder {work.root} is inside the repository {repo} and not ignored by it: the coordinator's "
        "journal, logs and worktrees would show up in its git status. Choose another with --workdir or "
        "COORDINATOR_DIR (default: var/coordinator in the multi-llm project)."
    )
