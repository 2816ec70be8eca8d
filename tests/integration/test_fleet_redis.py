"""Replicas on several machines, one budget: three real routers sharing one real Redis.

Each router has its own ledger (its durable audit trail) and `REDIS_URL` pointing at one
`redis-server` (Debian's, installed by `python -m src.stack setup --tests`), started here on a
free port. Priced requests go through the real LiteLLM proxy to the paid-cloud stand-in.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from src.router.core.policy import Decision, TurnPin
from src.router.core.tasks import TaskType
from src.router.state.shared_pins import SharedTurnPins
from src.router.state.spend_redis import redis_client
from src.stack.redis_server import ensure_redis_server, redis_argv, redis_env, wait_redis
from src.stack.services import RunningService, ServiceSpec, free_port, start, wait_healthy
from src.stack.stack import litellm_spec, router_spec
from tests.integration.conftest import MASTER_KEY, REPO, base_env, wait_ready
from tests.integration.test_fleet import ASK, COST, rules
from tests.integration.test_money import litellm_config
from tests.support.cloud_stub import COMPLETION_TOKENS, PROMPT_TOKENS, CloudStub

pytestmark = [pytest.mark.integration]

LEASE_S = 2.0


@dataclass
class Replica:
    url: str
    ledger: Path
    service: RunningService


@dataclass
class Fleet:
    replicas: list[Replica]
    stub: CloudStub
    rules: Path
    redis: RunningService
    redis_port: int
    tmp: Path

    def budget(self, url: str) -> dict[str, object]:
        resp = httpx.get(url + "/v1/budget", timeout=10)
        assert resp.status_code == 200, resp.text
        report: dict[str, object] = resp.json()["budgets"][0]
        return report

    def ledgers(self) -> tuple[set[str], float]:
        """Paid answers (response ids) and their cost, over every replica's own ledger."""
        ids: set[str] = set()
        total = 0.0
        for r in self.replicas:
            with sqlite3.connect(r.ledger) as conn:
                for rid, cost in conn.execute("SELECT response_id, cost_usd FROM spend WHERE cost_usd > 0"):
                    ids.add(rid)
                    total += cost
        return ids, total

    def start_redis(self) -> None:
        argv = redis_argv(ensure_redis_server(), self.redis_port, self.tmp / "redis")
        self.redis = start(ServiceSpec("redis", argv, "", redis_env()), self.tmp / "logs")
        wait_redis(self.redis, self.redis_port)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    tmp = tmp_path_factory.mktemp("redis-fleet")
    stub = CloudStub().start()
    config = tmp / "litellm.yaml"
    config.write_text(yaml.safe_dump(litellm_config(stub), sort_keys=False))
    rules_file = tmp / "routing_rules.yaml"
    rules_file.write_text(rules(1.0))
    redis_port, litellm_port = free_port(), free_port()
    fleet = Fleet([], stub, rules_file, None, redis_port, tmp)  # type: ignore[arg-type]  # started just below
    services: list[RunningService] = []
    try:
        fleet.start_redis()
        env = {
            **base_env(),
            "GPU_SAMPLING": "false",
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "RESERVATION_LEASE_S": str(LEASE_S),
            "RULES_POLL_INTERVAL_S": "0.2",
            "BREAKER_FAILURE_THRESHOLD": "1",
            "BREAKER_COOLDOWN_S": "30",
        }
        litellm = start(litellm_spec(config, litellm_port, MASTER_KEY, env), tmp / "logs")
        services.append(litellm)
        wait_healthy(litellm)
        for i in range(3):
            port, ledger = free_port(), tmp / f"ledger-{i}.sqlite3"
            spec = router_spec(
                port,
                litellm_url=f"http://127.0.0.1:{litellm_port}",
                master_key=MASTER_KEY,
                litellm_config=config,
                rules=rules_file,
                env={**env, "LEDGER_PATH": str(ledger)},
                cwd=REPO,
            )
            svc = start(dataclasses.replace(spec, name=f"router-{i}"), tmp / "logs")
            services.append(svc)
            fleet.replicas.append(Replica(f"http://127.0.0.1:{port}", ledger, svc))
        for r in fleet.replicas:
            wait_healthy(r.service)
            wait_ready(r.url, r.service)
        yield fleet
    finally:
        for svc in reversed(services):
            svc.stop()
        if fleet.redis is not None:
            fleet.redis.stop()
        stub.stop()


