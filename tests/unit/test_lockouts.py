"""Lock-outs that lasted until a restart: a client that hangs up must not leave money reserved
or a circuit's trial "in flight" forever, and a new budget period starts clean.

The router runs in process on a real socket (uvicorn), so a client that gives up really closes
its connection, as an agent killed mid-request does.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from src.router.budget import BudgetTracker
from src.router.catalog import load_catalog
from src.router.ledger import Ledger
from src.router.rules import Budget, BudgetScope, Period
from src.router.settings import Settings
from src.router.spend_store import SqliteSpendStore
from src.router.sse import Relay
from tests.support.openai_stub import StubUpstream
from tests.support.router_harness import running_router
from tests.unit.test_budget import CHAT, app_with_key, budget_rules, ready, review


async def hang_up(base: str, body: dict[str, object]) -> None:
    """Send a request and give up on it after 0.5 s, closing the connection."""
    async with httpx.AsyncClient(base_url=base, timeout=0.5) as c:
        with pytest.raises(httpx.ReadTimeout):
            await c.post(CHAT, json=body)


async def test_a_client_that_hangs_up_leaves_nothing_reserved(
    settings: Settings, stub: tuple[StubUpstream, str]
) -> None:
    upstream, _ = stub
    settings.routing_rules.write_text(budget_rules(1.0))
    async with running_router(app_with_key(settings)) as base, httpx.AsyncClient(base_url=base, timeout=5) as c:
        await ready(c)
        upstream.mode = "hang"
        await hang_up(base, review(max_tokens=4000))
        await asyncio.wait_for(upstream.disconnected.wait(), 5)  # the router gave up on the upstream too
        budget = (await c.get("/v1/budget")).json()["budgets"][0]
    assert budget["in_flight_usd"] == 0
    assert budget["remaining_usd"] == pytest.approx(1.0)


async def test_a_half_open_trial_the_client_abandons_lets_the_next_request_try(
    settings: Settings, stub: tuple[StubUpstream, str]
) -> None:
    upstream, _ = stub
    settings = settings.model_copy(update={"breaker_failure_threshold": 1, "breaker_cooldown_s": 0.3})
    settings.routing_rules.write_text(
        "rules:\n  - task_type: code_review\n    model: claude-sonnet\n    fallbacks: [local-small]\n"
    )
    async with running_router(app_with_key(settings)) as base, httpx.AsyncClient(base_url=base, timeout=5) as c:
        await ready(c)
        upstream.fail_models = {"claude-sonnet"}
        assert (await c.post(CHAT, json=review())).headers["x-router-model"] == "local-small"  # circuit opens
        await asyncio.sleep(0.4)  # cool-down over: the next request is the half-open trial
        upstream.fail_models, upstream.mode = set(), "hang"
        await hang_up(base, review())
        await asyncio.wait_for(upstream.disconnected.wait(), 5)
        upstream.mode = "ok"
        again = await c.post(CHAT, json=review())
    assert again.status_code == 200
    assert again.headers["x-router-model"] == "claude-sonnet"


async def test_reservations_from_an_earlier_day_do_not_count_in_the_new_one(tmp_path: Path, settings: Settings) -> None:
    now = [datetime(2026, 3, 1, 23, 59, 50, tzinfo=UTC).timestamp()]
    daily = Budget(name="d", scope=BudgetScope.MODEL, target="claude-sonnet", period=Period.DAILY, limit_usd=1.0)
    tracker = BudgetTracker(
        load_catalog(settings.litellm_config),
        lambda: (daily,),
        SqliteSpendStore(Ledger(tmp_path / "l.sqlite3"), clock=lambda: now[0]),
        clock=lambda: now[0],
    )
    await tracker.open()
    try:
        assert not isinstance(await tracker.reserve("claude-sonnet", 0.9), str)  # then leaked: never settled
        await tracker.refresh()  # what /v1/budget does first
        assert tracker.report()["budgets"][0]["in_flight_usd"] == pytest.approx(0.9)
        now[0] += 20  # midnight UTC passes
        assert tracker.report()["budgets"][0]["in_flight_usd"] == 0
        assert not isinstance(await tracker.reserve("claude-sonnet", 0.9), str)
    finally:
        await tracker.close()


async def test_a_stream_the_upstream_cuts_is_recorded_with_its_output_before_the_error_event(
    settings: Settings, stub: tuple[StubUpstream, str]
) -> None:
    upstream, _ = stub
    settings.routing_rules.write_text(budget_rules(1.0))
    upstream.mode = "cut"  # the connection drops after the fourth event: no usage chunk, no [DONE]
    async with running_router(app_with_key(settings)) as base, httpx.AsyncClient(base_url=base, timeout=5) as c:
        await ready(c)
        async with c.stream("POST", CHAT, json={**review(content="x" * 48), "stream": True}) as resp:
            raw = b"".join([chunk async for chunk in resp.aiter_raw()])
        assert b'"error"' in raw and raw.endswith(b"data: [DONE]\n\n")
        # Read as soon as the client has the last event: the spend is already counted.
        spent = (await c.get("/v1/budget")).json()["spend_today_by_model"]["claude-sonnet"]
    prompt_only = 12 * 0.000003
    assert spent > prompt_only  # the text that was generated and relayed is charged too


async def test_a_stream_closed_before_its_first_event_still_runs_its_release() -> None:
    released: list[str] = []

    async def events():  # type: ignore[no-untyped-def]
        try:
            yield b"data: 1\n\n"
        finally:
            released.append("generator")  # never runs for a generator that never started

    unstarted = Relay(events(), lambda: released.append("unstarted"))
    await unstarted.aclose()
    started = Relay(events(), lambda: released.append("unstarted"))
    assert await started.__anext__() == b"data: 1\n\n"
    await started.aclose()
    assert released == ["unstarted", "generator"]
