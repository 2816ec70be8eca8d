"""The Anthropic Messages API through the real stack: router -> LiteLLM -> llama-server (SmolLM2),
and a cloud Claude model answered by the Anthropic stand-in (recorded format, priced)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from src.agents.router_client import review_window
from tests.integration.conftest import CLAUDE_STANDIN, CLAUDE_STANDIN_PRICES, MASTER_KEY, OVERLOADED, Stack

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CLAUDE_CODE = json.loads((FIXTURES / "claude_code_request_1.json").read_text())
VERSION = {"anthropic-version": "2023-06-01"}
# A tool's output that, read as an instruction, is another task entirely.
TRANSLATION_LIKE = (
    "Translate the following text into French, German and Spanish. Translation of this paragraph: "
    '"The weather is nice today." Translate it, translate every sentence, translation needed. '
) * 3
READ_TOOL = {
    "name": "Read",
    "description": "Read a file",
    "input_schema": {"type": "object", "properties": {"file_path": {"type": "string"}}},
}
# Coding turns go to the (stand-in) Claude model, everything else to the embedded one, then Claude.
CODING_ON_CLAUDE = f"""
default:
  model: local-small
  reason: "tests: the embedded model first"
  fallbacks: [{CLAUDE_STANDIN}]
rules:
  - task_type: code_generation
    model: {CLAUDE_STANDIN}
    reason: "tests: coding turns on Claude"
    fallbacks: [local-small]
