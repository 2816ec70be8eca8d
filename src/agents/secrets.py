"""What looks like a key in a change an agent made. The coordinator refuses to commit such a
change: an agent's config file with the router key in the user's git history is a leak that
outlives the run. Patterns follow the formats keys are issued in; known values (the step's own
key, keys in the coordinator's environment) are matched exactly."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping

PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("an API key (sk-...)", re.compile(r"\bsk-[A-Za-z0-9][A-Za-z0-9_\-.]{15,}")),
    ("an AWS access key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})")),
    ("a Slack token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}")),
    ("a Google API key", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}")),
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
)
_SECRET_NAMES = re.compile(r"KEY|TOKEN|SECRET|PASSWORD", re.IGNORECASE)


def known_secrets(env: Mapping[str, str], *extra: str) -> list[str]:
    """Values worth matching exactly: the environment's keys and tokens, and `extra`."""
    values = [v for k, v in env.items() if _SECRET_NAMES.search(k) and len(v) >= 8]
    return sorted({*values, *(e for e in extra if len(e) >= 8)}, key=len, reverse=True)


def scrubbed_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment without keys, tokens and the stack's settings: for commands the card
    names (its `tests`), which have no business with the router's or LiteLLM's keys."""
    source = os.environ if env is None else env
    return {
        k: v
        for k, v in source.items()
        if not _SECRET_NAMES.search(k) and not k.startswith(("ROUTER_", "LITELLM_", "ANTHROPIC_", "OPENAI_"))
    }


def added_lines(diff: str) -> Iterable[tuple[str, str]]:
    """(file, line) for each line a unified diff adds."""
    current = "?"
    for line in diff.splitlines():
        if line.startswith("+++ "):
            name = line[4:].strip()
            current = name[2:] if name.startswith("b/") else name
        elif line.startswith("+") and not line.startswith("+++"):
            yield current, line[1:]


def find_keys(diff: str, known: Iterable[str] = ()) -> list[str]:
    """One line per file that adds something that looks like a key: what and where (never the
    key itself)."""
    exact = [k for k in known if k]
    found: dict[str, set[str]] = {}
    for name, line in added_lines(diff):
        for what, pattern in PATTERNS:
            if pattern.search(line):
                found.setdefault(name, set()).add(what)
        if any(k in line for k in exact):
            found.setdefault(name, set()).add("a key the coordinator holds")
    return [f"{name}: {', '.join(sorted(whats))}" for name, whats in sorted(found.items())]
