"""Many router processes, one budget: real processes sharing one machine's ledger.

Three router processes serve one budget here: the launcher's `ROUTER_WORKERS=2` (uvicorn
`--workers 2` on one port) and a second router, started with the README's command, on another
port with the same `LEDGER_PATH`. Priced requests go through the real LiteLLM proxy to the
paid-cloud stand-in (`tests/support/cloud_stub.py`), so each answer costs exactly what
LiteLLM's usage says.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import yaml

from src.stack.services import RunningService, ServiceSpec, free_port, start, wait_healthy
from src.stack.stack import litellm_spec, router_spec
from tests.integration.conftest import MASTER_KEY, REPO, base_env, wait_ready
from tests.integration.test_money import SONNET_IN, SONNET_OUT, litellm_config
from tests.support.cloud_stub import COMPLETION_TOKENS, PROMPT_TOKENS, CloudStub

pytestmark = [pytest.mark.integration]

COST = PROMPT_TOKENS * SONNET_IN + COMPLETION_TOKENS * SONNET_OUT  # one answer of claude-sonnet
LEASE_S = 2.0
# 48 characters are estimated at 12 prompt tokens, the stub's usage; max_tokens is its 5
# completion tokens: each request reserves exactly what it will cost.
ASK = {"model": "claude-sonnet", "max_tokens": COMPLETION_TOKENS, "messages": [{"role": "user", "content": "x" * 48}]}


def rules(limit: float) -> str:
    return f"""
default:
  model: local-small
rules:
  - task_type: code_review
    model: claude-sonnet
budgets:
  - name: sonnet-daily
    scope: model
    target: claude-sonnet
    period: daily
    limit_usd: {limit!r}