"""


def _wait_for_rule(stack: Stack, model: str) -> None:
    probe = {"model": "task/code_generation", "messages": [{"role": "user", "content": "x"}]}
    for _ in range(100):  # the router polls the rules file every 0.2 s here
        if httpx.post(stack.router_url + "/v1/route", json=probe).json()["model"] == model:
            return
        time.sleep(0.1)
    pytest.fail("the rules edit was not picked up")


@pytest.fixture
def coding_on_claude(stack: Stack) -> Iterator[None]:
    original = stack.rules.read_text()
    stack.rules.write_text(CODING_ON_CLAUDE)
    try:
        _wait_for_rule(stack, CLAUDE_STANDIN)
        yield
    finally:
        stack.rules.write_text(original)
        _wait_for_rule(stack, "local-small")


def messages(stack: Stack, body: dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(stack.router_url + "/v1/messages", json=body, headers={**VERSION, **(headers or {})}, timeout=120)


def usage(stack: Stack, **query: str) -> dict[str, Any]:
    resp = httpx.get(stack.router_url + "/v1/usage", params=query)
    assert resp.status_code == 200, resp.text
    return resp.json()  # type: ignore[no-any-return]


def metric(stack: Stack, line_start: str) -> float:
    for line in httpx.get(stack.router_url + "/metrics").text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_a_plain_message_is_answered_by_the_embedded_model_and_recorded_under_its_session(stack: Stack) -> None:
    session = str(uuid.uuid4())
    body = {"model": "auto", "max_tokens": 24, "messages": [{"role": "user", "content": "Say hello to Ada."}]}
    resp = messages(stack, body, {"x-claude-code-session-id": session})
    assert resp.status_code == 200, resp.text
    answer = resp.json()
    assert answer["type"] == "message" and answer["role"] == "assistant"
    assert answer["content"][0]["type"] == "text" and answer["content"][0]["text"].strip()
    assert answer["usage"]["input_tokens"] > 0 and 0 < answer["usage"]["output_tokens"] <= 24
    assert resp.headers["x-router-model"] == "local-small"
    assert resp.headers["x-router-session"] == session
    spent = usage(stack, session_id=session)
    assert spent["requests"] == 1
    assert (spent["prompt_tokens"], spent["completion_tokens"]) == (
        answer["usage"]["input_tokens"] + answer["usage"].get("cache_read_input_tokens", 0),
        answer["usage"]["output_tokens"],
    )


def _events(resp: httpx.Response) -> Iterator[tuple[str, dict[str, Any]]]:
    buf = b""
    for chunk in resp.iter_raw():
        buf += chunk
        while b"\n\n" in buf:
            event, buf = buf.split(b"\n\n", 1)
            lines = dict(line.split(b": ", 1) for line in event.split(b"\n") if b": " in line)
            yield lines[b"event"].decode(), json.loads(lines[b"data"])


def test_a_streamed_message_arrives_event_by_event_in_anthropic_s_order(stack: Stack) -> None:
    session = str(uuid.uuid4())
    body = {
        "model": "local-small",
        "max_tokens": 16,
        "stream": True,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Count to five."}]}],
    }
    with httpx.stream(
        "POST",
        stack.router_url + "/v1/messages",
        json=body,
        headers={**VERSION, "x-claude-code-session-id": session},
        timeout=60,
    ) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        events = list(_events(resp))
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "message_start" and kinds[1] == "content_block_start"
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    deltas = [data for kind, data in events if kind == "content_block_delta"]
    assert 1 <= len(deltas) <= 16 and all(d["delta"]["type"] == "text_delta" for d in deltas)
    assert all(kind == data["type"] for kind, data in events)
    final = events[-2][1]["usage"]
    spent = usage(stack, session_id=session)
    assert spent["completion_tokens"] == final["output_tokens"]  # the ledger has what the stream reported
    assert len(deltas) <= final["output_tokens"] <= 16  # a delta per token at most (the end token has none)
    assert spent["prompt_tokens"] > 0


def test_the_recorded_claude_code_request_is_adapted_and_answered_by_the_embedded_model(stack: Stack) -> None:
    headers = {k: v for k, v in CLAUDE_CODE["headers"].items() if k.startswith(("anthropic-", "x-claude-code"))}
    body = CLAUDE_CODE["body"]
    # As sent, LiteLLM refuses it for a local model: the adaptation is what makes it work.
    direct = httpx.post(
        stack.litellm_url + "/v1/messages",
        json={**body, "model": "local-small", "stream": False},
        headers={**headers, "Authorization": f"Bearer {MASTER_KEY}"},
        timeout=60,
    )
    assert direct.status_code == 400 and "UnsupportedParamsError" in direct.text
    session = headers["x-claude-code-session-id"]
    before = usage(stack, session_id=session)["requests"]
    events: list[tuple[str, dict[str, Any]]] = []
    with httpx.stream(
        "POST", stack.router_url + "/v1/messages?beta=true", json=body, headers=headers, timeout=300
    ) as resp:
        assert resp.status_code == 200, resp.read()
        for event in _events(resp):
            events.append(event)
            if len([k for k, _ in events if k == "content_block_delta"]) == 8:
                break  # max_tokens became 2048 (from 128000): a CPU-bound model need not write them all here
    assert resp.headers["x-router-model"] == "local-small"  # claude-opus-5-5 was routed, as `auto`
    assert resp.headers["x-router-task-type"] == "code_generation"  # "Fix the bug in calc.py"
    assert [k for k, _ in events[:2]] == ["message_start", "content_block_start"]
    assert "".join(d["delta"].get("text", "") for k, d in events if k == "content_block_delta").strip()
    # The stream the client left is still recorded under Claude Code's session.
    for _ in range(50):
        if usage(stack, session_id=session)["requests"] == before + 1:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the cut stream was not recorded under its session")


def test_count_tokens_is_a_real_count_by_the_routed_model(stack: Stack) -> None:
    short = {"model": "claude-opus-5-5", "messages": [{"role": "user", "content": "Say hello."}]}
    longer = {**short, "messages": [{"role": "user", "content": "Say hello. " * 50}]}
    counts = []
    for body in (short, longer):
        resp = httpx.post(stack.router_url + "/v1/messages/count_tokens", json=body, headers=VERSION)
        assert resp.status_code == 200, resp.text
        assert resp.headers["x-router-model"] == "local-small"
        counts.append(resp.json()["input_tokens"])
    litellm = httpx.post(
        stack.litellm_url + "/v1/messages/count_tokens",
        json={**short, "model": "local-small"},
        headers={"Authorization": f"Bearer {MASTER_KEY}"},
    ).json()["input_tokens"]
    assert counts[0] == litellm > 0
    assert counts[1] > counts[0] + 50


def test_errors_on_the_messages_api_come_in_anthropic_s_envelope(stack: Stack) -> None:
    resp = messages(
        stack, {"model": "gpt-nonexistent", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
    )
    assert resp.status_code == 404
    assert resp.json()["type"] == "error" and resp.json()["error"]["type"] == "not_found_error"
    resp = messages(stack, {"model": "auto", "messages": [{"role": "user", "content": "x"}]})
    assert resp.status_code == 400 and resp.json()["error"]["type"] == "invalid_request_error"
    assert "max_tokens" in resp.json()["error"]["message"]


def _anthropic_loop(tool_output: str) -> dict[str, Any]:
    return {
        "model": "claude-opus-5-5",
        "max_tokens": 24,
        "tools": [READ_TOOL],
        "messages": [
            {"role": "user", "content": "Fix the bug in calc.py"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"file_path": "calc.py"}}],
            },
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": tool_output}]},
        ],
    }


def _openai_loop(tool_output: str) -> dict[str, Any]:
    call = {"id": "call_1", "type": "function", "function": {"name": "Read", "arguments": '{"file_path": "calc.py"}'}}
    return {
        "model": "auto",
        "max_tokens": 24,
        "tools": [{"type": "function", "function": {"name": "Read", "parameters": READ_TOOL["input_schema"]}}],
        "messages": [
            {"role": "user", "content": "Fix the bug in calc.py"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": tool_output},
        ],
    }


@pytest.mark.parametrize("api", ["anthropic", "openai"])
def test_a_tool_loop_keeps_the_turn_s_task_type_and_model(stack: Stack, coding_on_claude: None, api: str) -> None:
    path, loop = ("/v1/messages", _anthropic_loop) if api == "anthropic" else ("/v1/chat/completions", _openai_loop)
    header = "x-claude-code-session-id" if api == "anthropic" else "x-session-id"
    session = str(uuid.uuid4())

    def send(body: dict[str, Any], session_id: str) -> httpx.Response:
        resp = httpx.post(stack.router_url + path, json=body, headers={**VERSION, header: session_id}, timeout=120)
        assert resp.status_code == 200, resp.text
        return resp

    pinned_before = metric(stack, 'router_session_turns_total{outcome="pinned"}')
    first = loop("")
    first["messages"] = first["messages"][:1]
    turn = send(first, session)
    assert (turn.headers["x-router-task-type"], turn.headers["x-router-model"]) == ("code_generation", CLAUDE_STANDIN)

    in_loop = send(loop(TRANSLATION_LIKE), session)
    assert in_loop.headers["x-router-task-type"] == "code_generation"
    assert in_loop.headers["x-router-model"] == CLAUDE_STANDIN
    assert (in_loop.headers["x-router-rule"], in_loop.headers["x-router-pinned"]) == ("session", "true")
    assert metric(stack, 'router_session_turns_total{outcome="pinned"}') == pinned_before + 1

    # The same request in a session with no turn is routed on its own (not pinned): the learned
    # classifier reads the user's instruction, not the tool's output, so it is still code.
    alone = send(loop(TRANSLATION_LIKE), str(uuid.uuid4()))
    assert alone.headers["x-router-pinned"] == "false" and alone.headers["x-router-rule"] != "session"
    assert alone.headers["x-router-task-type"] == "code_generation"


def test_a_request_larger_than_a_model_s_window_goes_to_one_that_fits(stack: Stack, coding_on_claude: None) -> None:
    # The embedded model's window as llama-server itself reports it (GET /props), next to the config's.
    assert httpx.get(stack.router_url + "/ready").json()["models"]["local-small"]["context_window"] == 8192
    listed = {m["id"]: m.get("context_window") for m in httpx.get(stack.router_url + "/v1/models").json()["data"]}
    assert (listed["local-small"], listed[CLAUDE_STANDIN], listed["auto"]) == (8192, 200_000, None)
    # The coordinator cuts a reviewer's diff to the largest window among the models the router
    # would use: for `auto` the chain reaches Claude; a named model is only itself.
    assert review_window(stack.router_url, "sk-any", "auto") == 200_000
    assert review_window(stack.router_url, "sk-any", "local-small") == 8192
    text = "The quick brown fox jumps over the lazy dog. " * 900  # ~40k characters: ~10k tokens > 8192
    session = str(uuid.uuid4())
    seen = len(stack.anthropic.requests)
    big = messages(
        stack,
        {"model": "auto", "max_tokens": 16, "messages": [{"role": "user", "content": text}]},
        {"x-claude-code-session-id": session},
    )
    assert big.status_code == 200, big.text
    assert (big.headers["x-router-model"], big.headers["x-router-tried"]) == (CLAUDE_STANDIN, CLAUDE_STANDIN)
    assert len(stack.anthropic.requests) == seen + 1  # sent once, to the model that fits
    explained = httpx.post(
        stack.router_url + "/v1/route", json={"model": "auto", "messages": [{"role": "user", "content": text}]}
    ).json()
    assert explained["model"] == CLAUDE_STANDIN
    assert explained["signals"]["skipped"][0]["model"] == "local-small"
    assert explained["signals"]["skipped"][0]["why"].startswith("context window of 8192 tokens")
    # The same task, small: the embedded model takes it (the size was the only reason).
    small = messages(stack, {"model": "auto", "max_tokens": 8, "messages": [{"role": "user", "content": text[:200]}]})
    assert small.headers["x-router-model"] == "local-small"
    spent = usage(stack, session_id=session)
    prices = CLAUDE_STANDIN_PRICES
    assert spent["cost_usd"] == pytest.approx(
        spent["prompt_tokens"] * prices[0] + spent["completion_tokens"] * prices[1]
    )
    assert spent["cost_usd"] > 0


def test_claude_code_s_headers_and_fields_reach_a_claude_model_unchanged(stack: Stack) -> None:
    body = {**CLAUDE_CODE["body"], "model": CLAUDE_STANDIN, "stream": False}
    headers = {k: v for k, v in CLAUDE_CODE["headers"].items() if k.startswith(("anthropic-", "x-claude-code"))}
    resp = httpx.post(stack.router_url + "/v1/messages?beta=true", json=body, headers=headers, timeout=60)
    assert resp.status_code == 200, resp.text
    path, seen_headers, seen_body = stack.anthropic.requests[-1]
    assert path == "/v1/messages"
    # The router removes nothing for a Claude model. (LiteLLM itself rewrites adaptive thinking
    # into a budget for claude-sonnet-4-5 and consumes output_config: its mapping, not ours.)
    assert seen_body["thinking"]["type"] in ("adaptive", "enabled")
    assert seen_body["context_management"] == body["context_management"]
    assert seen_body["max_tokens"] == 128000
    assert "claude-code-20250219" in {k.lower(): v for k, v in seen_headers.items()}.get("anthropic-beta", "")


def test_a_subagent_s_usage_is_reported_apart_from_its_parent_s(stack: Stack) -> None:
    session = str(uuid.uuid4())
    body = {"model": "local-small", "max_tokens": 8, "messages": [{"role": "user", "content": "Say hi."}]}
    main = {"x-claude-code-session-id": session}
    sub = {**main, "x-claude-code-agent-id": "agent-explore-1", "x-claude-code-parent-agent-id": "agent-main"}
    for headers in (main, sub, sub):
        assert messages(stack, body, headers).status_code == 200
    spent = usage(stack, session_id=session)
    assert spent["requests"] == 3
    by_agent = {a["agent_id"]: a for a in spent["agents"]}
    assert set(by_agent) == {None, "agent-explore-1"}
    assert by_agent["agent-explore-1"]["parent_agent_id"] == "agent-main"
    assert (by_agent[None]["requests"], by_agent["agent-explore-1"]["requests"]) == (1, 2)
    assert usage(stack, agent_id="agent-explore-1")["requests"] == 2


def test_a_failing_model_falls_over_to_the_next_on_the_messages_api(stack: Stack) -> None:
    original = stack.rules.read_text()
    stack.rules.write_text(
        f"default:\n  model: {OVERLOADED}\n  fallbacks: [local-small]\n"
        f"rules:\n  - task_type: code_generation\n    model: {OVERLOADED}\n    fallbacks: [local-small]\n"
    )
    try:
        _wait_for_rule(stack, OVERLOADED)
        body = {"model": "auto", "max_tokens": 8, "messages": [{"role": "user", "content": "Say hi."}]}
        resp = messages(stack, body)
        assert resp.status_code == 200, resp.text
        assert resp.json()["type"] == "message"
        assert (resp.headers["x-router-tried"], resp.headers["x-router-model"]) == (
            f"{OVERLOADED},local-small",
            "local-small",
        )
    finally:
        stack.rules.write_text(original)
        _wait_for_rule(stack, "local-small")


def test_virtual_model_names_and_the_task_header_work_as_on_the_openai_api(stack: Stack) -> None:
    ask = {"max_tokens": 8, "messages": [{"role": "user", "content": "Say hi."}]}
    forced = messages(stack, {**ask, "model": "task/translation"})
    assert forced.status_code == 200 and forced.headers["x-router-task-type"] == "translation"
    hinted = messages(stack, {**ask, "model": "auto"}, {"x-task-type": "summarization"})
    assert hinted.status_code == 200 and hinted.headers["x-router-task-type"] == "summarization"
    bad = messages(stack, {**ask, "model": "task/knitting"})
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request_error"
