"""100,000 requests of mixed kinds through a real router process: memory, sockets, file
descriptors and tasks come back to where they were."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import aiohttp
import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

from src.stack.services import free_port, start, wait_healthy
from src.stack.stack import router_spec
from tests.integration.conftest import REPO, base_env
from tests.support.openai_stub import StubUpstream, serve
from tests.support.router_harness import MASTER_KEY, write_configs

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(1200)]

TOTAL = 100_000
CONCURRENCY = 32


async def _tasks(session: aiohttp.ClientSession, base: str) -> float:
    async with session.get(base + "/metrics") as resp:
        text = await resp.text()
    for family in text_string_to_metric_families(text):
        if family.name == "router_asyncio_tasks":
            return family.samples[0].value
    raise AssertionError("router_asyncio_tasks not exported")


async def _one(session: aiohttp.ClientSession, base: str, kind: str) -> int:
    msgs = [{"role": "user", "content": "Say hi"}]
    if kind == "json":
        async with session.post(base + "/v1/chat/completions", json={"model": "auto", "messages": msgs}) as r:
            await r.read()
            return r.status
    if kind == "error":
        async with session.post(base + "/v1/chat/completions", json={"model": "nope", "messages": msgs}) as r:
            await r.read()
            return r.status
    if kind == "bad":
        async with session.post(base + "/v1/chat/completions", data=b"{oops") as r:
            await r.read()
            return r.status
    body = {"model": "auto", "stream": True, "messages": msgs}
    async with session.post(base + "/v1/chat/completions", json=body) as r:
        if kind == "disconnect":
            await r.content.readany()
            r.close()  # hang up mid-stream
            return 299
        await r.read()
        return r.status


def _snapshot(proc: psutil.Process) -> tuple[int, int, int]:
    return proc.memory_info().rss, proc.num_fds(), len(proc.net_connections())


async def test_100k_mixed_requests_leave_no_leak(tmp_path: Path) -> None:
    stub = StubUpstream()
    runner, stub_url = await serve(stub)
    settings = write_configs(tmp_path, stub_url)
    port = free_port()
    spec = router_spec(
        port,
        litellm_url=stub_url,
        master_key=MASTER_KEY,
        litellm_config=settings.litellm_config,
        rules=settings.routing_rules,
        env={**base_env(), "LEDGER_PATH": str(tmp_path / "l.sqlite3")},
        cwd=REPO,
    )
    router = start(spec, tmp_path / "logs")
    base = f"http://127.0.0.1:{port}"
    kinds = random.Random(7).choices(["json", "stream", "error", "bad", "disconnect"], [55, 25, 8, 7, 5], k=TOTAL)
    statuses: dict[int, int] = {}
    try:
        await asyncio.to_thread(wait_healthy, router)
        proc = psutil.Process(router.pid)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as session:
            queue = iter(kinds)

            async def worker() -> None:
                for kind in queue:
                    status = await _one(session, base, kind)
                    statuses[status] = statuses.get(status, 0) + 1

            async def run(n: int) -> None:
                nonlocal queue
                queue = iter(kinds[:n]) if n < TOTAL else iter(kinds)
                await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))

            await run(5_000)  # warm-up: caches, pools, lazily created metric children
            await asyncio.sleep(1.5)  # let the ledger flush and idle tasks settle
            rss0, fds0, conns0 = _snapshot(proc)
            tasks0 = await _tasks(session, base)
            statuses.clear()
            await run(TOTAL)
            await asyncio.sleep(1.5)
            rss1, fds1, conns1 = _snapshot(proc)
            tasks1 = await _tasks(session, base)
    finally:
        router.stop()
        await runner.cleanup()

    print(
        f"soak: {TOTAL} requests {statuses}; RSS {rss0 >> 20} -> {rss1 >> 20} MB, fds {fds0} -> {fds1}, "
        f"sockets {conns0} -> {conns1}, tasks {tasks0:g} -> {tasks1:g}"
    )
    assert sum(statuses.values()) == TOTAL
    assert set(statuses) <= {200, 299, 400, 404}, statuses
    assert rss1 <= rss0 * 1.10, f"RSS grew from {rss0 >> 20} MB to {rss1 >> 20} MB"
    assert fds1 <= fds0 + 4, f"file descriptors: {fds0} -> {fds1}"
    assert conns1 <= conns0 + 4, f"sockets: {conns0} -> {conns1}"
    assert tasks1 <= tasks0 + 2, f"event-loop tasks: {tasks0} -> {tasks1}"
