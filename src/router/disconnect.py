"""Stopping work when the client goes away, so the upstream request is cancelled too.

A non-streaming handler is never told that its client left: its upstream call would run to the
end. Starlette's streaming response listens with an anyio task group under ASGI spec < 2.4
(uvicorn's 2.3), and only notices at its next send under 2.4 — for a model that thinks for a
minute before its next token, a minute of wasted GPU or billed tokens. Here one watcher task
waits for `http.disconnect` and cancels the work at once, for both kinds of response;
cancelling closes the upstream connection, and the upstream sees its client leave.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any, TypeVar

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

T = TypeVar("T")


async def _cancel_on_disconnect(receive: Receive, task: asyncio.Task[Any]) -> None:
    # The body has been read, so the next message can only be the disconnect.
    while (await receive())["type"] != "http.disconnect":
        pass
    task.cancel()


async def unless_disconnected(receive: Receive, work: Coroutine[Any, Any, T]) -> T | None:
    """Run `work` in this task; None if the client disconnected first (the work is cancelled).
    One watcher task per request, cancelled as soon as the work is done."""
    current = asyncio.current_task()
    assert current is not None
    watcher = asyncio.get_running_loop().create_task(_cancel_on_disconnect(receive, current))
    try:
        return await work
    except asyncio.CancelledError:
        if watcher.done() and not watcher.cancelled():  # the client left: the watcher cancelled us
            current.uncancel()
            return None
        raise
    finally:
        watcher.cancel()


class RelayResponse(StreamingResponse):
    """A streaming response that stops (and closes its source) as soon as the client leaves,
    not at the next chunk."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            with contextlib.suppress(OSError):  # the client went away while we were sending
                await unless_disconnected(receive, self.stream_response(send))
        finally:
            # Close the source now, started or not: its clean-up (settling, releasing what it
            # reserved) must not wait for the garbage collector, or never happen.
            close = getattr(self.body_iterator, "aclose", None)
            if close is not None:
                await close()
        if self.background is not None:
            await self.background()
