"""Wire formats: what differs between the APIs the router serves, behind one interface.

The request flow (`chat.ChatService`: parse → features → decide → admit → send/fail over →
relay → settle) is the same for every API; a `WireFormat` supplies the format's parts of it:
reading the body, the conversation the classifier sees, the request as one model takes it,
usage from an answer or a stream, and the error envelope. Two are registered:

- `OPENAI`: `/v1/chat/completions`, forwarded to LiteLLM's (or a backend's) chat-completions;
- `ANTHROPIC` (`anthropic_api.py`): `/v1/messages`, forwarded to LiteLLM's `/v1/messages`,
  which serves that format for every backend.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol

import orjson

from src.router.catalog import CatalogModel
from src.router.errors import RouterError, error_bytes, sse_error_event, upstream_error_body
from src.router.features import Conversation, content_text, conversation, parse_body
from src.router.request_fields import OPENAI_CHAT, FieldPolicy
from src.router.spend import output_tokens_of
from src.router.sse import StreamUsage, relay_events


class WireFormat(Protocol):
    """One API's request and response format. Implementations are stateless."""

    name: str
    upstream_path: str  # appended to a target's /v1 base
    allows_direct: bool  # may be sent straight to an OpenAI-compatible backend (router_direct)
    fields: FieldPolicy  # which request fields are forwarded (request_fields.py)

    def parse(self, raw: bytes) -> dict[str, Any]:
        """The body as a dict, validated enough to route it; InvalidRequest otherwise."""

    def conversation(self, body: Mapping[str, Any]) -> Conversation:
        """The texts the classifier reads (the request's size is `spend.input_tokens`'s, one
        estimate for every format: tools, tool results and images included)."""

    def max_output(self, body: Mapping[str, Any]) -> int | None: ...

    def in_tool_loop(self, body: Mapping[str, Any]) -> bool:
        """True when the last message hands a tool's result back (the agent's turn goes on)."""

    def session_seed(self, body: Mapping[str, Any]) -> bytes:
        """Stable across a conversation's requests: system, tools and the first user message."""

    def alias_of(self, model: str) -> str | None:
        """The virtual model a client's model name stands for on this API, or None."""

    def prepare(self, body: Mapping[str, Any], model: CatalogModel | None, send_as: str) -> tuple[bytes, bool]:
        """The bytes to send for one model (a new body; `body` is not changed), and whether the
        stream's extra usage chunk is the router's own and must not reach the client."""

    def forward_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """Client headers the upstream must see (e.g. anthropic-version)."""

    def usage_of(self, usage: object) -> Mapping[str, Any] | None:
        """A response's (or a stream's) `usage` as `spend.price_answer` reads it (prompt and
        completion counts under OpenAI's or Anthropic's names), or None."""

    def output_tokens_of(self, answer: Mapping[str, Any]) -> int | None:
        """An estimate of an answer's output tokens from its text, for an answer without usage."""

    def relay(self, chunks: AsyncIterator[bytes], state: StreamUsage, *, strip_usage: bool) -> AsyncIterator[bytes]:
        """Forward complete events as they arrive, noting usage; `state.saw_done` turns true
        just before the event that ends the stream is yielded."""

    def error_body(self, exc: RouterError) -> bytes: ...

    def upstream_error_body(self, status: int, data: bytes) -> bytes:
        """An upstream's error answer as this API's clients expect it."""

    def error_event(self, exc: RouterError) -> bytes:
        """The events that end a stream which failed after its first byte was sent."""


def stable_hash(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()[:32]


class OpenAIWire:
    name = "openai"
    upstream_path = "/chat/completions"
    allows_direct = True
    fields = OPENAI_CHAT

    def parse(self, raw: bytes) -> dict[str, Any]:
        return parse_body(raw)

    def conversation(self, body: Mapping[str, Any]) -> Conversation:
        return conversation(body["messages"])

    def max_output(self, body: Mapping[str, Any]) -> int | None:
        for key in ("max_completion_tokens", "max_tokens"):
            value = body.get(key)
            if isinstance(value, int) and value > 0:
                return value
        return None

    def in_tool_loop(self, body: Mapping[str, Any]) -> bool:
        last = body["messages"][-1]
        return isinstance(last, dict) and last.get("role") in ("tool", "function")

    def session_seed(self, body: Mapping[str, Any]) -> bytes:
        messages = body["messages"]
        system = [content_text(m.get("content")) for m in messages if m.get("role") in ("system", "developer")]
        first_user = next((content_text(m.get("content")) for m in messages if m.get("role") == "user"), "")
        return orjson.dumps([system, body.get("tools"), first_user])

    def alias_of(self, model: str) -> str | None:
        return None

    def prepare(self, body: Mapping[str, Any], model: CatalogModel | None, send_as: str) -> tuple[bytes, bool]:
        out = {**body, "model": send_as}
        strip_usage = False
        if out.get("stream") is True:
            given = out.get("stream_options")
            options: dict[str, Any] = given if isinstance(given, dict) else {}
            if not options.get("include_usage"):
                # Every stream's cost must be known: ask for the usage chunk, drop it on the way out.
                out["stream_options"] = {**options, "include_usage": True}
                strip_usage = True
        return orjson.dumps(out), strip_usage

    def forward_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {}

    def usage_of(self, usage: object) -> Mapping[str, Any] | None:
        return usage if isinstance(usage, dict) else None

    def output_tokens_of(self, answer: Mapping[str, Any]) -> int | None:
        return output_tokens_of(answer)

    def relay(self, chunks: AsyncIterator[bytes], state: StreamUsage, *, strip_usage: bool) -> AsyncIterator[bytes]:
        return relay_events(chunks, state, strip_usage_chunk=strip_usage)

    def error_body(self, exc: RouterError) -> bytes:
        return error_bytes(exc)

    def upstream_error_body(self, status: int, data: bytes) -> bytes:
        return upstream_error_body(data)

    def error_event(self, exc: RouterError) -> bytes:
        return sse_error_event(exc)


OPENAI = OpenAIWire()
