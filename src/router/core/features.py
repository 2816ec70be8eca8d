"""What the router reads from a chat-completions request: only what the policy needs.

The body is parsed once with orjson; the fields it keeps (see `request_fields`) are forwarded
exactly as the client sent them, with only `model` replaced.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from src.router.core.errors import InvalidJSON, InvalidRequest
from src.router.core.tasks import AUTO_MODEL, TASK_MODEL_PREFIX, TASK_TYPES, TaskType

TASK_HEADER = "x-task-type"
CHARS_PER_TOKEN = 4  # the usual rough estimate for English text and code
MAX_MESSAGES = 10_000  # far beyond any real conversation; bounds the work per request


# Chat-completions request fields of OpenAI's API (and the `metadata` the router reads); what
# else may be forwarded is decided in `request_fields`.
OPENAI_CHAT_FIELDS = frozenset(
    {
        "model",
        "messages",
        "audio",
        "frequency_penalty",
        "function_call",
        "functions",
        "logit_bias",
        "logprobs",
        "max_completion_tokens",
        "max_tokens",
        "metadata",
        "modalities",
        "n",
        "parallel_tool_calls",
        "prediction",
        "presence_penalty",
        "prompt_cache_key",
        "reasoning_effort",
        "response_format",
        "safety_identifier",
        "seed",
        "service_tier",
        "stop",
        "store",
        "stream",
        "stream_options",
        "temperature",
        "tool_choice",
        "tools",
        "top_logprobs",
        "top_p",
        "user",
        "verbosity",
        "web_search_options",
    }
)


def parse_envelope(raw: bytes) -> tuple[dict[str, Any], list[Any]]:
    """What both APIs require of a body: a JSON object with a `model` name and a bounded,
    non-empty `messages` array. Each API's parser checks its own message shapes after this."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidJSON(f"Request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise InvalidRequest(f"Request body must be a JSON object, not {type(body).__name__}.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequest("`model` is required: a model name, 'auto' or 'task/<type>'.", param="model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("`messages` must be a non-empty array.", param="messages")
    if len(messages) > MAX_MESSAGES:
        raise InvalidRequest(
            f"`messages` has {len(messages)} entries; at most {MAX_MESSAGES} are accepted.", param="messages"
        )
    return body, messages


def parse_body(raw: bytes) -> dict[str, Any]:
    body, messages = parse_envelope(raw)
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict) or not isinstance(msg.get("role"), str):
            raise InvalidRequest(f"`messages[{i}]` must be an object with a string `role`.", param=f"messages[{i}]")
        content = msg.get("content")
        if content is not None and not isinstance(content, str | list):
            raise InvalidRequest(
                f"`messages[{i}].content` must be a string or an array of parts.", param=f"messages[{i}].content"
            )
    if "stream" in body and not isinstance(body["stream"], bool):
        raise InvalidRequest("`stream` must be true or false.", param="stream")
    return body


def _task(value: object, where: str, param: str | None) -> TaskType:
    if isinstance(value, str) and value in TASK_TYPES:
        return TaskType(value)
    raise InvalidRequest(
        f"{where} {value!r} is not a task type; allowed: {', '.join(TASK_TYPES)}.",
        param=param,
        code="invalid_task_type",
    )


def explicit_task(body: Mapping[str, Any], headers: Mapping[str, str]) -> tuple[TaskType, str] | None:
    """The task type the client asked for, and where it said so; virtual model first."""
    model = body["model"]
    if model.startswith(TASK_MODEL_PREFIX):
        return _task(model[len(TASK_MODEL_PREFIX) :], "Virtual model task", "model"), "virtual_model"
    header = headers.get(TASK_HEADER)
    if header:
        return _task(header.strip(), "Header X-Task-Type", None), "header"
    metadata = body.get("metadata")
    if isinstance(metadata, dict) and metadata.get("task_type") is not None:
        return _task(metadata["task_type"], "metadata.task_type", "metadata.task_type"), "metadata"
    return None


def is_virtual(model: str) -> bool:
    return model == AUTO_MODEL or model.startswith(TASK_MODEL_PREFIX)


def content_text(content: object) -> str:
    """The text of a message's `content`: a string, or the text parts of a parts array."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


@dataclass(frozen=True, slots=True)
class Conversation:
    system: str  # system/developer instructions, joined
    latest_user: str  # the last user turn
    earlier: str  # other user/assistant turns, most recent last
    total_chars: int

    @property
    def input_tokens(self) -> int:
        return -(-self.total_chars // CHARS_PER_TOKEN)  # rounded up: any text is at least one token


def conversation(messages: list[Any]) -> Conversation:
    system: list[str] = []
    others: list[str] = []
    latest_user = ""
    latest_index = -1
    for i, msg in enumerate(messages):
        if isinstance(msg, dict) and msg.get("role") == "user":
            latest_index = i
    total = 0
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict):
            continue
        text = content_text(msg.get("content"))
        total += len(text)
        role = msg.get("role")
        if i == latest_index:
            latest_user = text
        elif role in ("system", "developer"):
            system.append(text)
        elif text:
            others.append(text)
    return Conversation("\n".join(system), latest_user, "\n".join(others), total)
