"""Relaying an OpenAI-style SSE stream event by event, reading its usage on the way.

The router asks the upstream for `stream_options.include_usage` so that every stream's cost
is known; when the client did not ask for it, the extra usage-only chunk (`choices: []`) is
dropped before it reaches the client. Each complete event is forwarded as soon as it arrives.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson

_USAGE_NULL = re.compile(rb'"usage"\s*:\s*null')
DONE = b"data: [DONE]"


@dataclass
class StreamUsage:
    usage: dict[str, Any] | None = None
    response_id: str | None = None
    saw_done: bool = False
    events: int = field(default=0)


def _inspect(event: bytes, state: StreamUsage, strip_usage_chunk: bool) -> bool:
    """Note what the event says; return False to drop it."""
    state.events += 1
    if event.startswith(DONE):
        state.saw_done = True
        return True
    if b'"usage"' not in event or _USAGE_NULL.search(event):
        return True
    payload = event[event.find(b"{") :]
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return True
    if isinstance(data, dict) and isinstance(data.get("usage"), dict):
        state.usage = data["usage"]
        state.response_id = data.get("id")
        if strip_usage_chunk and not data.get("choices"):
            return False
    return True


async def relay_events(
    chunks: AsyncIterator[bytes], state: StreamUsage, *, strip_usage_chunk: bool
) -> AsyncIterator[bytes]:
    """Yield complete events (each with its blank-line terminator) as they arrive."""
    buf = b""
    async for chunk in chunks:
        buf += chunk
        if b"\n\n" not in buf:
            continue
        *events, buf = buf.split(b"\n\n")
        out = [e + b"\n\n" for e in events if e.strip() and _inspect(e, state, strip_usage_chunk)]
        if out:
            yield b"".join(out)
    if buf.strip() and _inspect(buf, state, strip_usage_chunk):
        yield buf
