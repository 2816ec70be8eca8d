"""The Anthropic Messages API (`POST /v1/messages`): its body, its adaptation per model, its errors.

Requests are forwarded to LiteLLM's `/v1/messages`, which answers in this format for every
backend (a local llama-server included). What the router reads from a body:

- the person's latest instruction: the last user message's text blocks, without the
  `<system-reminder>` context blocks Claude Code puts before the words typed;
- whether the agent is inside a tool loop: the last user message holds only `tool_result`s
  (and Claude Code's reminders);
- the size is `spend.input_tokens`'s (system, every block, tool definitions: Claude Code's are
  ~18k tokens), as for every API.

What it changes, for the chosen model only (`prepare`): the model name; the fields that model
is declared unable to take (`model_info.router_drop_params`; LiteLLM refuses `thinking`,
`output_config` and `context_management` for a local model); `max_tokens` lowered to
`model_info.max_output_tokens`. Everything else is forwarded as sent.

Claude Code names Claude models by default (`claude-opus-5-5`, a `claude-haiku-*` for small
side tasks); a `claude-*` name that is not a model in the LiteLLM config is routed like `auto`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import orjson

from src.router.core.catalog import CatalogModel
from src.router.core.errors import MAX_UPSTREAM_MESSAGE, InvalidRequest, RouterError, redact_addresses
from src.router.core.features import CHARS_PER_TOKEN, Conversation, parse_envelope
from src.router.core.request_fields import ANTHROPIC_MESSAGES
from src.router.core.tasks import AUTO_MODEL
from src.router.wire import anthropic_sse
from src.router.wire.sse import StreamUsage

CLAUDE_PREFIX = "claude-"
SYSTEM_REMINDER = "<system-reminder>"
# Client headers LiteLLM (and Anthropic behind it) must see; everything else stays here.
FORWARDED_HEADERS = ("anthropic-version", "anthropic-beta")

# The router's error tree in Anthropic's vocabulary (https://docs.anthropic.com/en/api/errors).
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
}


def error_type(status: int) -> str:
    return _ERROR_TYPES.get(status, "invalid_request_error" if status < 500 else "api_error")


def error_envelope(status: int, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type(status), "message": message}}


def _block_text(block: object, *, skip_reminders: bool = False) -> str:
    """The text a content block carries (text, a tool's input or result)."""
    if isinstance(block, str):
        return block
    if not isinstance(block, dict):
        return ""
    kind = block.get("type")
    if kind == "text" and isinstance(block.get("text"), str):
        text: str = block["text"]
        return "" if skip_reminders and text.lstrip().startswith(SYSTEM_REMINDER) else text
    if kind == "tool_use":
        return orjson.dumps(block.get("input")).decode()
    if kind == "tool_result":
        return content_text(block.get("content"))
    if kind == "thinking" and isinstance(block.get("thinking"), str):
        return str(block["thinking"])
    return ""


def content_text(content: object, *, skip_reminders: bool = False) -> str:
    """A message's `content` (a string or an array of blocks) as text."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = (_block_text(b, skip_reminders=skip_reminders) for b in content)
        return "\n".join(p for p in parts if p)
    return ""


def _is_reminder(block: object) -> bool:
    return (
        isinstance(block, dict)
        and block.get("type") == "text"
        and isinstance(block.get("text"), str)
        and block["text"].lstrip().startswith(SYSTEM_REMINDER)
    )


def _only_tool_results(content: object) -> bool:
    """Tool results, with at most Claude Code's own `<system-reminder>` blocks beside them: the
    agent's turn goes on (no words from the person)."""
    if not isinstance(content, list):
        return False
    results = [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]
    return bool(results) and all(b in results or _is_reminder(b) for b in content)


def conversation(body: Mapping[str, Any]) -> Conversation:
    messages: list[Any] = body["messages"]
    system = [content_text(body.get("system"))]
    others: list[str] = []
    latest_index = -1
    for i, msg in enumerate(messages):
        if msg.get("role") == "user" and not _only_tool_results(msg.get("content")):
            latest_index = i
    total = len(system[0])
    latest_user = ""
    for i, msg in enumerate(messages):
        text = content_text(msg.get("content"))
        total += len(text)
        if i == latest_index:
            latest_user = content_text(msg.get("content"), skip_reminders=True) or text
        elif msg.get("role") == "system":
            system.append(text)
        elif text:
            others.append(text)
    return Conversation("\n".join(s for s in system if s), latest_user, "\n".join(others), total)


def parse(raw: bytes, *, counting: bool = False) -> dict[str, Any]:
    """A Messages body checked enough to route it (`counting`: a count_tokens body, no max_tokens)."""
    body, messages = parse_envelope(raw)
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict) or msg.get("role") not in ("user", "assistant", "system"):
            raise InvalidRequest(
                f"`messages.{i}` must be an object with `role` user, assistant or system.", param=f"messages.{i}"
            )
        if not isinstance(msg.get("content"), str | list):
            raise InvalidRequest(
                f"`messages.{i}.content` must be a string or an array of content blocks.",
                param=f"messages.{i}.content",
            )
    system = body.get("system")
    if system is not None and not isinstance(system, str | list):
        raise InvalidRequest("`system` must be a string or an array of text blocks.", param="system")
    max_tokens = body.get("max_tokens")
    if counting and max_tokens is None:
        pass
    elif not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise InvalidRequest("`max_tokens` is required: a positive integer.", param="max_tokens")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise InvalidRequest("`stream` must be true or false.", param="stream")
    return body


