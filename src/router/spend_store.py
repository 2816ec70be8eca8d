"""Where committed spend and in-flight reservations live: shared by every process that serves
one budget.

    SpendStore (protocol)
      SqliteSpendStore   the machine's ledger file: uvicorn workers, routers on one host
      RedisSpendStore    (spend_redis.py) a Redis server: replicas on several machines

`BudgetTracker` decides *what* to check (which caps cover a model, the task's ceiling) and
hands the store a `Claim`; the store checks and reserves in one atomic step, so that N
processes admit exactly what one would. A reservation belongs to its process and carries an
expiry that the process renews while it lives (`lease_s`): a process killed mid-request
strands nothing for longer than the lease. Only priced requests reach the store: a free model
cannot add spend and pays nothing for the shared state.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import structlog

from src.router.background import cancel, every
from src.router.ledger import Ledger, SpendRow, connect

log = structlog.get_logger(__name__)
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Cap:
    """One budget as the store checks it: the period's spend on `models` plus their
    reservations plus the claim must stay within `limit_usd`."""

    name: str
    period: str  # the period key: "2026-11-27" (daily) or "2026-11" (monthly)
    models: tuple[str, ...]
    limit_usd: float


@dataclass(frozen=True, slots=True)
class Claim:
    model: str
    amount: float
    day: str  # reservations count against the day they were made in (a new day starts clean)
    caps: tuple[Cap, ...]
    task: str | None = None  # the task whose spend ceiling it counts against
    ceiling: float | None = None


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a claim was refused: a cap (`cap`), or the task's ceiling (`cap is None`). A store
    that cannot be reached raises instead."""

    cap: Cap | None
    spent: float = 0.0
    reserved: float = 0.0


@dataclass(frozen=True, slots=True)
class SpendView:
    """Committed spend per period key and model, and reservations in flight per model today."""

    committed: dict[str, dict[str, float]] = field(default_factory=dict)
    reserved: dict[str, float] = field(default_factory=dict)


class SpendStore(Protocol):
    """The shared budget state. `reserve` is atomic across every process using the store."""

    ledger: Ledger  # the durable audit trail of this process (rows, free-token tallies)

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def reserve(self, claim: Claim) -> int | Refusal:
        """Check every cap and the task ceiling and, if all hold, reserve: the reservation's id."""
        ...

    def release(self, reservation: int) -> None:
        """Drop a reservation without spend. Never blocks and never raises (it runs on every
        exit path, cancellation included); a release that cannot reach the store expires."""
        ...

    async def settle(self, reservation: int, row: SpendRow, task: str | None = None) -> None:
        """Record the answer's spend durably (counted against `task`'s ceiling too) and drop its
        reservation (0: none)."""
        ...

    def tally(self, row: SpendRow) -> None:
        """Count a free answer's tokens (no I/O on the request path)."""
        ...

    async def view(self, day: str, month: str) -> SpendView: ...

    async def usage(self, key: str, value: str) -> dict[str, Any]:
        """Requests, tokens and cost recorded under a task key (`key` "task_key"), a session
        ("session_id") or an agent ("agent_id"), by every process sharing the store."""
        ...


