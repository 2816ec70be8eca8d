"""Relaying an Anthropic Messages stream event by event, reading its usage on the way.

A stream is `message_start` (the message id and input token counts), content block events,
`message_delta` (the output token count so far, cumulative) and `message_stop`; `ping` and
`error` events may come at any point. Events are forwarded unchanged as soon as each is
complete; `state.saw_done` turns true as `message_stop` is read, before it is yielded, so the
spend is recorded before the client sees the end. The generated text (text, thinking and tool
input deltas) is counted as it passes, so that a stream cut before its last `message_delta` is
still charged for what was generated (`StreamUsage.output_tokens_estimate`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson

from src.router.sse import StreamUsage

_COUNTED = (b"message_start", b"message_delta", b"message_stop", b"content_block_delta")
_DELTA_TEXT = ("text", "partial_json", "thinking")


def _data(event: bytes) -> object:
    lines = [line[5:].strip() for line in event.split(b"\n") if line.startswith(b"data:")]
    try:
        return orjson.loads(b"\n".join(lines))
    except orjson.JSONDecodeError:
        return None


def inspect(event: bytes, state: StreamUsage) -> None:
    state.events += 1
    if not any(kind in event for kind in _COUNTED):
        return  # block starts and stops, pings: nothing to count (no JSON parse)
    data = _data(event)
    if not isinstance(data, dict):
        return
    kind = data.get("type")
    usage = state.usage if state.usage is not None else {}
    if kind == "content_block_delta" and isinstance(data.get("delta"), dict):
        chars = sum(len(t) for k in _DELTA_TEXT if isinstance(t := data["delta"].get(k), str))
        if chars:
            state.output_chars += chars
            state.chunks_with_output += 1
        return
    if kind == "message_start" and isinstance(data.get("message"), dict):
        message = data["message"]
        state.response_id = message.get("id") if isinstance(message.get("id"), str) else None
        state.model = message.get("model") if isinstance(message.get("model"), str) else None
        if isinstance(message.get("usage"), dict):
            usage.update(message["usage"])
    elif kind == "message_delta" and isinstance(data.get("usage"), dict):
        # Cumulative counts; a null or missing input count keeps message_start's.
        usage.update({k: v for k, v in data["usage"].items() if v is not None})
    elif kind == "message_stop":
        state.saw_done = True
    if usage:
        state.usage = usage


async def relay_events(chunks: AsyncIterator[bytes], state: StreamUsage) -> AsyncIterator[bytes]:
    """Yield complete events (each with its blank-line terminator) as they arrive."""
    buf = b""
    async for chunk in chunks:
        buf += chunk
        if b"\r" in buf:
            buf = buf.replace(b"\r\n", b"\n")
        if b"\n\n" not in buf:
            continue
        *events, buf = buf.split(b"\n\n")
        out = []
        for event in events:
            if event.strip():
                inspect(event, state)
                out.append(event + b"\n\n")
        if out:
            yield b"".join(out)
    if buf.strip():
        inspect(buf, state)
        yield buf
