"""The router's background loops (probes, load sampling, ledger flushes, rules watch): run a
step every so often without letting one failure end the loop, and stop cleanly."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger(__name__)


async def every(interval_s: float, step: Callable[[], Awaitable[object]], *, what: str) -> None:
    """Run `step`, then wait `interval_s`, forever; a failing step is logged and retried."""
    while True:
        try:
            await step()
        except Exception:  # a bug in one round must not stop the loop; the next round retries
            log.exception(f"{what}_failed")
        await asyncio.sleep(interval_s)


async def cancel(task: asyncio.Task[None] | None) -> None:
    """Cancel a background task and wait until it has stopped."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