def owner_id() -> str:
    """This process's name on its reservations: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _in(models: tuple[str, ...]) -> str:
    return ",".join("?" * len(models))


class SqliteSpendStore:
    """The machine's ledger as the shared state: `BEGIN IMMEDIATE` serialises check-and-reserve
    across processes. All of this process's store I/O runs on one thread with one connection
    (the ledger's writer thread has its own), so requests never block the event loop."""

    def __init__(
        self, ledger: Ledger, *, lease_s: float = 10.0, clock: Callable[[], float] = time.time, owner: str | None = None
    ) -> None:
        self.ledger = ledger
        self.lease_s = lease_s
        self._clock = clock
        self.owner = owner or owner_id()
        self._executor: ThreadPoolExecutor | None = None
        self._local = threading.local()
        self._renewer: asyncio.Task[None] | None = None

    async def open(self) -> None:
        self.ledger.open()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spend-store")
        self._renewer = asyncio.get_running_loop().create_task(
            every(self.lease_s / 3, self.renew, what="reservation_renew"), name="reservation-renew"
        )

    async def close(self) -> None:
        await cancel(self._renewer)
        self._renewer = None
        await self.ledger.close()
        if self._executor is not None:
            await self._run(self._drop_mine)
            await self._run(self._close_conn)
            self._executor.shutdown(wait=True)
            self._executor = None

    # -- the store's thread --------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = connect(self.ledger.path)
        return conn

    def _close_conn(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    async def _run(self, fn: Callable[..., _T], *args: object) -> _T:
        assert self._executor is not None, "SpendStore.open() first"
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _reserve_sync(self, claim: Claim) -> int | Refusal:
        conn = self._conn()
        now = self._clock()
        conn.execute("BEGIN IMMEDIATE")
        try:
            for cap in claim.caps:
                # Only "?,?,…" is formatted in: the model names are bound parameters.
                marks = _in(cap.models)
                committed_sql = (
                    f"SELECT COALESCE(SUM(cost_usd),0) FROM spend_totals WHERE period=? AND model IN ({marks})"  # noqa: S608
                )
                reserved_sql = (
                    f"SELECT COALESCE(SUM(amount),0) FROM reservations WHERE day=? AND expires>? AND model IN ({marks})"  # noqa: S608
                )
                spent = conn.execute(committed_sql, (cap.period, *cap.models)).fetchone()[0]
                reserved = conn.execute(reserved_sql, (claim.day, now, *cap.models)).fetchone()[0]
                if spent + reserved + claim.amount > cap.limit_usd:
                    conn.execute("ROLLBACK")
                    return Refusal(cap, spent, reserved)
            if claim.task is not None and claim.ceiling is not None:
                pattern = claim.task.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "--%"
                spent = conn.execute(
                    "SELECT COALESCE(SUM(cost_usd),0) FROM spend WHERE task_key=? OR task_key LIKE ? ESCAPE '\\'",
                    (claim.task, pattern),
                ).fetchone()[0]
                reserved = conn.execute(
                    "SELECT COALESCE(SUM(amount),0) FROM reservations WHERE task=? AND expires>?", (claim.task, now)
                ).fetchone()[0]
                if spent + reserved + claim.amount > claim.ceiling:
                    conn.execute("ROLLBACK")
                    return Refusal(None, spent, reserved)
            cur = conn.execute(
                "INSERT INTO reservations (owner, day, model, task, amount, expires) VALUES (?,?,?,?,?,?)",
                (self.owner, claim.day, claim.model, claim.task, claim.amount, now + self.lease_s),
            )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        assert cur.lastrowid is not None
        return cur.lastrowid

    def _release_sync(self, reservation: int) -> None:
        try:
            self._conn().execute("DELETE FROM reservations WHERE id=?", (reservation,))
        except sqlite3.Error as exc:  # it expires with the lease instead
            log.warning("reservation_release_failed", error=type(exc).__name__)

    def _renew_sync(self) -> None:
        now = self._clock()
        conn = self._conn()
        conn.execute("UPDATE reservations SET expires=? WHERE owner=?", (now + self.lease_s, self.owner))
        # Reservations of processes that died: expired for a whole lease, nobody can renew them.
        conn.execute("DELETE FROM reservations WHERE expires<?", (now - self.lease_s,))

    def _drop_mine(self) -> None:
        self._conn().execute("DELETE FROM reservations WHERE owner=?", (self.owner,))

    def _view_sync(self, day: str, month: str) -> SpendView:
        conn = self._conn()
        committed: dict[str, dict[str, float]] = {day: {}, month: {}}
        for period, model, cost in conn.execute(
            "SELECT period, model, cost_usd FROM spend_totals WHERE period IN (?, ?)", (day, month)
        ):
            committed[period][model] = cost
        reserved = dict(
            conn.execute(
                "SELECT model, SUM(amount) FROM reservations WHERE day=? AND expires>? GROUP BY model",
                (day, self._clock()),
            ).fetchall()
        )
        return SpendView(committed, reserved)

    # -- the protocol --------------------------------------------------------------------------
    async def renew(self) -> None:
        """Extend this process's reservations by a lease (run every third of one)."""
        await self._run(self._renew_sync)

    async def reserve(self, claim: Claim) -> int | Refusal:
        assert self._executor is not None, "SpendStore.open() first"
        fut = asyncio.get_running_loop().run_in_executor(self._executor, self._reserve_sync, claim)
        try:
            return await asyncio.shield(fut)
        except asyncio.CancelledError:
            # The client left while the row was being written: release it once it exists.
            fut.add_done_callback(self._release_if_reserved)
            raise

    def _release_if_reserved(self, fut: asyncio.Future[int | Refusal]) -> None:
        if fut.cancelled() or fut.exception() is not None:
            return
        result = fut.result()
        if isinstance(result, int):
            self.release(result)

    def release(self, reservation: int) -> None:
        if self._executor is None:
            return
        with contextlib.suppress(RuntimeError):  # shutting down: the lease ends it
            self._executor.submit(self._release_sync, reservation)

    async def settle(self, reservation: int, row: SpendRow, task: str | None = None) -> None:
        await self.ledger.record(row, settles=reservation)  # the task's spend is read from the rows

    def tally(self, row: SpendRow) -> None:
        self.ledger.tally(row)

    async def usage(self, key: str, value: str) -> dict[str, Any]:
        await self.ledger.flush()  # free requests are tallied in memory: write this process's first
        return await self._run(self.ledger.usage_by, key, value)

    async def view(self, day: str, month: str) -> SpendView:
        return await self._run(self._view_sync, day, month)
