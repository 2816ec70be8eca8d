"""Spend that must not escape the ledger, through the real LiteLLM proxy.

No cloud key exists here: `tests/support/cloud_stub.py` answers as OpenAI and Anthropic do
(their recorded formats) and records every call, and LiteLLM reaches it through `api_base`, so
each request really goes client -> router -> LiteLLM -> "Anthropic"/"OpenAI". The router is
started with the README's command (`uvicorn src.router.policy_router:app`), configured by the
environment. Each test states what a user (or the person paying) would see.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from src.stack.services import RunningService, free_port, start, wait_healthy
from src.stack.stack import litellm_spec, router_spec
from tests.integration.conftest import MASTER_KEY, REPO, base_env, wait_ready
from tests.support.cloud_stub import COMPLETION_TOKENS, PROMPT_TOKENS, CloudStub

pytestmark = [pytest.mark.integration]

OPUS_IN, OPUS_OUT = 0.000005, 0.000025
SONNET_IN, SONNET_OUT = 0.000003, 0.000015
MINI_IN, MINI_OUT = 0.00000015, 0.0000006

RULES = """
default:
  model: local-small
budgets:
  # 64,000 output tokens of Opus cost $1.60: over this cap, whatever the prompt.
  - name: opus-daily
    scope: model
    target: claude-opus
    period: daily
    limit_usd: 1.0
  - name: sonnet-daily
    scope: model
    target: claude-sonnet
    period: daily
    limit_usd: 0.10
