"""kill -9 the router during 200 concurrent requests; restart; the ledger lost nothing answered.

The upstream is the in-process stub (it stands in for a paid cloud API, in OpenAI's format),
so that every answer has a known cost; the router is a real process, killed for real.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import httpx
import pytest

from src.stack.services import free_port, start, wait_healthy
from src.stack.stack import router_spec
from tests.integration.conftest import REPO, base_env
from tests.support.openai_stub import StubUpstream, serve
from tests.support.router_harness import MASTER_KEY, write_configs

pytestmark = [pytest.mark.integration, pytest.mark.slow]

COST = 12 * 0.000003 + 5 * 0.000015  # the stub's usage at claude-sonnet's price


async def test_kill_9_during_200_requests_loses_no_answered_spend(tmp_path: Path) -> None:
    stub = StubUpstream()
    runner, stub_url = await serve(stub)
    settings = write_configs(tmp_path, stub_url)
    settings.routing_rules.write_text(
        "rules:\n  - task_type: code_review\n    model: claude-sonnet\n"
        "budgets:\n  - {name: all, scope: total, period: monthly, limit_usd: 100}\n"
    )
    ledger = tmp_path / "ledger.sqlite3"
    port = free_port()
    env = {**base_env(), "LEDGER_PATH": str(ledger), "ANTHROPIC_API_KEY": "sk-ant-test"}
    spec = router_spec(
        port,
        litellm_url=stub_url,
        master_key=MASTER_KEY,
        litellm_config=settings.litellm_config,
        rules=settings.routing_rules,
        env=env,
        cwd=REPO,
    )
    router = start(spec, tmp_path / "logs")
    try:
        await asyncio.to_thread(wait_healthy, router)
        acked: list[str] = []
        forty_answered = asyncio.Event()
        body = {"model": "task/code_review", "max_tokens": 5, "messages": [{"role": "user", "content": "x" * 48}]}

        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:

            async def one() -> None:
                try:
                    resp = await client.post("/v1/chat/completions", json=body)
                except httpx.HTTPError:
                    return  # cut by the kill: not acknowledged
                if resp.status_code == 200:
                    acked.append(resp.json()["id"])
                    if len(acked) >= 40:
                        forty_answered.set()

            tasks = [asyncio.create_task(one()) for _ in range(200)]
            await asyncio.wait_for(forty_answered.wait(), timeout=60)
            router.kill()  # SIGKILL, mid-run
            await asyncio.gather(*tasks)
        assert 40 <= len(acked) < 200, "the kill must land while requests are in flight"

        router = start(spec, tmp_path / "logs")
        await asyncio.to_thread(wait_healthy, router)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            report = (await client.get("/v1/budget")).json()
    finally:
        router.kill()
        await runner.cleanup()

    with sqlite3.connect(ledger) as conn:
        rows = dict(conn.execute("SELECT response_id, cost_usd FROM spend"))
    answered_upstream = len(stub.requests)
    # Every acknowledged answer is in the ledger, exactly once...
    assert set(acked) <= set(rows)
    assert len(rows) == len(set(rows))
    # ...and the ledger holds nothing the upstream did not answer (rows beyond the acknowledged
    # ones are answers the upstream billed but the kill kept from reaching the client).
    assert len(acked) <= len(rows) <= answered_upstream
    assert report["budgets"][0]["spent_usd"] == pytest.approx(sum(rows.values()))
    assert sum(rows[i] for i in acked) == pytest.approx(len(acked) * COST)
