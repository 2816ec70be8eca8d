"""Task keys: one format (src/router/task_keys.py) with an expiry and a scope the router enforces —
the task, the models it may call, the task card's spend ceiling, and its own usage only."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from src.agents.agent_coordinator import task_key
from src.router.settings import Settings
from src.router.task_keys import TaskKeyError, mint, read, router_key_from_env, verify
from tests.support.router_harness import in_process
from tests.unit.test_budget import COST, app_with_key, review

ROUTER_KEY = "sk-router-0123456789abcdef"
CHAT = "/v1/chat/completions"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
async def locked(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    settings.routing_rules.write_text(
        "rules:\n  - task_type: code_review\n    model: claude-sonnet\n    fallbacks: [local-small]\n"
    )
    app = app_with_key(settings.model_copy(update={"router_api_keys": SecretStr(ROUTER_KEY)}))
    async with in_process(app) as c:
        for _ in range(100):  # the first availability probe, before the requests below
            if (await c.get("/ready", headers=bearer(ROUTER_KEY))).status_code == 200:
                break
            await asyncio.sleep(0.05)
        yield c


def test_a_task_id_with_dots_survives_the_round_trip() -> None:
    key = mint(ROUTER_KEY, "release.v1.2", "plan", models=("claude-sonnet",), max_cost_usd=0.5)
    claims = verify(key, (ROUTER_KEY,))
    assert claims is not None
    assert (claims.task, claims.step, claims.attribution) == ("release.v1.2", "plan", "release.v1.2--plan")
    assert claims.models == ("claude-sonnet",) and claims.max_cost_usd == 0.5
    assert read(key) == claims


def test_expired_forged_and_old_format_keys_are_refused_when_the_router_has_keys() -> None:
    with pytest.raises(TaskKeyError, match="expired"):
        verify(mint(ROUTER_KEY, "t1", "plan", ttl_s=60, now=time.time() - 120), (ROUTER_KEY,))
    with pytest.raises(TaskKeyError, match="signature"):
        verify(mint("sk-someone-else", "t1", "plan"), (ROUTER_KEY,))
    with pytest.raises(TaskKeyError, match="old format"):
        verify("sk-task-t1--plan.0123456789abcdef0123456789abcdef", (ROUTER_KEY,))


async def test_an_expired_task_key_gets_401(locked: httpx.AsyncClient) -> None:
    old = mint(ROUTER_KEY, "t1", "plan", ttl_s=1, now=time.time() - 10)
    resp = await locked.post(CHAT, json=review(), headers=bearer(old))
    assert resp.status_code == 401 and "expired" in resp.json()["error"]["message"]


async def test_a_task_key_may_call_only_its_models(locked: httpx.AsyncClient) -> None:
    key = mint(ROUTER_KEY, "t2", "implement", models=("local-small",))
    pinned = await locked.post(CHAT, json={**review(), "model": "claude-sonnet"}, headers=bearer(key))
    assert pinned.status_code == 403 and pinned.json()["error"]["code"] == "model_not_allowed"
    routed = await locked.post(CHAT, json=review(), headers=bearer(key))  # the rule picks claude-sonnet first
    assert routed.status_code == 200 and routed.headers["x-router-model"] == "local-small"


async def test_the_task_cards_spend_ceiling_is_enforced_across_its_steps(locked: httpx.AsyncClient) -> None:
    ceiling = 1.5 * COST  # one answer fits, a second would not
    plan = mint(ROUTER_KEY, "t3", "plan", max_cost_usd=ceiling)
    review_key = mint(ROUTER_KEY, "t3", "review", max_cost_usd=ceiling)
    first = await locked.post(CHAT, json={**review(), "model": "claude-sonnet"}, headers=bearer(plan))
    assert first.status_code == 200, first.text
    second = await locked.post(CHAT, json={**review(), "model": "claude-sonnet"}, headers=bearer(review_key))
    assert second.status_code == 403, second.text
    assert second.json()["error"]["code"] == "task_budget_exhausted"
    # A free model adds no spend: the task may still use it.
    free = await locked.post(CHAT, json={**review(), "model": "local-small"}, headers=bearer(review_key))
    assert free.status_code == 200


async def test_a_task_key_reads_only_its_own_tasks_usage(locked: httpx.AsyncClient) -> None:
    key = mint(ROUTER_KEY, "t4", "plan")
    assert (await locked.get("/v1/usage", params={"task_key": "t4--review"}, headers=bearer(key))).status_code == 200
    other = await locked.get("/v1/usage", params={"task_key": "t5--plan"}, headers=bearer(key))
    assert other.status_code == 403


def test_the_coordinator_signs_with_router_api_keys_and_still_reads_the_old_name() -> None:
    assert router_key_from_env({"ROUTER_API_KEYS": f" {ROUTER_KEY} , sk-second"}) == ROUTER_KEY
    with pytest.warns(DeprecationWarning, match="ROUTER_API_KEYS"):
        assert router_key_from_env({"ROUTER_API_KEY": ROUTER_KEY}) == ROUTER_KEY
    assert router_key_from_env({}) is None
    claims = verify(task_key("t6", "fix", ROUTER_KEY, max_cost_usd=2.0), (ROUTER_KEY, "sk-second"))
    assert claims is not None and claims.attribution == "t6--fix" and claims.max_cost_usd == 2.0
