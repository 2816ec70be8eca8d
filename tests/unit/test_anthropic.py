"""The Anthropic Messages surface's pure parts: reading a body, adapting it per model, relaying
a stream and reading its usage, rendering errors. Recorded real formats only."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from src.router.anthropic_api import ANTHROPIC, error_envelope, upstream_error_body
from src.router.catalog import CatalogModel, parse_catalog
from src.router.config_errors import ConfigError
from src.router.errors import InvalidRequest, NoModelAvailable
from src.router.spend import usage_tokens
from src.router.sse import StreamUsage

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CLAUDE_CODE = json.loads((FIXTURES / "claude_code_request_1.json").read_text())
LOCAL = CatalogModel(
    "local-small", "openai/local-small", "openai", None, None, 0.0, 0.0,
    max_input_tokens=8192, max_output_tokens=2048, drop_params=("thinking", "output_config", "context_management"),
)  # fmt: skip
CLAUDE = CatalogModel(
    "claude-sonnet", "anthropic/claude-sonnet-4-5", "anthropic", None, "ANTHROPIC_API_KEY", 3e-6, 15e-6
)


def recorded(name: str) -> bytes:
    """A fixture's recorded bytes, without its `: ` source comment lines."""
    lines = (FIXTURES / name).read_bytes().splitlines(keepends=True)
    return b"".join(line for line in lines if not line.startswith(b": "))


async def chunks_of(data: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def relay(data: bytes, size: int) -> tuple[list[bytes], StreamUsage]:
    state = StreamUsage()
    out = [piece async for piece in ANTHROPIC.relay(chunks_of(data, size), state, strip_usage=False)]
    return out, state


@pytest.mark.parametrize("size", [1, 7, 4096])
@pytest.mark.parametrize(
    ("name", "usage", "response_id"),
    [
        ("anthropic_sse_1.txt", (17, 10), "msg_017A4s3HAsrqf5d2WvBmrpLr"),
        ("anthropic_sse_3.txt", None, None),
    ],
)
async def test_a_recorded_stream_is_relayed_byte_for_byte_and_its_usage_read(
    name: str, usage: tuple[int, int] | None, response_id: str | None, size: int
) -> None:
    data = recorded(name)
    out, state = await relay(data, size)
    assert b"".join(out) == data
    assert state.saw_done
    reported = ANTHROPIC.usage_of(state.usage)
    assert reported is not None
    if usage is not None:
        assert usage_tokens(reported) == usage
        assert state.response_id == response_id
        assert state.model == "claude-sonnet-4-5-20250929"
        assert (state.output_chars, state.chunks_with_output) == (17, 4)  # "- Captain\n- Scoop", 4 deltas


async def test_a_thinking_stream_counts_output_from_the_last_message_delta() -> None:
    data = recorded("anthropic_sse_2.txt")
    deltas = [
        json.loads(line[5:]) for line in data.splitlines() if line.startswith(b"data:") and b"message_delta" in line
    ]
    _, state = await relay(data, 64)
    reported = ANTHROPIC.usage_of(state.usage)
    assert reported is not None and usage_tokens(reported)[1] == deltas[-1]["usage"]["output_tokens"] > 0
    assert state.output_tokens_estimate > 0  # thinking deltas count as generated text


async def test_message_stop_is_noted_before_it_is_yielded() -> None:
    state = StreamUsage()
    seen_before_stop = []
    async for piece in ANTHROPIC.relay(chunks_of(recorded("anthropic_sse_1.txt"), 4096), state, strip_usage=False):
        seen_before_stop.append((b"message_stop" in piece, state.saw_done))
    assert seen_before_stop[-1] == (True, True)


def test_the_person_s_words_are_the_instruction_not_claude_code_s_reminders() -> None:
    conv = ANTHROPIC.conversation(CLAUDE_CODE["body"])
    assert conv.latest_user == "Fix the bug in calc.py"
    assert "# Environment" in conv.system  # the role: "system" message inside messages


def tool_loop_body(tool_output: str) -> dict[str, Any]:
    return {
        "model": "auto",
        "max_tokens": 100,
        "messages": [
            {"role": "user", "content": "Fix the bug in calc.py"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Read", "input": {"p": "a"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": tool_output}]},
        ],
    }


def test_a_tool_result_continues_the_turn_and_a_new_instruction_starts_one() -> None:
    body = tool_loop_body("file contents")
    assert ANTHROPIC.in_tool_loop(body)
    assert ANTHROPIC.conversation(body).latest_user == "Fix the bug in calc.py"
    body["messages"][-1]["content"].append(
        {"type": "text", "text": "<system-reminder>\nTodo list empty\n</system-reminder>"}
    )
    assert ANTHROPIC.in_tool_loop(body)  # Claude Code's reminder beside a tool result is not the person
    body["messages"].append(CLAUDE_CODE["body"]["messages"][1])  # its role: "system" message, last
    assert ANTHROPIC.in_tool_loop(body)
    assert ANTHROPIC.conversation(body).latest_user == "Fix the bug in calc.py"
    body["messages"].append({"role": "user", "content": "Now add tests"})
    assert not ANTHROPIC.in_tool_loop(body)
    assert not ANTHROPIC.in_tool_loop(CLAUDE_CODE["body"])