async def _burst(urls: list[str], n: int, body: dict[str, object] = ASK) -> list[httpx.Response | Exception]:
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=n)) as client:

        async def one(i: int) -> httpx.Response | Exception:
            try:
                return await client.post(urls[i % len(urls)] + "/v1/chat/completions", json=body)
            except httpx.HTTPError as exc:  # a replica killed mid-request
                return exc

        return await asyncio.gather(*(one(i) for i in range(n)))


def _set_cap(fleet: Fleet, limit: float) -> None:
    fleet.rules.write_text(rules(limit))
    deadline = time.monotonic() + 10
    for r in fleet.replicas:
        while fleet.budget(r.url)["limit_usd"] != limit:
            assert time.monotonic() < deadline, f"{r.url} did not reload the rules"
            time.sleep(0.1)


def _urls(fleet: Fleet) -> list[str]:
    return [r.url for r in fleet.replicas if r.service.alive()]


def test_three_replicas_admit_exactly_the_cap_under_200_concurrent_requests(fleet: Fleet) -> None:
    _, before = fleet.ledgers()
    limit = before + 100 * COST * (1 + 1e-9)
    _set_cap(fleet, limit)
    responses = asyncio.run(_burst(_urls(fleet), 200))
    ok = [r for r in responses if isinstance(r, httpx.Response) and r.status_code == 200]
    refused = [r for r in responses if isinstance(r, httpx.Response) and r.status_code != 200]
    assert len(ok) == 100, [r.text[:300] for r in refused[:3]]
    assert len(refused) == 100 and {r.status_code for r in refused} == {503}
    assert "budget 'sonnet-daily'" in refused[0].json()["error"]["message"]
    ids, total = fleet.ledgers()
    assert {r.json()["id"] for r in ok} <= ids  # each answer is in the ledger of the replica that served it
    assert total - before == pytest.approx(100 * COST)
    for r in fleet.replicas:  # every replica reports the fleet's spend, from Redis
        report = fleet.budget(r.url)
        assert report["spent_usd"] == pytest.approx(total, abs=1e-8)
        assert report["in_flight_usd"] == 0


def test_a_breaker_opened_on_one_replica_makes_the_others_skip_the_model(fleet: Fleet) -> None:
    a, b = fleet.replicas[0], fleet.replicas[1]
    opus = {"model": "claude-opus", "max_tokens": 8, "messages": [{"role": "user", "content": "Say hello."}]}
    fleet.stub.modes["claude-opus-4-5"] = "status:500"
    try:
        failed = httpx.post(a.url + "/v1/chat/completions", json=opus, timeout=60)
    finally:
        fleet.stub.modes.clear()
    assert failed.status_code >= 500
    assert len(fleet.stub.calls("claude-opus-4-5")) == 1
    deadline = time.monotonic() + 1.0  # within a second, replica B knows
    while httpx.get(b.url + "/ready", timeout=5).json()["models"]["claude-opus"]["breaker"] != "open":
        assert time.monotonic() < deadline, "replica B never saw the circuit opened on replica A"
        time.sleep(0.05)
    # Opus answers again, but B does not try it: the circuit opened on A holds on B.
    skipped = httpx.post(b.url + "/v1/chat/completions", json=opus, timeout=60)
    assert skipped.status_code == 503, skipped.text
    assert "opened by replica" in skipped.json()["error"]["message"]
    assert len(fleet.stub.calls("claude-opus-4-5")) == 1  # still only A's failed call


def test_with_redis_away_paid_models_fail_closed_free_ones_serve_and_it_recovers(fleet: Fleet) -> None:
    r = fleet.replicas[2]
    local = {"model": "local-small", "max_tokens": 8, "messages": [{"role": "user", "content": "Say hello."}]}
    _set_cap(fleet, 1.0)
    fleet.redis.stop()
    try:
        time.sleep(1.0)  # a refresh round (0.5 s) notices
        paid = httpx.post(r.url + "/v1/chat/completions", json=ASK, timeout=30)
        assert paid.status_code == 503, paid.text
        error = paid.json()["error"]
        assert error["code"] == "spend_store_unreachable" and error["type"] == "service_unavailable"
        assert "shared spend store is unreachable" in error["message"]
        # A code review would go to claude-sonnet: the decision takes the free local model and says why.
        review = {**local, "model": "task/code_review"}
        route = httpx.post(r.url + "/v1/route", json=review, timeout=30).json()
        assert route["model"] == "local-small"
        assert "shared spend store is unreachable" in str(route["signals"]["skipped"])
        for body in (review, local):
            free = httpx.post(r.url + "/v1/chat/completions", json=body, timeout=30)
            assert free.status_code == 200, free.text
            assert free.headers["x-router-model"] == "local-small"
    finally:
        fleet.start_redis()  # same port, same data (append-only file)
    deadline = time.monotonic() + 10
    while (again := httpx.post(r.url + "/v1/chat/completions", json=ASK, timeout=30)).status_code != 200:
        assert time.monotonic() < deadline, again.text
        time.sleep(0.2)
    _, total = fleet.ledgers()
    assert fleet.budget(r.url)["spent_usd"] == pytest.approx(total, abs=1e-8)  # Redis kept the fleet's spend


