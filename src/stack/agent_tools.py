"""Where the agent CLIs live and how the project installs them: `make agents` (also run by
`make setup-tests`), i.e. `python -m src.stack.agent_tools`. They go outside the clone, keyed by
version, like llama-server; `.tools/` in the repo links to them.

- Aider 0.86.2: its own Python 3.11 virtualenv (it pins ~100 packages, its own litellm included).
- Cline 3.0.65: the npm package (it ships its binary).
- OpenHands CLI: its own Python 3.12 virtualenv (it needs 3.12; pyenv has 3.12.1 here).
- Claude Code 2.1.328: the npm package `@anthropic-ai/claude-code` (its native binary comes in an
  optional per-platform package from the same registry).

The npm packages install from the committed `config/agents/<tool>/package-lock.json`: exact
versions of the whole tree, each tarball checked against its integrity hash. The Python ones
install from `config/agents/<tool>.lock` with `pip --require-hashes --no-deps`: every package
pinned with the hash of its wheel, resolved for linux x86_64 (the platform these locks were
made on); elsewhere they fall back to the version pin (`pip install name==version`).
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from src.stack.locking import file_lock
from src.stack.paths import REPO_ROOT, cache_dir

AIDER_VERSION = "0.86.2"
CLINE_VERSION = "3.0.65"
OPENHANDS_VERSION = "1.16.0"  # the CLI package; it brings openhands-sdk 1.21
CLAUDE_CODE_VERSION = "2.1.328"


class ToolInstallError(RuntimeError):
    pass


@dataclass(frozen=True)
class Tool:
    name: str
    root: Path
    binary: Path


def missing(tool: Tool) -> str | None:
    """Why the tool cannot run here, or None."""
    return None if tool.binary.exists() else f"{tool.name} is not installed ({tool.binary}); run: make agents"


def tools_dir() -> Path:
    return cache_dir() / "tools"


def aider() -> Tool:
    root = tools_dir() / f"aider-{AIDER_VERSION}"
    return Tool("aider", root, root / "bin" / "aider")


def cline() -> Tool:
    root = tools_dir() / f"cline-{CLINE_VERSION}"
    return Tool("cline", root, root / "node_modules" / ".bin" / "cline")


def openhands() -> Tool:
    root = tools_dir() / f"openhands-{OPENHANDS_VERSION}"
    return Tool("openhands", root, root / "bin" / "openhands")


def claude_code() -> Tool:
    root = tools_dir() / f"claude-code-{CLAUDE_CODE_VERSION}"
    return Tool("claude", root, root / "node_modules" / ".bin" / "claude")


LOCKS = REPO_ROOT / "config" / "agents"  # and the Python tools' hash locks


def _npm_install(tool: Tool, lock_dir: str, *, clean_install: bool = True) -> None:
    """From the committed lock: the exact tree, every package checked against its hash. `npm ci`
    where it can; Cline 3.0.65 names per-platform packages that were never published (only
    linux-x64 is), which `npm ci` counts as a lock out of sync, so it gets `npm install
    --no-save`: the same locked tree and hashes, without that check."""
    npm = shutil.which("npm")
    if npm is None:
        raise ToolInstallError(f"npm is needed to install {tool.name}")
    tool.root.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(LOCKS / lock_dir / name, tool.root / name)
    verb = ["ci"] if clean_install else ["install", "--no-save"]
    _run([npm, *verb, "--no-audit", "--no-fund", "--prefix", str(tool.root)], f"installing {tool.name}")


def _pip_install(tool: Tool, python: str, requirement: str, lock: str) -> None:
    """A virtualenv for the tool, filled from its hash lock where the lock fits this machine."""
    _run([_python(python), "-m", "venv", str(tool.root)], f"creating {tool.name}'s virtualenv")
    pip = [str(tool.root / "bin" / "python"), "-m", "pip", "install", "-q"]
    if sys.platform == "linux" and platform.machine() == "x86_64":
        _run([*pip, "--require-hashes", "--no-deps", "-r", str(LOCKS / lock)], f"installing {requirement}")
    else:
        _run([*pip, requirement], f"installing {requirement} (no hash lock for this platform)")


def _run(argv: list[str], what: str, timeout: int = 1800) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=timeout)
    if proc.returncode != 0:
        raise ToolInstallError(f"{what} failed ({' '.join(argv[:4])} ...):\n{(proc.stdout + proc.stderr)[-3000:]}")


def _python(version: str) -> str:
    """An interpreter of that version that really runs (a pyenv shim may exist and refuse)."""
    pyenv = sorted(Path.home().glob(f".pyenv/versions/{version}.*/bin/python"))
    for candidate in (*(str(p) for p in pyenv), shutil.which(f"python{version}")):
        if candidate and subprocess.run([candidate, "-c", "pass"], capture_output=True, check=False).returncode == 0:
            return candidate
    raise ToolInstallError(f"Python {version} is needed (pyenv install {version})")


def ensure(tool: Tool) -> Tool:
    if tool.binary.exists():
        _link(tool)
        return tool
    with file_lock(tools_dir() / f".{tool.name}.lock"):
        if not tool.binary.exists():
            print(f"installing {tool.name} into {tool.root}", flush=True)
            shutil.rmtree(tool.root, ignore_errors=True)
            if tool.name == "aider":
                _pip_install(tool, "3.11", f"aider-chat=={AIDER_VERSION}", "aider.lock")
            elif tool.name == "cline":
                _npm_install(tool, "cline", clean_install=False)
            elif tool.name == "claude":
                _npm_install(tool, "claude-code")
            else:  # OpenHands needs Python 3.12
                _pip_install(tool, "3.12", f"openhands=={OPENHANDS_VERSION}", "openhands.lock")
            if not tool.binary.exists():
                raise ToolInstallError(f"{tool.name} installed, but {tool.binary} is missing")
    _link(tool)
    return tool


def _link(tool: Tool) -> None:
    """`.tools/<name>` in the repo points at the installed copy (git-ignored)."""
    link = REPO_ROOT / ".tools" / tool.name
    try:
        link.parent.mkdir(exist_ok=True)
        if link.is_symlink() and os.readlink(link) == str(tool.root):
            return
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(tool.root)
    except OSError:
        pass  # a read-only checkout: the link is a convenience only


def ensure_all() -> list[Tool]:
    return [ensure(aider()), ensure(cline()), ensure(openhands()), ensure(claude_code())]


if __name__ == "__main__":
    for t in ensure_all():
        print(f"{t.name}: {t.binary}")
    sys.exit(0)
