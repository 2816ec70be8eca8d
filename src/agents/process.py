"""Running an agent CLI: argv list, explicit cwd and env, a deadline, the whole process group
killed on timeout, output captured and capped. `ProcessRunner` is the injected interface."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

DEFAULT_CAP = 256 * 1024  # characters of output kept (head and tail)


@dataclass(frozen=True)
class ProcessResult:
    returncode: int | None  # None: killed at the deadline
    output: str  # stdout+stderr, capped: head and tail kept, the middle elided
    duration_s: float
    timed_out: bool
    truncated: bool


class ProcessRunner(Protocol):
    def run(
        self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], timeout_s: float, stdin: str | None = None
    ) -> ProcessResult: ...


class _Capped:
    def __init__(self, cap: int) -> None:
        self.head: list[str] = []
        self.tail: list[str] = []
        self.head_len = 0
        self.tail_len = 0
        self.cap = cap
        self.dropped = False

    def add(self, text: str) -> None:
        if self.head_len < self.cap // 2:
            self.head.append(text)
            self.head_len += len(text)
            return
        self.tail.append(text)
        self.tail_len += len(text)
        while self.tail_len > self.cap // 2 and len(self.tail) > 1:
            self.tail_len -= len(self.tail.pop(0))
            self.dropped = True

    def text(self) -> str:
        middle = "\n[... output truncated ...]\n" if self.dropped else ""
        return "".join(self.head) + middle + "".join(self.tail)


class SubprocessRunner:
    def __init__(self, *, output_cap: int = DEFAULT_CAP) -> None:
        self._cap = output_cap

    def run(
        self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], timeout_s: float, stdin: str | None = None
    ) -> ProcessResult:
        started = time.monotonic()
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        captured = _Capped(self._cap)

        def pump() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                captured.add(line)

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        if stdin is not None:
            assert proc.stdin is not None
            with contextlib.suppress(BrokenPipeError):
                proc.stdin.write(stdin)
                proc.stdin.close()
        timed_out = False
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc)
        reader.join(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()
        return ProcessResult(
            None if timed_out else proc.returncode,
            captured.text(),
            time.monotonic() - started,
            timed_out,
            captured.dropped,
        )


def _kill_group(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