class AnthropicWire:
    name = "anthropic"
    upstream_path = "/messages"
    allows_direct = False  # llama-server and vLLM speak chat-completions: LiteLLM translates
    fields = ANTHROPIC_MESSAGES

    def parse(self, raw: bytes) -> dict[str, Any]:
        return parse(raw)

    def conversation(self, body: Mapping[str, Any]) -> Conversation:
        return conversation(body)

    def max_output(self, body: Mapping[str, Any]) -> int | None:
        value = body.get("max_tokens")
        return value if isinstance(value, int) and value > 0 else None

    def in_tool_loop(self, body: Mapping[str, Any]) -> bool:
        # Claude Code puts a role: "system" message (its environment) among the messages.
        last: Mapping[str, Any] = next((m for m in reversed(body["messages"]) if m.get("role") != "system"), {})
        return last.get("role") == "user" and _only_tool_results(last.get("content"))

    def session_seed(self, body: Mapping[str, Any]) -> bytes:
        first_user = next((m.get("content") for m in body["messages"] if m.get("role") == "user"), "")
        return orjson.dumps([content_text(body.get("system")), body.get("tools"), content_text(first_user)])

    def alias_of(self, model: str) -> str | None:
        return AUTO_MODEL if model.startswith(CLAUDE_PREFIX) else None

    def prepare(self, body: Mapping[str, Any], model: CatalogModel | None, send_as: str) -> tuple[bytes, bool]:
        out = {**body, "model": send_as}
        if model is not None:
            for field in model.drop_params:
                out.pop(field, None)
            if "thinking" in model.drop_params:
                # Earlier answers' thinking blocks are meaningless to a model that does not think.
                out["messages"] = [_without_thinking(m) for m in out["messages"]]
            limit = model.max_output_tokens
            if limit is not None and isinstance(out.get("max_tokens"), int) and out["max_tokens"] > limit:
                out["max_tokens"] = limit
        return orjson.dumps(out), False

    def forward_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {h: v for h in FORWARDED_HEADERS if (v := headers.get(h))}

    def usage_of(self, usage: object) -> Mapping[str, Any] | None:
        """Input tokens are the uncached ones plus those written to and read from the prompt
        cache (llama-server reports most of a repeated prompt as cache reads)."""
        if not isinstance(usage, dict):
            return None
        parts = [usage.get(k) for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")]
        if not all(p is None or (isinstance(p, int) and not isinstance(p, bool)) for p in parts):
            return usage  # as reported: price_answer refuses values that are not token counts
        return {**usage, "input_tokens": sum(p or 0 for p in parts)}

    def output_tokens_of(self, answer: Mapping[str, Any]) -> int | None:
        content = answer.get("content")
        if not isinstance(content, list):
            return None
        return -(-len(content_text(content)) // CHARS_PER_TOKEN)

    def relay(self, chunks: AsyncIterator[bytes], state: StreamUsage, *, strip_usage: bool) -> AsyncIterator[bytes]:
        return anthropic_sse.relay_events(chunks, state)

    def error_body(self, exc: RouterError) -> bytes:
        return orjson.dumps(error_envelope(exc.status_code, exc.message))

    def upstream_error_body(self, status: int, data: bytes) -> bytes:
        return upstream_error_body(status, data)

    def error_event(self, exc: RouterError) -> bytes:
        return b"event: error\ndata: " + self.error_body(exc) + b"\n\n"


def _without_thinking(message: Mapping[str, Any]) -> Mapping[str, Any]:
    content = message.get("content")
    if not isinstance(content, list):
        return message
    kept = [b for b in content if not (isinstance(b, dict) and b.get("type") in ("thinking", "redacted_thinking"))]
    return message if len(kept) == len(content) else {**message, "content": kept}


def upstream_error_body(status: int, data: bytes) -> bytes:
    """An upstream error answer in Anthropic's envelope (LiteLLM answers some in OpenAI's)."""
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict) and parsed.get("type") == "error" and isinstance(parsed.get("error"), dict):
        err = parsed["error"]
        clean = redact_addresses(str(err.get("message") or ""))[:MAX_UPSTREAM_MESSAGE]
        return orjson.dumps({"type": "error", "error": {"type": str(err.get("type") or "api_error"), "message": clean}})
    message = data.decode("utf-8", "replace")
    if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):
        message = str(parsed["error"].get("message") or message)
    clean = redact_addresses(message)[:MAX_UPSTREAM_MESSAGE] or "The upstream answered with an error."
    return orjson.dumps(error_envelope(status, clean))


ANTHROPIC = AnthropicWire()
