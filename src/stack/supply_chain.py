"""Refuse the LiteLLM releases reported compromised, wherever they could come from.

Three fences: `constraints.txt` (pip and uv never resolve to them), the hash-pinned lock files
(`requirements*.lock`, installed with --require-hashes), and this check after every install,
which fails the setup if one is present in the virtualenv anyway.

    python -m src.stack.supply_chain
"""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

COMPROMISED = {"litellm": frozenset({"1.82.7", "1.82.8", "1.107.0"})}


def installed_problems() -> list[str]:
    problems = []
    for package, bad in COMPROMISED.items():
        try:
            version = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
        if version in bad:
            problems.append(f"{package}=={version} is installed and was reported compromised; remove the virtualenv")
    return problems


def lock_problems(lock: Path) -> list[str]:
    problems = []
    for line in lock.read_text().splitlines():
        name, sep, version = line.strip().partition("==")
        version = version.split()[0].rstrip("\\").strip() if sep else ""
        if sep and version in COMPROMISED.get(name.lower(), frozenset()):
            problems.append(f"{lock.name} pins {name}=={version}, reported compromised")
    return problems


def main() -> int:
    problems = installed_problems()
    root = Path(__file__).resolve().parents[2]
    for lock in sorted(root.glob("requirements*.lock")):
        problems += lock_problems(lock)
    for p in problems:
        print(f"supply chain: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
