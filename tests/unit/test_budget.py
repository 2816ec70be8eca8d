"""Budgets under concurrency, the durable ledger, failover and the breaker, in process."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import httpx
import pytest

from src.router.policy_router import create_app
from src.router.settings import Settings
from tests.support.openai_stub import StubUpstream
from tests.support.router_harness import in_process

CHAT = "/v1/chat/completions"
# The stub answers with usage 12 prompt + 5 completion tokens; claude-sonnet's price in the
# shipped config is $3/M in and $15/M out, so each answer costs exactly this much:
COST = 12 * 0.000003 + 5 * 0.000015


def budget_rules(limit: float) -> str:
    return f"""
rules:
  - task_type: code_review
    model: claude-sonnet
budgets:
  - name: claude-daily
    scope: model
    target: claude-sonnet
    period: daily
    limit_usd: {limit!r}
"""


def app_with_key(settings: Settings):  # type: ignore[no-untyped-def]
    # claude-sonnet stands in for a paid cloud API here; the stub answers in OpenAI's format.
    return create_app(settings, environ=lambda: {"ANTHROPIC_API_KEY": "sk-ant-test"})


def review(content: str = "x" * 48, max_tokens: int | None = 5) -> dict[str, object]:
    body: dict[str, object] = {"model": "task/code_review", "messages": [{"role": "user", "content": content}]}
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    return body


async def ready(c: httpx.AsyncClient) -> None:
    """The burst below is about the cap, not about start-up: wait until the first probe is in."""
    for _ in range(100):
        if (await c.get("/ready")).status_code == 200:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the router never became ready")


def ledger_rows(path: Path) -> list[tuple[str, float]]:
    with sqlite3.connect(path) as conn:
        return list(conn.execute("SELECT response_id, cost_usd FROM spend"))


async def test_200_concurrent_requests_never_overshoot_the_cap(settings: Settings) -> None:
    # 48 characters = 12 estimated prompt tokens and max_tokens=5: each request reserves exactly
    # what it will cost, so the bound on overshoot is zero and exactly 100 requests fit.
    settings.routing_rules.write_text(budget_rules(100 * COST * (1 + 1e-9)))
    app = app_with_key(settings)
    async with (
        in_process(app, client_timeout_s=30) as c,
    ):
        await ready(c)
        responses = await asyncio.gather(*(c.post(CHAT, json=review()) for _ in range(200)))
        report = (await c.get("/v1/budget")).json()
    ok = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code != 200]
    assert len(ok) == 100, [r.text[:200] for r in refused[:3]]
    assert {r.status_code for r in refused} == {503}
    assert "budget 'claude-daily'" in refused[0].json()["error"]["message"]
    spent = report["budgets"][0]["spent_usd"]
    assert spent == pytest.approx(100 * COST) and spent <= report["budgets"][0]["limit_usd"]
    assert report["budgets"][0]["in_flight_usd"] == 0
    # Every answered request is in the ledger, once, with its cost.
    rows = ledger_rows(settings.ledger_path)
    assert sorted(r for r, _ in rows) == sorted(r.json()["id"] for r in ok)
    assert sum(c for _, c in rows) == pytest.approx(spent)


async def test_overshoot_stays_within_the_in_flight_bound_when_estimates_are_low(settings: Settings) -> None:
    # "hi" is estimated at 1 prompt token but billed as 12: each request in flight can exceed
    # its reservation by 11 input tokens. The cap may be passed by at most that per request.
    limit = 50 * COST
    settings.routing_rules.write_text(budget_rules(limit))
    app = app_with_key(settings)
    async with (
        in_process(app, client_timeout_s=30) as c,
    ):
        await ready(c)
        responses = await asyncio.gather(*(c.post(CHAT, json=review("hi")) for _ in range(200)))
        spent = (await c.get("/v1/budget")).json()["budgets"][0]["spent_usd"]
    ok = sum(r.status_code == 200 for r in responses)
    underestimate = 11 * 0.000003
    assert spent == pytest.approx(ok * COST)
    assert spent <= limit + 200 * underestimate
    assert ok < 200  # the cap did stop requests


async def test_spend_survives_a_restart(settings: Settings) -> None:
    settings.routing_rules.write_text(budget_rules(1.0))
    for _ in range(2):
        app = app_with_key(settings)
        async with (
            in_process(app) as c,
        ):
            assert (await c.post(CHAT, json=review())).status_code == 200
            spent = (await c.get("/v1/budget")).json()["budgets"][0]["spent_usd"]
    assert spent == pytest.approx(2 * COST)


async def test_a_streamed_answer_is_costed_from_its_usage_chunk(
    settings: Settings, stub: tuple[StubUpstream, str]
) -> None:
    settings.routing_rules.write_text(budget_rules(1.0))
    app = app_with_key(settings)
    async with (
        in_process(app) as c,
    ):
        r = await c.post(CHAT, json={**review(), "stream": True})
        assert r.status_code == 200 and r.text.endswith("data: [DONE]\n\n")
        spent = (await c.get("/v1/budget")).json()["spend_today_by_model"]["claude-sonnet"]
    # The recorded OpenAI stream reports 87 prompt and 26 completion tokens in its usage chunk.
    assert spent == pytest.approx(87 * 0.000003 + 26 * 0.000015)


async def test_a_failing_model_falls_back_and_its_circuit_opens(
    settings: Settings, stub: tuple[StubUpstream, str]
) -> None:
    upstream, _ = stub
    settings.routing_rules.write_text(
        "rules:\n  - task_type: code_review\n    model: claude-sonnet\n    fallbacks: [local-small]\n"
    )
    app = app_with_key(settings)
    upstream.fail_models = {"claude-sonnet"}
    async with (
        in_process(app) as c,
    ):
        for _ in range(5):
            r = await c.post(CHAT, json=review())
            assert r.status_code == 200
            assert r.headers["x-router-model"] == "local-small"
        tried = [b["model"] for b in upstream.requests]
        # Three failures open the circuit; after that claude-sonnet is not even tried.
        assert tried.count("claude-sonnet") == 3
        ready = (await c.get("/ready")).json()
        assert ready["models"]["claude-sonnet"]["breaker"] == "open"
        route = (await c.post("/v1/route", json=review())).json()
        assert route["model"] == "local-small"
        assert "circuit open" in route["signals"]["skipped"][0]["why"]


async def test_usage_is_attributed_to_the_task_key_and_to_the_model_that_answered(settings: Settings) -> None:
    app = app_with_key(settings)
    async with (
        in_process(app) as c,
    ):
        body = {"model": "local-small", "messages": [{"role": "user", "content": "hi"}]}
        for _ in range(3):
            r = await c.post(CHAT, json=body, headers={"Authorization": "Bearer sk-task-demo--refine"})
            assert r.status_code == 200
        await c.post(CHAT, json=body, headers={"Authorization": "Bearer sk-someone-else"})
        usage = (await c.get("/v1/usage", params={"task_key": "demo--refine"})).json()
        other = (await c.get("/v1/usage", params={"task_key": "demo--plan"})).json()
    # Free local requests are tallied in memory; /v1/usage flushes them first.
    assert usage == {
        "task_key": "demo--refine",
        "requests": 3,
        "prompt_tokens": 36,
        "completion_tokens": 15,
        "cost_usd": 0.0,
        "models": {"local-small": {"requests": 3, "prompt_tokens": 36, "completion_tokens": 15, "cost_usd": 0.0}},
    }
    assert other["requests"] == 0 and other["models"] == {}
