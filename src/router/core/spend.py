"""What a request may cost before it is sent, and what an answer did cost: pure functions.

Used by the budget tracker (reservations) and by every API surface's accounting, whatever the
wire format: a request body is measured part by part (`input_tokens`), an answer is priced by
the model that really produced it (`price_answer`), from usage values that are checked first.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from src.router.core.catalog import Catalog, CatalogModel
from src.router.core.features import CHARS_PER_TOKEN


def cost_of(model: CatalogModel, prompt_tokens: int, completion_tokens: int) -> float:
    return prompt_tokens * model.input_cost_per_token + completion_tokens * model.output_cost_per_token


# -- estimating a request before it is sent ------------------------------------------------------
# An image costs at most ~1,600 input tokens at Anthropic (1.15 megapixels / 750) and ~1,100 at
# OpenAI (high detail, 2048x768 tiles); its base64 bytes say nothing about that.
IMAGE_TOKENS = 1600
_IMAGE_PART_TYPES = frozenset({"image_url", "image", "input_image"})
# What else in a body is sent to the model as input, beside `messages`: counted as JSON text.
_TOOL_FIELDS = ("tools", "functions")  # the tool schemas, which some chat templates do not render
_INPUT_FIELDS = (*_TOOL_FIELDS, "tool_choice", "response_format", "system", "prediction")


def _text_and_images(value: object) -> tuple[int, int]:
    """(characters of text, images) in a message part: strings are measured (the keys of the
    structure around them are not: they are the message format, a few tokens), images counted."""
    if isinstance(value, str):
        return len(value), 0
    if isinstance(value, dict):
        if value.get("type") in _IMAGE_PART_TYPES:
            return 0, 1
        value = list(value.values())
    if isinstance(value, list):
        chars = images = 0
        for item in value:
            c, i = _text_and_images(item)
            chars, images = chars + c, images + i
        return chars, images
    return 0, 0


def input_tokens(body: Mapping[str, Any]) -> int:
    """An estimate of every input token a request sends: each message's content, tool calls and
    their arguments, tool results; the tool/function schemas, `tool_choice`, `response_format`
    as their JSON text; and a fixed `IMAGE_TOKENS` per image."""
    chars = images = 0
    messages = body.get("messages")
    for msg in messages if isinstance(messages, list) else ():
        if isinstance(msg, dict):
            c, i = _text_and_images([msg.get(k) for k in ("content", "tool_calls", "function_call", "name")])
            chars, images = chars + c, images + i
    for name in _INPUT_FIELDS:
        value = body.get(name)
        if isinstance(value, str):
            chars += len(value)
        elif value is not None:
            c, i = _text_and_images(value) if name == "system" else (len(orjson.dumps(value)), 0)
            chars, images = chars + c, images + i
    return math.ceil(chars / CHARS_PER_TOKEN) + images * IMAGE_TOKENS


def tool_schema_tokens(body: Mapping[str, Any]) -> int:
    """Of `input_tokens`, the tool/function schemas (`tools`, `functions`) as their JSON text."""
    chars = sum(len(orjson.dumps(body[name])) for name in _TOOL_FIELDS if body.get(name) is not None)
    return math.ceil(chars / CHARS_PER_TOKEN)


def output_tokens_of(answer: Mapping[str, Any]) -> int | None:
    """An estimate of a chat.completion's output tokens from its text and tool calls, for an
    answer that reported no usage; None when it has no readable choices."""
    choices = answer.get("choices")
    if not isinstance(choices, list) or not choices:
        return None
    chars = 0
    for choice in choices:
        message = choice.get("message") if isinstance(choice, dict) else None
        if isinstance(message, dict):
            c, _ = _text_and_images([message.get(k) for k in ("content", "reasoning_content", "tool_calls")])
            chars += c
    return math.ceil(chars / CHARS_PER_TOKEN)


# -- reading what an answer cost ----------------------------------------------------------------
MAX_USAGE_TOKENS = 100_000_000  # far beyond any context window: anything larger is a bad value


class BadUsage(ValueError):
    """An upstream reported token counts that cannot be real."""


def usage_tokens(usage: Mapping[str, Any]) -> tuple[int, int]:
    """(prompt, completion) tokens from an OpenAI-style `usage`, or `input_tokens`/`output_tokens`
    (Anthropic's names); BadUsage for negative, fractional, non-numeric or absurd values."""
    out = []
    for names in (("prompt_tokens", "input_tokens"), ("completion_tokens", "output_tokens")):
        value: object = next((usage[n] for n in names if usage.get(n) is not None), 0)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise BadUsage(f"usage.{names[0]} is {value!r}, not a number")
        if not math.isfinite(value) or value < 0 or value > MAX_USAGE_TOKENS or value != int(value):
            raise BadUsage(f"usage.{names[0]} is {value!r}: not a token count (0..{MAX_USAGE_TOKENS:,})")
        out.append(int(value))
    return out[0], out[1]


def reported_cost(value: object) -> float | None:
    """LiteLLM's own figure for an answer (`x-litellm-response-cost`, or `usage.cost` in a stream)."""
    try:
        cost = float(value) if isinstance(value, str | int | float) and not isinstance(value, bool) else None
    except ValueError:
        return None
    return cost if cost is not None and math.isfinite(cost) and 0 <= cost < 1e6 else None


MODEL_GROUP_HEADER = "x-litellm-model-group"


def answering_model(catalog: Catalog, headers: Mapping[str, str], response_model: object) -> str | None:
    """The catalog model that really answered, as LiteLLM reports it: its model-group header;
    without one (a direct backend), the response's `model` when that is a catalog name."""
    group = headers.get(MODEL_GROUP_HEADER)
    if group and catalog.get(group) is not None:
        return group
    if isinstance(response_model, str) and catalog.get(response_model) is not None:
        return response_model
    return None


@dataclass(frozen=True, slots=True)
class PricedAnswer:
    model: str  # the catalog model charged: the one that answered
    provider: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    bad_usage: str | None = None  # why the reported usage was not used (the estimate was)


def price_answer(
    catalog: Catalog,
    chosen: str,
    headers: Mapping[str, str],
    response_model: object,
    usage: Mapping[str, Any] | None,
    estimate: tuple[int, int],
) -> PricedAnswer:
    """Price an answer by the model that answered (`answering_model`, else the chosen one), from
    its usage (OpenAI or Anthropic names) or, when that is missing or impossible, `estimate`
    (prompt, completion tokens); never below the cost LiteLLM itself reports."""
    answered = answering_model(catalog, headers, response_model) or chosen
    model = catalog.get(answered)
    if model is None:
        raise ValueError(f"{answered!r} is not in the catalog")
    prompt, completion = estimate
    bad: str | None = None
    if usage:
        try:
            prompt, completion = usage_tokens(usage)
        except BadUsage as exc:
            bad = str(exc)
    cost = cost_of(model, prompt, completion)
    litellm_cost = reported_cost(headers.get("x-litellm-response-cost") or (usage or {}).get("cost"))
    if litellm_cost is not None and litellm_cost > cost:
        cost = litellm_cost
    return PricedAnswer(answered, model.provider, prompt, completion, cost, bad)