"""


def _model(
    name: str, upstream: str, api_base: str, cost_in: float, cost_out: float, **info: object
) -> dict[str, object]:
    return {
        "model_name": name,
        "litellm_params": {"model": upstream, "api_base": api_base, "api_key": "sk-stub-not-a-real-key"},
        "model_info": {"input_cost_per_token": cost_in, "output_cost_per_token": cost_out, **info},
    }


def litellm_config(stub: CloudStub) -> dict[str, object]:
    return {
        "model_list": [
            _model("local-small", "openai/local-small", stub.url + "/v1", 0.0, 0.0),
            # A free model whose failures LiteLLM itself sends to Opus (an operator's fallback).
            _model("local-flaky", "openai/local-flaky", stub.url + "/v1", 0.0, 0.0),
            _model("claude-opus", "anthropic/claude-opus-4-5", stub.url, OPUS_IN, OPUS_OUT, max_output_tokens=64000),
            _model(
                "claude-sonnet", "anthropic/claude-sonnet-4-5", stub.url, SONNET_IN, SONNET_OUT, max_output_tokens=64000
            ),
            _model("gpt-mini", "openai/gpt-4o-mini", stub.url + "/v1", MINI_IN, MINI_OUT),
        ],
        "litellm_settings": {"telemetry": False, "num_retries": 0},
        "router_settings": {"num_retries": 0, "fallbacks": [{"local-flaky": ["claude-opus"]}]},
        "general_settings": {"master_key": "os.environ/LITELLM_MASTER_KEY"},
    }


@dataclass
class Rig:
    router: str
    stub: CloudStub
    ledger: Path
    services: dict[str, RunningService]

    def post(self, body: dict[str, object], key: str = "sk-any-local-client") -> httpx.Response:
        return httpx.post(
            self.router + "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=60
        )

    def usage(self, task: str) -> dict[str, object]:
        resp = httpx.get(self.router + "/v1/usage", params={"task_key": task}, timeout=10)
        assert resp.status_code == 200, resp.text
        data: dict[str, object] = resp.json()
        return data

    def rows(self, task: str) -> list[tuple[str, int, int, float]]:
        with sqlite3.connect(self.ledger) as conn:
            return list(
                conn.execute(
                    "SELECT model, prompt_tokens, completion_tokens, cost_usd FROM spend WHERE task_key=?", (task,)
                )
            )


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    tmp = tmp_path_factory.mktemp("money")
    stub = CloudStub().start()
    config = tmp / "litellm.yaml"
    config.write_text(yaml.safe_dump(litellm_config(stub), sort_keys=False))
    rules = tmp / "routing_rules.yaml"
    rules.write_text(RULES)
    litellm_port, router_port = free_port(), free_port()
    env = {**base_env(), "LEDGER_PATH": str(tmp / "ledger.sqlite3"), "GPU_SAMPLING": "false"}
    services: dict[str, RunningService] = {}
    try:
        for spec in (
            litellm_spec(config, litellm_port, MASTER_KEY, env),
            router_spec(
                router_port,
                litellm_url=f"http://127.0.0.1:{litellm_port}",
                master_key=MASTER_KEY,
                litellm_config=config,
                rules=rules,
                env=env,
                cwd=REPO,
            ),
        ):
            services[spec.name] = start(spec, tmp / "logs")
            wait_healthy(services[spec.name])
        wait_ready(f"http://127.0.0.1:{router_port}", services["router"])
        yield Rig(f"http://127.0.0.1:{router_port}", stub, tmp / "ledger.sqlite3", services)
    finally:
        for svc in reversed(list(services.values())):
            svc.stop()
        stub.stop()


@pytest.fixture(autouse=True)
def fresh_stub(rig: Rig) -> None:
    rig.stub.reset()


def hello(model: str, **extra: object) -> dict[str, object]:
    return {"model": model, "messages": [{"role": "user", "content": "Say hello."}], **extra}


# -- 1. client-supplied LiteLLM controls; pricing by the model that answered ----------------------
def test_a_client_fallbacks_list_is_refused_and_never_reaches_opus(rig: Rig) -> None:
    rig.stub.modes["local-small"] = "status:500"  # the local model fails, as in the bypass
    resp = rig.post(hello("local-small", fallbacks=["claude-opus"], max_tokens=8))
    assert resp.status_code == 400, resp.text
    err = resp.json()["error"]
    assert err["code"] == "litellm_control_field" and err["param"] == "fallbacks"
    assert rig.stub.calls("claude-opus-4-5") == []  # LiteLLM was never asked to call Opus


@pytest.mark.parametrize(
    "field",
    [
        {"router_settings_override": {"fallbacks": [{"local-small": ["claude-opus"]}]}},
        {"context_window_fallbacks": [{"local-small": ["claude-opus"]}]},
        {"mock_response": "free text"},
        {"input_cost_per_token": 0, "output_cost_per_token": 0},
    ],
    ids=lambda f: next(iter(f)),
)
def test_other_litellm_controls_are_refused_with_a_400(rig: Rig, field: dict[str, object]) -> None:
    resp = rig.post(hello("claude-sonnet", max_tokens=8, **field))
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] == "litellm_control_field"
    assert rig.stub.seen == []


def test_an_unknown_field_is_not_forwarded_to_litellm(rig: Rig) -> None:
    resp = rig.post(hello("claude-sonnet", max_tokens=8, x_provider_knob={"deployment": "opus"}))
    assert resp.status_code == 200, resp.text
    assert resp.headers["x-router-dropped-fields"] == "x_provider_knob"
    [call] = rig.stub.calls("claude-sonnet-4-5")
    assert "x_provider_knob" not in call.body


def test_an_answer_from_another_model_is_charged_at_that_models_price(rig: Rig) -> None:
    rig.stub.modes["local-flaky"] = "status:500"  # LiteLLM's own fallback sends it to Opus
    resp = rig.post(hello("local-flaky", max_tokens=8), key="sk-task-mismatch1")
    assert resp.status_code == 200, resp.text
    assert len(rig.stub.calls("claude-opus-4-5")) == 1
    expected: list[tuple[object, ...]] = [
        (
            "claude-opus",
            PROMPT_TOKENS,
            COMPLETION_TOKENS,
            pytest.approx(PROMPT_TOKENS * OPUS_IN + COMPLETION_TOKENS * OPUS_OUT),
        )
    ]
    assert rig.rows("mismatch1") == expected
    metrics = httpx.get(rig.router + "/metrics", timeout=10).text
    assert 'router_answer_model_mismatch_total{answered="claude-opus",chosen="local-flaky"} 1.0' in metrics


# -- 2. reservations: the model's real output ceiling, every part of the request ------------------
def test_a_request_without_max_tokens_reserves_the_models_output_ceiling(rig: Rig) -> None:
    # LiteLLM lets Opus write 64,000 tokens ($1.60) when max_tokens is unset: over the $1 cap.
    resp = rig.post(hello("claude-opus"))
    assert resp.status_code == 503, resp.text
    assert "opus-daily" in resp.json()["error"]["message"]
    assert rig.stub.calls("claude-opus-4-5") == []
    # With a max_tokens that fits, the same request is admitted.
    assert rig.post(hello("claude-opus", max_tokens=16)).status_code == 200


def test_tool_schemas_count_toward_the_reservation(rig: Rig) -> None:
    # ~120k tokens of tool schemas at $3/M is $0.36: over Sonnet's $0.10 cap, though the text is short.
    schema = {
        "type": "object",
        "properties": {f"field_{i}": {"type": "string", "description": "d" * 80} for i in range(4000)},
    }
    tools = [{"type": "function", "function": {"name": "big", "parameters": schema}}]
    resp = rig.post(hello("claude-sonnet", max_tokens=8, tools=tools))
    assert resp.status_code == 503, resp.text
    assert "sonnet-daily" in resp.json()["error"]["message"]
    assert rig.stub.calls("claude-sonnet-4-5") == []


# -- 3. cut streams -----------------------------------------------------------------------------
def test_a_stream_the_client_abandons_is_charged_for_the_output_it_received(rig: Rig) -> None:
    rig.stub.modes["gpt-4o-mini"] = "slow:0.3"  # one event every 0.3 s
    body = hello("gpt-mini", stream=True, max_tokens=64)
    headers = {"Authorization": "Bearer sk-task-cut1"}
    with httpx.stream("POST", rig.router + "/v1/chat/completions", json=body, headers=headers, timeout=30) as resp:
        assert resp.status_code == 200
        seen = b""
        for chunk in resp.iter_raw():
            seen += chunk
            if seen.count(b'"content":"') >= 3:  # a few words in, the client hangs up
                break
    deadline = time.monotonic() + 10
    while not rig.rows("cut1") and time.monotonic() < deadline:
        time.sleep(0.1)
    [(model, prompt, completion, cost)] = rig.rows("cut1")
    assert model == "gpt-mini"
    assert completion >= 2  # the words that reached the client were generated and billed
    assert cost == pytest.approx(prompt * MINI_IN + completion * MINI_OUT)


# -- 10. what clients are told about the backends --------------------------------------------------
def test_clients_never_learn_where_a_backend_lives(rig: Rig) -> None:
    address = rig.stub.url.removeprefix("http://")
    ok = rig.post(hello("claude-sonnet", max_tokens=8))
    assert ok.status_code == 200
    assert "x-litellm-model-api-base" not in ok.headers
    assert all(address not in v for v in ok.headers.values())
    rig.stub.modes["local-small"] = "status:500"
    failed = rig.post(hello("local-small", max_tokens=8))
    assert failed.status_code >= 500
    assert set(failed.json()["error"]) == {"message", "type", "param", "code"}
    assert address not in failed.text and "127.0.0.1" not in failed.text