"""


@dataclass
class Fleet:
    workers: str  # the launcher's ROUTER_WORKERS=2: two uvicorn workers on one port
    single: str  # one more router process on its own port, same ledger
    stub: CloudStub
    ledger: Path
    rules: Path
    services: dict[str, RunningService]

    def budget(self, url: str) -> dict[str, object]:
        resp = httpx.get(url + "/v1/budget", timeout=10)
        assert resp.status_code == 200, resp.text
        report: dict[str, object] = resp.json()["budgets"][0]
        return report

    def spend(self) -> tuple[list[str], float, float]:
        """The ledger's paid answers (response ids), their summed cost, and today's running total."""
        with sqlite3.connect(self.ledger) as conn:
            rows = conn.execute("SELECT response_id, cost_usd FROM spend WHERE cost_usd > 0").fetchall()
            day = datetime.now(UTC).strftime("%Y-%m-%d")
            total = conn.execute("SELECT COALESCE(SUM(cost_usd),0) FROM spend_totals WHERE period=?", (day,)).fetchone()
        return [r for r, _ in rows], sum(c for _, c in rows), total[0]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    tmp = tmp_path_factory.mktemp("fleet")
    stub = CloudStub().start()
    config = tmp / "litellm.yaml"
    config.write_text(yaml.safe_dump(litellm_config(stub), sort_keys=False))
    rules_file = tmp / "routing_rules.yaml"
    rules_file.write_text(rules(1.0))
    ledger = tmp / "ledger.sqlite3"
    env = {
        **base_env(),
        "LEDGER_PATH": str(ledger),
        "GPU_SAMPLING": "false",
        "RESERVATION_LEASE_S": str(LEASE_S),
        "RULES_POLL_INTERVAL_S": "0.2",
    }
    litellm_port, workers_port, single_port = free_port(), free_port(), free_port()
    litellm_url = f"http://127.0.0.1:{litellm_port}"

    def router(name: str, port: int, workers: int) -> ServiceSpec:
        spec = router_spec(
            port,
            litellm_url=litellm_url,
            master_key=MASTER_KEY,
            litellm_config=config,
            rules=rules_file,
            env=env,
            cwd=REPO,
            workers=workers,
            multiproc_dir=tmp / f"{name}-metrics",
        )
        return dataclasses.replace(spec, name=name)

    specs = [
        litellm_spec(config, litellm_port, MASTER_KEY, env),
        router("router-workers", workers_port, 2),
        router("router-single", single_port, 1),
    ]
    services: dict[str, RunningService] = {}
    try:
        for spec in specs:
            services[spec.name] = start(spec, tmp / "logs")
            wait_healthy(services[spec.name])
        workers, single = f"http://127.0.0.1:{workers_port}", f"http://127.0.0.1:{single_port}"
        wait_ready(workers, services["router-workers"])
        wait_ready(single, services["router-single"])
        yield Fleet(workers, single, stub, ledger, rules_file, services)
    finally:
        for svc in reversed(list(services.values())):
            svc.stop()
        stub.stop()


async def _burst(urls: list[str], n: int) -> list[httpx.Response | Exception]:
    limits = httpx.Limits(max_connections=n)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:

        async def one(i: int) -> httpx.Response | Exception:
            try:
                return await client.post(urls[i % len(urls)] + "/v1/chat/completions", json=ASK)
            except httpx.HTTPError as exc:  # a router killed mid-request
                return exc

        return await asyncio.gather(*(one(i) for i in range(n)))


def _set_cap(fleet: Fleet, limit: float) -> None:
    fleet.rules.write_text(rules(limit))
    deadline = time.monotonic() + 10
    for url in (fleet.workers, fleet.single):  # every process reloads the file (polled every 0.2 s)
        while fleet.budget(url)["limit_usd"] != limit:
            assert time.monotonic() < deadline, f"{url} did not reload the rules"
            time.sleep(0.1)
    time.sleep(0.5)  # the second worker behind the shared port, too


def test_three_processes_admit_exactly_the_cap_under_200_concurrent_requests(fleet: Fleet) -> None:
    _, before, _ = fleet.spend()
    limit = before + 100 * COST * (1 + 1e-9)  # exactly 100 more answers fit
    _set_cap(fleet, limit)
    responses = asyncio.run(_burst([fleet.workers, fleet.single], 200))
    ok = [r for r in responses if isinstance(r, httpx.Response) and r.status_code == 200]
    refused = [r for r in responses if isinstance(r, httpx.Response) and r.status_code != 200]
    assert len(ok) == 100, [r.text[:300] for r in refused[:3]]
    via_workers = sum(str(r.request.url).startswith(fleet.workers) for r in ok)
    assert len(refused) == 100 and {r.status_code for r in refused} == {503}
    assert "budget 'sonnet-daily'" in refused[0].json()["error"]["message"]
    assert len(fleet.stub.calls("claude-sonnet-4-5")) >= 100  # (and the cap was reached at LiteLLM's door)
    ids, total, running = fleet.spend()
    assert total - before == pytest.approx(100 * COST)
    assert running == pytest.approx(total)  # the running total is the rows' sum: nothing counted twice
    assert {r.json()["id"] for r in ok} <= set(ids)  # every answer a client got is in the ledger
    # Whichever process answers, it shows the whole machine's spend.
    for url in (fleet.workers, fleet.workers, fleet.single):
        report = fleet.budget(url)
        assert report["spent_usd"] == pytest.approx(total, abs=1e-8)
        assert report["in_flight_usd"] == 0
    # /metrics on the workers' port merges both workers' counters (prometheus multiprocess mode).
    metrics = httpx.get(fleet.workers + "/metrics", timeout=10).text
    answered = sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("router_requests_total{") and 'model="claude-sonnet"' in line and 'outcome="ok"' in line
    )
    assert answered == via_workers


def test_a_router_killed_mid_burst_strands_no_reservation_and_loses_no_acknowledged_answer(fleet: Fleet) -> None:
    _, before, _ = fleet.spend()
    _set_cap(fleet, before + 100 * COST * (1 + 1e-9))
    fleet.stub.modes["claude-sonnet-4-5"] = "wait:5"  # answers take 5 s: requests are in flight at the kill

    async def scenario() -> tuple[list[httpx.Response | Exception], float]:
        burst = asyncio.ensure_future(_burst([fleet.workers, fleet.single], 40))
        in_flight = 0.0
        for _ in range(40):  # until every request has reserved (each answer takes 5 s)
            await asyncio.sleep(0.1)
            in_flight = float(fleet.budget(fleet.workers)["in_flight_usd"])  # type: ignore[arg-type]
            if in_flight >= 40 * COST * (1 - 1e-9):
                break
        fleet.services["router-single"].kill()  # kill -9 of its process group, mid-request
        return await burst, in_flight

    try:
        responses, in_flight_before_kill = asyncio.run(scenario())
    finally:
        fleet.stub.modes.clear()
    assert in_flight_before_kill == pytest.approx(40 * COST)  # every request of both routers had reserved
    ok = [r for r in responses if isinstance(r, httpx.Response) and r.status_code == 200]
    lost = [r for r in responses if isinstance(r, Exception)]
    assert len(ok) == 20 and len(lost) == 20  # the workers answered theirs; the killed router's clients got nothing
    # The dead router's 20 reservations were counted until their lease ended (nobody renews them).
    time.sleep(LEASE_S + 0.5)
    assert fleet.budget(fleet.workers)["in_flight_usd"] == 0
    ids, total, running = fleet.spend()
    assert {r.json()["id"] for r in ok} <= set(ids)
    assert total - before == pytest.approx(20 * COST)  # the workers' 20 answers, each once
    assert running == pytest.approx(total)
    # What the dead router had reserved is free again: the remaining 80 answers fit.
    assert fleet.budget(fleet.workers)["remaining_usd"] == pytest.approx(80 * COST, abs=1e-8)
