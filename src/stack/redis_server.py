"""A real Redis for the fleet tests (and a local trial of `REDIS_URL`): Debian's `redis-server`,
installed when missing, started on a given port with its data in a given folder."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from src.stack.debian import ensure_binaries
from src.stack.services import RunningService, ServiceError


def ensure_redis_server() -> str:
    """The path of `redis-server`, installing Debian's package if needed (root)."""
    [binary] = ensure_binaries("redis-server", "redis-server")
    return binary


def redis_argv(binary: str, port: int, data_dir: Path) -> list[str]:
    """Loopback only, no password (a test's or one workstation's); append-only file with Redis's
    default fsync once a second (a stopped Redis writes it out first, so a restart keeps the
    fleet's spend; `always` would cost an fsync per reservation: ~7 ms each on this disk)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(data_dir),
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        "--protected-mode",
        "yes",
    ]


def redis_env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}


def ping(port: int, timeout_s: float = 0.5) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def wait_redis(service: RunningService, port: int, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not service.alive():
            raise ServiceError(f"redis-server exited with {service.proc.returncode}:\n{service.log_tail()}")
        if ping(port):
            return
        time.sleep(0.05)
    raise ServiceError(f"redis-server did not answer PING on port {port} within {timeout_s:g}s")
