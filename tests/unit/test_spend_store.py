"""The machine's ledger as the shared budget state: two stores on one file stand for two
processes (each has its own connections, owner id and lease), with a clock the test moves."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from src.router.ledger import Ledger, SpendRow
from src.router.spend_store import Cap, Claim, Refusal, SqliteSpendStore
from src.stack.services import ServiceSpec
from src.stack.stack import router_spec, workers_from

DAY, MONTH = "2026-03-01", "2026-03"
TS = 1772323200.0  # 2026-03-01T00:00:00Z
CAP = Cap("d/daily", DAY, ("claude-sonnet",), 1.0)


def claim(amount: float, task: str | None = None, ceiling: float | None = None) -> Claim:
    return Claim("claude-sonnet", amount, DAY, (CAP,), task, ceiling)


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[SqliteSpendStore, SqliteSpendStore, list[float]]]:
    now = [TS]
    stores = [SqliteSpendStore(Ledger(tmp_path / "l.sqlite3"), lease_s=5, clock=lambda: now[0]) for _ in range(2)]
    for s in stores:
        await s.open()
    try:
        yield stores[0], stores[1], now
    finally:
        for s in stores:
            await s.close()


async def test_two_processes_together_never_reserve_past_the_cap(
    pair: tuple[SqliteSpendStore, SqliteSpendStore, list[float]],
) -> None:
    a, b, _ = pair
    results = await asyncio.gather(*(s.reserve(claim(0.1)) for _ in range(15) for s in (a, b)))
    granted = [r for r in results if isinstance(r, int)]
    assert len(granted) == 10  # $1 cap / $0.10 each, across both
    refusal = next(r for r in results if isinstance(r, Refusal))
    assert refusal.cap == CAP and refusal.reserved == pytest.approx(1.0)


async def test_a_settled_answer_replaces_its_reservation_in_one_step(
    pair: tuple[SqliteSpendStore, SqliteSpendStore, list[float]],
) -> None:
    a, b, _ = pair
    rid = await a.reserve(claim(0.5))
    assert isinstance(rid, int)
    await a.settle(rid, SpendRow(TS, "claude-sonnet", "anthropic", 12, 5, 0.3))
    view = await b.view(DAY, MONTH)  # what the other process sees
    assert view.committed == {DAY: {"claude-sonnet": 0.3}, MONTH: {"claude-sonnet": 0.3}}
    assert view.reserved == {}
    assert isinstance(await b.reserve(claim(0.7)), int)
    assert isinstance(await b.reserve(claim(0.01)), Refusal)


async def test_a_dead_processs_reservations_expire_with_its_lease_a_live_ones_do_not(
    pair: tuple[SqliteSpendStore, SqliteSpendStore, list[float]],
) -> None:
    a, b, now = pair
    assert isinstance(await a.reserve(claim(0.6)), int)
    assert isinstance(await b.reserve(claim(0.4)), int)
    # a "dies": it renews nothing any more (its loop renews every lease/3 of real time, longer
    # than this test takes), while b's loop runs a round.
    now[0] += 3
    await b.renew()
    now[0] += 3  # a's lease (5 s) is over; b renewed its own 3 s ago
    view = await b.view(DAY, MONTH)
    assert view.reserved == {"claude-sonnet": pytest.approx(0.4)}
    assert isinstance(await b.reserve(claim(0.6)), int)  # a's $0.60 is free again


async def test_a_task_ceiling_counts_every_processs_spend_and_reservations(
    pair: tuple[SqliteSpendStore, SqliteSpendStore, list[float]],
) -> None:
    a, b, _ = pair
    rid = await a.reserve(claim(0.2, "t1", 0.5))
    assert isinstance(rid, int)
    await a.settle(rid, SpendRow(TS, "claude-sonnet", "anthropic", 1, 1, 0.2, task_key="t1--step-1"))
    assert isinstance(await b.reserve(claim(0.2, "t1", 0.5)), int)
    refused = await b.reserve(claim(0.2, "t1", 0.5))
    assert refused == Refusal(None, pytest.approx(0.2), pytest.approx(0.2))


async def test_an_old_ledger_gets_its_running_totals_from_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:  # a ledger from before the totals table
        conn.execute(
            "CREATE TABLE spend (id INTEGER PRIMARY KEY, ts REAL, day TEXT, month TEXT, model TEXT, provider TEXT,"
            " prompt_tokens INTEGER, completion_tokens INTEGER, cost_usd REAL, response_id TEXT, task_key TEXT)"
        )
        conn.executemany(
            "INSERT INTO spend (ts, day, month, model, provider, prompt_tokens, completion_tokens, cost_usd)"
            " VALUES (?,?,?,?,?,?,?,?)",
            [(TS, DAY, MONTH, "claude-sonnet", "anthropic", 1, 1, 0.25)] * 3
            + [(TS - 86400, "2026-02-28", "2026-02", "claude-sonnet", "anthropic", 1, 1, 9.0)],
        )
    assert Ledger(path).totals(DAY, MONTH) == ({"claude-sonnet": 0.75}, {"claude-sonnet": 0.75})


def test_router_workers_must_be_a_whole_number_and_become_uvicorn_workers(tmp_path: Path) -> None:
    assert workers_from(None) == workers_from("") == 1
    with pytest.raises(ValueError, match="ROUTER_WORKERS has value 'two'"):
        workers_from("two")
    with pytest.raises(ValueError, match="ROUTER_WORKERS has value '0'"):
        workers_from("0")
    stale = tmp_path / "metrics" / "counter_123.db"
    stale.parent.mkdir()
    stale.write_bytes(b"an earlier run's counters")

    def spec(workers: int) -> ServiceSpec:
        return router_spec(
            5000,
            litellm_url="http://127.0.0.1:4000",
            master_key="k",
            litellm_config=Path("c"),
            rules=Path("r"),
            env={},
            cwd=tmp_path,
            workers=workers,
            multiproc_dir=stale.parent,
        )

    four = spec(workers_from("4"))
    assert four.argv[-2:] == ["--workers", "4"]
    assert four.env["PROMETHEUS_MULTIPROC_DIR"] == str(stale.parent) and not stale.exists()
    one = spec(workers_from("1"))
    assert "--workers" not in one.argv and "PROMETHEUS_MULTIPROC_DIR" not in one.env


def test_the_env_examples_empty_redis_url_means_the_ledger_is_the_shared_state() -> None:
    from src.router.settings import Settings

    example = Path(__file__).resolve().parents[2] / ".env.example"
    settings = Settings(_env_file=example)  # type: ignore[call-arg]  # pydantic-settings' init keyword
    assert settings.redis_url_value() is None
    assert (
        Settings(_env_file=None, redis_url=" redis://10.0.0.5:6379/0 ").redis_url_value() == "redis://10.0.0.5:6379/0"
    )  # type: ignore[call-arg]