def test_a_tasks_usage_is_the_fleets_whichever_replica_is_asked(fleet: Fleet) -> None:
    _set_cap(fleet, 1.0)
    a, b = fleet.replicas[0], fleet.replicas[1]
    key = {"Authorization": "Bearer sk-task-fleet-usage"}  # attributed to task "fleet-usage"
    local = {"model": "local-small", "max_tokens": 8, "messages": [{"role": "user", "content": "Say hello."}]}
    for url, body in ((a.url, ASK), (b.url, ASK), (a.url, local)):
        assert httpx.post(url + "/v1/chat/completions", json=body, headers=key, timeout=30).status_code == 200
    deadline = time.monotonic() + 5  # free answers' counts reach Redis with the next renewal round
    while (usage := httpx.get(fleet.replicas[2].url + "/v1/usage", params={"task_key": "fleet-usage"}).json())[
        "requests"
    ] != 3:
        assert time.monotonic() < deadline, usage
        time.sleep(0.2)
    assert usage["cost_usd"] == pytest.approx(2 * COST)
    assert (usage["prompt_tokens"], usage["completion_tokens"]) == (3 * PROMPT_TOKENS, 3 * COMPLETION_TOKENS)


def test_a_replica_killed_mid_burst_strands_nothing_and_loses_no_acknowledged_answer(fleet: Fleet) -> None:
    _, before = fleet.ledgers()
    _set_cap(fleet, before + 100 * COST * (1 + 1e-9))
    fleet.stub.modes["claude-sonnet-4-5"] = "wait:5"
    victim, survivor = fleet.replicas[2], fleet.replicas[0]

    async def scenario() -> tuple[list[httpx.Response | Exception], float]:
        burst = asyncio.ensure_future(_burst(_urls(fleet), 30))
        in_flight = 0.0
        for _ in range(40):  # until every request has reserved (each answer takes 5 s)
            await asyncio.sleep(0.1)
            in_flight = float(fleet.budget(survivor.url)["in_flight_usd"])  # type: ignore[arg-type]
            if in_flight >= 30 * COST * (1 - 1e-9):
                break
        victim.service.kill()
        return await burst, in_flight

    try:
        responses, in_flight = asyncio.run(scenario())
    finally:
        fleet.stub.modes.clear()
    assert in_flight == pytest.approx(30 * COST)
    ok = [r for r in responses if isinstance(r, httpx.Response) and r.status_code == 200]
    assert len(ok) == 20 and sum(isinstance(r, Exception) for r in responses) == 10
    time.sleep(LEASE_S + 0.5)
    report = fleet.budget(survivor.url)
    assert report["in_flight_usd"] == 0  # the dead replica's reservations expired
    ids, total = fleet.ledgers()
    assert {r.json()["id"] for r in ok} <= ids
    assert total - before == pytest.approx(20 * COST)
    assert report["spent_usd"] == pytest.approx(total, abs=1e-8)  # Redis and the ledgers agree: nothing twice


def test_a_session_pin_set_on_one_replica_is_found_by_another(fleet: Fleet) -> None:
    # In process, against the fleet's real Redis: two replicas' pin tables, each with its own client.
    url = f"redis://127.0.0.1:{fleet.redis_port}/0"
    key = ("key-hash", "session-1", "", "thread-1")
    pin = TurnPin("claude-sonnet", TaskType.CODE_REVIEW)

    async def scenario() -> None:
        clients = [redis_client(url), redis_client(url)]
        a, b = (SharedTurnPins(c, prefix="pins-test:") for c in clients)
        a.answered(key, _decision(), "claude-sonnet", tool_loop=False)  # the turn's instruction, on replica A
        await a.drain()
        assert b.get(key) is None  # B never saw the instruction
        assert await b.fetch(key) == pin  # its tool-loop request finds A's pin
        assert b.get(key) == pin  # and keeps it
        assert await b.fetch(("key-hash", "session-2", "", "thread-1")) is None
        for c in clients:
            await c.aclose()

    asyncio.run(scenario())


def _decision() -> Decision:
    return Decision(TaskType.CODE_REVIEW, 1.0, "claude-sonnet", "code_review", "rule", (), (), {})
