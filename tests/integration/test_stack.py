"""The real chain, through the official OpenAI SDK: router -> LiteLLM -> llama-server (SmolLM2)."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.integration.conftest import MASTER_KEY, Stack

pytestmark = pytest.mark.integration

HELLO = [{"role": "user", "content": "Say hello in five words."}]


def sdk(stack: Stack) -> openai.OpenAI:
    # The client uses a key of its own; the router holds LiteLLM's master key.
    return openai.OpenAI(base_url=stack.router_url + "/v1", api_key="sk-client-own-key", max_retries=0, timeout=60)


def test_auto_answers_from_smollm2_through_litellm(stack: Stack) -> None:
    raw = sdk(stack).chat.completions.with_raw_response.create(model="auto", messages=HELLO, max_tokens=32)
    completion = raw.parse()
    assert completion.choices[0].message.content
    assert completion.model == "local-small"
    assert completion.usage is not None and completion.usage.completion_tokens > 0
    assert raw.headers["x-router-model"] == "local-small"
    assert raw.headers["x-router-rule"] == "default"
    # The answer went through LiteLLM: its own response header is on it.
    assert "x-litellm-call-id" in raw.headers


def test_streaming_delivers_deltas_and_a_finish_reason(stack: Stack) -> None:
    stream = sdk(stack).chat.completions.create(model="auto", messages=HELLO, max_tokens=32, stream=True)
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip()
    assert len(chunks) > 2
    assert any(c.choices and c.choices[0].finish_reason for c in chunks)


def test_models_lists_litellm_models_and_the_virtual_ones(stack: Stack) -> None:
    ids = {m.id for m in sdk(stack).models.list()}
    assert {"local-small", "llama-cpp-7b", "claude-sonnet", "auto", "task/sentiment"} <= ids


def test_unknown_model_is_a_404_naming_the_available_ones(stack: Stack) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        sdk(stack).chat.completions.create(model="gpt-17", messages=HELLO)
    assert "local-small" in str(info.value)


def test_invalid_json_is_a_400_envelope(stack: Stack) -> None:
    resp = httpx.post(
        stack.router_url + "/v1/chat/completions",
        content=b'{"model": "auto", "messages": [',
        headers={"content-type": "application/json"},
    )
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "invalid_json"


def test_a_task_whose_backends_are_down_falls_through_to_the_embedded_model(stack: Stack) -> None:
    raw = sdk(stack).chat.completions.with_raw_response.create(
        model="task/sentiment",
        max_tokens=8,
        messages=[{"role": "user", "content": "Is this review positive or negative? 'Great phone, love it.'"}],
    )
    assert raw.parse().choices[0].message.content
    assert raw.headers["x-router-task-type"] == "sentiment"
    assert raw.headers["x-router-rule"] == "sentiment#0"
    assert raw.headers["x-router-model"] == "local-small"


def test_ready_reports_each_model_state(stack: Stack) -> None:
    ready = httpx.get(stack.router_url + "/ready").json()
    assert ready["ready"] is True
    assert ready["models"]["local-small"]["available"] is True
    assert ready["models"]["llama-cpp-7b"]["available"] is False
    assert "backend down" in ready["models"]["llama-cpp-7b"]["reason"]
    assert "ANTHROPIC_API_KEY" in ready["models"]["claude-sonnet"]["reason"]


def test_a_pinned_model_whose_backend_is_down_gets_an_error_envelope(stack: Stack) -> None:
    with pytest.raises(openai.APIStatusError) as info:
        sdk(stack).chat.completions.create(model="llama-cpp-7b", messages=HELLO, max_tokens=8)
    assert info.value.status_code >= 500
    assert isinstance(info.value.body, dict) and "message" in info.value.body


def test_a_request_with_tools_is_answered_through_the_chain(stack: Stack) -> None:
    """Agents send tool schemas on every request; the chain must accept and answer them.

    This does not show tool *calls*: SmolLM2's chat template renders no tools (llama-server
    counts the same 37 prompt tokens with and without them, and ignores `tool_choice:
    required`), so a real tool call needs a tool-capable model."""
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather for a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
            },
        }
    ]
    raw = sdk(stack).chat.completions.with_raw_response.create(
        model="auto",
        messages=[{"role": "user", "content": "What is the weather in Paris?"}],
        tools=tools,
        max_tokens=16,
    )
    completion = raw.parse()
    assert raw.headers["x-router-model"] == "local-small"
    assert completion.choices[0].message.content
    assert completion.usage is not None and completion.usage.completion_tokens > 0


def test_the_master_key_is_never_returned_to_clients(stack: Stack) -> None:
    for path in ("/ready", "/v1/models", "/health"):
        assert MASTER_KEY not in httpx.get(stack.router_url + path).text


@pytest.mark.parametrize(
    "content",
    [
        "Translate to German: the build is green",
        "Write a Python function that reverses a list",
        "What is the capital of France?",
    ],
)
def test_route_and_the_response_headers_agree_with_what_was_forwarded(stack: Stack, content: str) -> None:
    body = {"model": "auto", "messages": [{"role": "user", "content": content}], "max_tokens": 8}
    explained = httpx.post(stack.router_url + "/v1/route", json=body).json()
    resp = httpx.post(stack.router_url + "/v1/chat/completions", json=body, timeout=60)
    assert resp.status_code == 200, resp.text
    assert resp.headers["x-router-task-type"] == explained["task_type"]
    assert resp.headers["x-router-rule"] == explained["rule"]
    assert resp.headers["x-router-model"] == explained["model"]
    # LiteLLM names the model it actually called in the body.
    assert resp.json()["model"] == explained["model"]


def test_load_reads_the_real_llama_server_metrics_and_psutil(stack: Stack) -> None:
    load = httpx.get(stack.router_url + "/v1/load").json()
    assert load["backend_queue"]["local-small"] == 0
    assert load["backend_running"]["local-small"] >= 0
    assert 0 <= load["cpu_ratio"] <= 1 and 0 < load["memory_ratio"] < 1
    # No GPU here: the stack's router reads a sampler that stands in for NVML.
    assert 0 < load["gpu_utilization_ratio"] <= 1
    # The vLLM stand-in's /metrics (the recorded format, under load) is read and parsed.
    assert load["backend_queue"]["vllm-overloaded"] == 3
    assert load["backend_kv_cache_ratio"]["vllm-overloaded"] == 0.42
    assert any("llama-cpp-7b" in n and "unreachable" in n for n in load["notes"])
    assert load["age_s"]["host"] is not None and load["age_s"]["host"] < 5


def test_logs_hold_no_key_and_no_prompt(stack: Stack) -> None:
    marker = "zebra-quartz-7731-private-prompt"
    sdk(stack).chat.completions.create(model="auto", messages=[{"role": "user", "content": marker}], max_tokens=4)
    httpx.post(
        stack.router_url + "/v1/chat/completions", content=b"{broken", headers={"content-type": "application/json"}
    )
    router_log = stack.services["router"].log_path.read_text(errors="replace")
    assert MASTER_KEY not in router_log, "the router's log holds the master key"
    for name in ("router", "litellm"):
        log = stack.services[name].log_path.read_text(errors="replace")
        assert marker not in log, f"{name} log holds prompt text"
        assert "sk-client-own-key" not in log, f"{name} log holds a client key"
