"""Relaying an OpenAI-style SSE stream event by event, reading its usage on the way.

The router asks the upstream for `stream_options.include_usage` so that every stream's cost
is known; when the client did not ask for it, the extra usage-only chunk (`choices: []`) is
dropped before it reaches the client. Each complete event is forwarded as soon as it arrives.

The text the upstream generated is counted as it passes (content, reasoning and tool-call
argument deltas), so that a stream cut before its usage chunk is still charged for what the
provider generated (`output_tokens_estimate`).
"""

from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from src.router.features import CHARS_PER_TOKEN

_USAGE_NULL = re.compile(rb'"usage"\s*:\s*null')
DONE = b"data: [DONE]"


@dataclass
class StreamUsage:
    usage: dict[str, Any] | None = None
    response_id: str | None = None
    model: str | None = None  # the `model` the chunks name
    saw_done: bool = False
    events: int = field(default=0)
    output_chars: int = 0  # generated text seen so far (content, reasoning, tool-call arguments)
    chunks_with_output: int = 0

    @property
    def output_tokens_estimate(self) -> int:
        """Output tokens the relayed deltas amount to: text at CHARS_PER_TOKEN, at least one per
        chunk that carried any (providers send about a token per chunk)."""
        return max(math.ceil(self.output_chars / CHARS_PER_TOKEN), self.chunks_with_output)


_DELTA_TEXT = ("content", "reasoning_content", "reasoning", "refusal")


def _count_output(data: dict[str, Any], state: StreamUsage) -> None:
    choices = data.get("choices")
    if not isinstance(choices, list):
        return
    chars = 0
    for choice in choices:
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if not isinstance(delta, dict):
            continue
        for key in _DELTA_TEXT:
            text = delta.get(key)
            if isinstance(text, str):
                chars += len(text)
        calls = delta.get("tool_calls")
        for call in calls if isinstance(calls, list) else ():
            fn = call.get("function") if isinstance(call, dict) else None
            if isinstance(fn, dict):
                chars += sum(len(v) for v in (fn.get("name"), fn.get("arguments")) if isinstance(v, str))
    if chars:
        state.output_chars += chars
        state.chunks_with_output += 1


def _inspect(event: bytes, state: StreamUsage, strip_usage_chunk: bool) -> bool:
    """Note what the event says; return False to drop it."""
    state.events += 1
    if event.startswith(DONE):
        state.saw_done = True
        return True
    start = event.find(b"{")
    if start < 0:
        return True
    try:
        data = orjson.loads(event[start:])
    except orjson.JSONDecodeError:
        return True
    if not isinstance(data, dict):
        return True
    if state.model is None and isinstance(data.get("model"), str):
        state.model = data["model"]
    if state.response_id is None and isinstance(data.get("id"), str):
        state.response_id = data["id"]
    _count_output(data, state)
    if b'"usage"' not in event or _USAGE_NULL.search(event):
        return True
    if isinstance(data.get("usage"), dict):
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


class Relay:
    """A relayed stream that can be closed before its first event: then `on_unstarted` runs
    (an async generator that never started runs no `finally`, so its reservation would leak)."""

    def __init__(self, events: AsyncIterator[bytes], on_unstarted: Callable[[], None]) -> None:
        self._events = events
        self._on_unstarted: Callable[[], None] | None = on_unstarted

    def __aiter__(self) -> Relay:
        return self

    async def __anext__(self) -> bytes:
        self._on_unstarted = None
        return await self._events.__anext__()

    async def aclose(self) -> None:
        callback, self._on_unstarted = self._on_unstarted, None
        if callback is not None:
            callback()
        close = getattr(self._events, "aclose", None)
        if close is not None:
            await close()
