"""Starting, health-checking and stopping the stack's processes.

Each service is an argv list (never a shell string) started in its own process group with
an explicit environment and a log file; stopping it signals the whole group, then kills it
after a grace period.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    argv: Sequence[str]
    health_url: str
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    ready_timeout_s: float = 120.0
    health_headers: Mapping[str, str] = field(default_factory=dict)


class ServiceError(RuntimeError):
    pass


@dataclass
class RunningService:
    spec: ServiceSpec
    proc: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return ""

    def stop(self, grace_s: float = 10.0) -> None:
        if not self.alive():
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def http_ok(url: str, headers: Mapping[str, str] | None = None, timeout_s: float = 2.0) -> bool:
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an HTTP URL: {url!r}")
    req = urllib.request.Request(url, headers=dict(headers or {}))  # noqa: S310  (scheme checked above)
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:  # noqa: S310  (scheme checked above)
            return bool(200 <= resp.status < 300)
    except (urllib.error.URLError, OSError):
        return False


def start(spec: ServiceSpec, log_dir: Path) -> RunningService:
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{spec.name}.log"
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            list(spec.argv),
            cwd=spec.cwd,
            env=dict(spec.env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() takes its children too
        )
    return RunningService(spec, proc, log_path)


def wait_healthy(service: RunningService, *, poll_s: float = 0.25) -> float:
    """Seconds until the health URL answered 2xx; raises if the process dies or times out."""
    started = time.monotonic()
    deadline = started + service.spec.ready_timeout_s
    while time.monotonic() < deadline:
        if not service.alive():
            raise ServiceError(
                f"{service.spec.name} exited with status {service.proc.returncode} before it was ready; "
                f"log {service.log_path}:\n{service.log_tail()}"
            )
        if http_ok(service.spec.health_url, service.spec.health_headers):
            return time.monotonic() - started
        time.sleep(poll_s)
    service.stop()
    raise ServiceError(
        f"{service.spec.name} was not healthy at {service.spec.health_url} within "
        f"{service.spec.ready_timeout_s:g}s; log {service.log_path}:\n{service.log_tail()}"
    )
