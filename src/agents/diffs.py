"""Reading diffs: did a step do real work, and a diff cut to fit a reviewer's context window."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Characters per token assumed when fitting text into a window: code tokenizes densely (2.5-4
# characters a token with the small models here), so the low end keeps a request inside.
CHARS_PER_TOKEN = 2.5


@dataclass(frozen=True)
class FileStat:
    path: str
    added: int | None  # None: a binary file
    removed: int | None

    @property
    def counts(self) -> str:
        return "binary" if self.added is None else f"+{self.added} -{self.removed}"

    @property
    def substantive(self) -> bool:
        """A change with content: lines added or removed, or a binary file. An empty file
        created (or a mode flipped) is not work."""
        return self.added is None or self.removed is None or self.added + self.removed > 0


def parse_numstat(text: str) -> list[FileStat]:
    """`git diff --numstat` output: `added<TAB>removed<TAB>path` ('-' for binary files)."""
    stats = []
    for line in text.splitlines():
        parts = line.split("\t", 2)
        if len(parts) != 3:
            continue
        added, removed, path = parts
        stats.append(FileStat(path, None if added == "-" else int(added), None if removed == "-" else int(removed)))
    return stats


_FILE_HEADER = re.compile(r"^diff --git a/(.*?) b/(.*)$", re.MULTILINE)


@dataclass(frozen=True)
class BoundedDiff:
    text: str
    total: int  # files in the whole diff
    cut: list[str]  # files left out or truncated

    @property
    def note(self) -> str:
        if not self.cut:
            return ""
        return (
            f"[The diff was cut to fit the reviewer's context window: {len(self.cut)} of {self.total} "
            f"file(s) not shown in full: {', '.join(self.cut)}]"
        )


def bound_diff(diff: str, max_chars: int) -> BoundedDiff:
    """The diff's files in order, whole while they fit in `max_chars`; the first that does not
    fit is cut at a line and the rest are left out, each named in the note."""
    starts = [m.start() for m in _FILE_HEADER.finditer(diff)]
    if not starts:
        if len(diff) <= max_chars:
            return BoundedDiff(diff, 1 if diff else 0, [])
        return BoundedDiff(_cut_at_line(diff, max_chars), 1, ["(diff)"])
    chunks = [diff[a:b] for a, b in zip(starts, [*starts[1:], len(diff)], strict=True)]
    cut: list[str] = []
    parts: list[str] = []
    room = max_chars
    for chunk in chunks:
        m = _FILE_HEADER.match(chunk)
        name = m.group(2) if m else "?"
        if len(chunk) <= room and not cut:
            parts.append(chunk)
            room -= len(chunk)
        elif not cut and room > 200:
            parts.append(_cut_at_line(chunk, room - 16) + "[... cut ...]\n")
            cut.append(name)
            room = 0
        else:
            cut.append(name)
    return BoundedDiff("".join(parts), len(chunks), cut)


def _cut_at_line(text: str, max_chars: int) -> str:
    head = text[:max_chars]
    return head[: head.rfind("\n") + 1] if "\n" in head else head


def diff_budget_chars(window_tokens: int, reserved_tokens: int) -> int:
    """How many characters of diff fit in a window after `reserved_tokens` (prompt, answer)."""
    return max(0, int((window_tokens - reserved_tokens) * CHARS_PER_TOKEN))