def test_the_session_seed_ignores_later_turns() -> None:
    body = tool_loop_body("one")
    longer = tool_loop_body("two")
    assert ANTHROPIC.session_seed(body) == ANTHROPIC.session_seed(longer)
    assert ANTHROPIC.session_seed(body) != ANTHROPIC.session_seed(CLAUDE_CODE["body"])


def test_a_local_model_gets_the_request_without_what_it_cannot_take() -> None:
    body = CLAUDE_CODE["body"]
    before = orjson.dumps(body)
    sent, strip = ANTHROPIC.prepare(body, LOCAL, "local-small")
    out = orjson.loads(sent)
    assert not strip
    assert out["model"] == "local-small"
    assert "thinking" not in out and "output_config" not in out and "context_management" not in out
    assert out["max_tokens"] == 2048  # Claude Code asks 128000
    assert out["tools"] == body["tools"] and out["system"] == body["system"]
    assert orjson.dumps(body) == before  # the client's body is not changed


def test_a_claude_model_gets_the_request_as_sent() -> None:
    body = CLAUDE_CODE["body"]
    out = orjson.loads(ANTHROPIC.prepare(body, CLAUDE, "claude-sonnet")[0])
    assert out == {**body, "model": "claude-sonnet"}


def test_earlier_thinking_blocks_are_removed_for_a_model_that_does_not_think() -> None:
    body = tool_loop_body("x")
    body["messages"][1]["content"].insert(0, {"type": "thinking", "thinking": "hmm", "signature": "s"})
    out = orjson.loads(ANTHROPIC.prepare(body, LOCAL, "local-small")[0])
    assert [b["type"] for b in out["messages"][1]["content"]] == ["tool_use"]


def test_only_the_anthropic_version_and_beta_headers_are_forwarded() -> None:
    headers = {k.lower(): v for k, v in CLAUDE_CODE["headers"].items()}
    forwarded = ANTHROPIC.forward_headers(headers)
    assert forwarded == {"anthropic-version": "2023-06-01", "anthropic-beta": headers["anthropic-beta"]}


@pytest.mark.parametrize(
    ("raw", "param"),
    [
        (b'{"model":"auto","messages":[{"role":"user","content":"hi"}]}', "max_tokens"),
        (b'{"model":"auto","max_tokens":5,"messages":[]}', "messages"),
        (b'{"model":"auto","max_tokens":5,"messages":[{"role":"tool","content":"x"}]}', "messages.0"),
        (b'{"max_tokens":5,"messages":[{"role":"user","content":"hi"}]}', "model"),
    ],
)
def test_a_malformed_body_is_refused_naming_the_field(raw: bytes, param: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        ANTHROPIC.parse(raw)
    assert info.value.param == param


def test_router_errors_render_in_anthropic_s_envelope() -> None:
    body = orjson.loads(ANTHROPIC.error_body(NoModelAvailable("nothing fits")))
    assert body == {"type": "error", "error": {"type": "overloaded_error", "message": "nothing fits"}}
    assert error_envelope(400, "x")["error"]["type"] == "invalid_request_error"
    assert error_envelope(404, "x")["error"]["type"] == "not_found_error"
    event = ANTHROPIC.error_event(NoModelAvailable("cut"))
    assert event.startswith(b"event: error\ndata: {") and event.endswith(b"\n\n")


def test_an_upstream_error_in_openai_s_envelope_is_rewrapped() -> None:
    litellm = b'{"error":{"message":"UnsupportedParamsError: local-small does not support reasoning","code":"400"}}'
    out = orjson.loads(upstream_error_body(400, litellm))
    assert out == {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": "UnsupportedParamsError: local-small does not support reasoning",
        },
    }
    already = b'{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}'
    assert upstream_error_body(429, already) == already


def test_an_openai_compatible_backend_drops_what_litellm_refuses_unless_its_config_says_otherwise() -> None:
    def entry(name: str, model: str, **info: object) -> dict[str, object]:
        return {"model_name": name, "litellm_params": {"model": model, "api_base": "http://h/v1"}, "model_info": info}

    catalog = parse_catalog(
        {
            "model_list": [
                entry("old-config-local", "openai/x"),
                entry("vllm", "hosted_vllm/q"),
                entry("claude", "anthropic/claude-sonnet-4-5"),
                entry("reasoning-local", "openai/r", router_drop_params=[]),
                entry("only-thinking", "openai/t", router_drop_params=["thinking"]),
            ]
        },
        source="test",
    )
    drops = {m.name: m.drop_params for m in catalog.models}
    assert drops == {
        "old-config-local": ("thinking", "output_config", "context_management"),
        "vllm": ("thinking", "output_config", "context_management"),
        "claude": (),
        "reasoning-local": (),
        "only-thinking": ("thinking",),
    }
    with pytest.raises(ConfigError) as info:
        parse_catalog({"model_list": [entry("m", "openai/x", router_drop_params=["model"])]}, source="cfg.yaml")
    assert "router_drop_params" in str(info.value) and "cfg.yaml" in str(info.value)
