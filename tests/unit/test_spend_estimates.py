"""Pure estimates on the spend path: what a request may cost before it is sent, and what a stream
that never reported its usage generated."""

from __future__ import annotations

import asyncio

import pytest

from src.router.spend import IMAGE_TOKENS, BadUsage, input_tokens, output_tokens_of, reported_cost, usage_tokens
from src.router.sse import StreamUsage, relay_events
from tests.support.openai_stub import recorded_sse_events


def test_text_only_messages_count_their_characters() -> None:
    assert input_tokens({"messages": [{"role": "user", "content": "x" * 48}]}) == 12


def test_tool_schemas_tool_calls_images_and_response_format_all_count() -> None:
    base = {"messages": [{"role": "user", "content": "hi"}]}
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"description": "d" * 4000}}}]
    call = {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "a" * 4000}}],
    }
    image = {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}
    fmt = {"type": "json_schema", "json_schema": {"name": "s", "schema": {"description": "r" * 4000}}}
    plain = input_tokens(base)
    assert input_tokens({**base, "tools": tools}) > plain + 1000
    assert input_tokens({"messages": [*base["messages"], call]}) > plain + 1000
    assert input_tokens({"messages": [*base["messages"], image]}) == plain + IMAGE_TOKENS
    assert input_tokens({**base, "response_format": fmt}) > plain + 1000


@pytest.mark.parametrize(
    "usage",
    [
        {"prompt_tokens": 1e19, "completion_tokens": 1},
        {"prompt_tokens": -5, "completion_tokens": 1},
        {"prompt_tokens": "12", "completion_tokens": 1},
        {"prompt_tokens": 1.5, "completion_tokens": 1},
        {"prompt_tokens": float("nan"), "completion_tokens": 1},
        {"prompt_tokens": True, "completion_tokens": 1},
    ],
)
def test_impossible_usage_values_are_refused(usage: dict[str, object]) -> None:
    with pytest.raises(BadUsage):
        usage_tokens(usage)


def test_usage_in_openai_and_anthropic_names() -> None:
    assert usage_tokens({"prompt_tokens": 12, "completion_tokens": 5}) == (12, 5)
    assert usage_tokens({"input_tokens": 17, "output_tokens": 10}) == (17, 10)
    assert usage_tokens({"prompt_tokens": 12.0, "completion_tokens": 0}) == (12, 0)


def test_litellm_reported_costs_are_read_only_when_sane() -> None:
    assert reported_cost("0.000185") == pytest.approx(0.000185)
    assert [reported_cost(v) for v in ("nan", "-1", "x", None, True, "1e300")] == [None] * 6


def test_a_stream_cut_before_its_usage_chunk_still_counts_the_text_it_relayed() -> None:
    events = [e for e in recorded_sse_events() if b'"usage":{' not in e and b"[DONE]" not in e]
    text = "".join(
        part.split(b'"content":"', 1)[1].split(b'"', 1)[0].decode() for part in events if b'"content":"' in part
    )

    async def relay() -> StreamUsage:
        state = StreamUsage()

        async def chunks():  # type: ignore[no-untyped-def]
            for e in events:
                yield e

        async for _ in relay_events(chunks(), state, strip_usage_chunk=True):
            pass
        return state

    state = asyncio.run(relay())
    assert state.usage is None
    assert state.output_chars == len(text.replace("\\\\", "\\"))
    assert state.output_tokens_estimate >= state.chunks_with_output > 10


def test_an_answer_without_usage_is_estimated_from_its_text() -> None:
    answer = {"choices": [{"message": {"role": "assistant", "content": "w" * 400}}]}
    assert output_tokens_of(answer) == 100
    assert output_tokens_of({"error": "no choices"}) is None
