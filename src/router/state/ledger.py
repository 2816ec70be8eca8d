"""The spend ledger: every answered request's tokens and cost, durable in SQLite (WAL).

Writes go through one writer thread that commits in groups. A request that cost money awaits
the commit of its own row before its answer is returned, so nothing that was billed and
answered is lost to a kill -9; many concurrent rows share one commit. Requests to free
(local) models cost nothing and only count tokens: they are tallied in memory and written as
one row per (day, model, task) every `flush_interval_s` — at most that long of free-token
counts can be lost to a crash, never any spend. (Writing a row per free request cost the
router a quarter of its throughput.)

`synchronous=NORMAL` in WAL mode survives a process crash; a power loss may drop the last
commits (set `synchronous_full=True` to fsync every commit).

Several processes (uvicorn workers, or routers on one machine) may share one ledger file: it
is then also their shared budget state. `spend_totals` keeps the spend per period and model
(what a cap is checked against, without summing the day's rows), and `reservations` holds the
requests in flight (see `spend_store.py`). A paid row, its totals and the removal of its
reservation are committed in one transaction: a crash leaves either all or none of them.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from src.router.core.errors import LedgerWriteFailed
from src.router.state.background import cancel, every

SCHEMA = """
CREATE TABLE IF NOT EXISTS spend (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    day TEXT NOT NULL,
    month TEXT NOT NULL,
    model TEXT NOT NULL,
    provider TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cost_usd REAL NOT NULL,
    response_id TEXT,
    task_key TEXT,
    requests INTEGER NOT NULL DEFAULT 1,
    session_id TEXT,
    agent_id TEXT,
    parent_agent_id TEXT
);
CREATE INDEX IF NOT EXISTS spend_day ON spend(day);
CREATE INDEX IF NOT EXISTS spend_month ON spend(month);
CREATE INDEX IF NOT EXISTS spend_task ON spend(task_key);
CREATE TABLE IF NOT EXISTS reservations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner TEXT NOT NULL,
    day TEXT NOT NULL,
    model TEXT NOT NULL,
    task TEXT,
    amount REAL NOT NULL,
    expires REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS reservations_model ON reservations(model, day);
CREATE INDEX IF NOT EXISTS reservations_owner ON reservations(owner);
"""
# Spend per period ("2026-11-27" or "2026-11") and model; filled from `spend` when first created.
TOTALS = """
CREATE TABLE spend_totals (period TEXT NOT NULL, model TEXT NOT NULL, cost_usd REAL NOT NULL,
                           PRIMARY KEY (period, model));
INSERT INTO spend_totals SELECT day, model, SUM(cost_usd) FROM spend WHERE cost_usd != 0 GROUP BY day, model;
INSERT INTO spend_totals SELECT month, model, SUM(cost_usd) FROM spend WHERE cost_usd != 0 GROUP BY month, model;
"""
# Columns added after the first release, with their definitions: an older ledger gains them on open.
MIGRATIONS = (
    ("requests", "INTEGER NOT NULL DEFAULT 1"),  # free requests tallied into one row
    ("session_id", "TEXT"),  # x-claude-code-session-id / X-Session-Id / derived
    ("agent_id", "TEXT"),  # X-Claude-Code-Agent-Id (a subagent)
    ("parent_agent_id", "TEXT"),  # X-Claude-Code-Parent-Agent-Id
)
INDEXES = (
    "CREATE INDEX IF NOT EXISTS spend_session ON spend(session_id)",
    "CREATE INDEX IF NOT EXISTS spend_agent ON spend(agent_id)",
)
# What /v1/usage may group by: the query parameter and its column.
USAGE_KEYS = {"task_key": "task_key", "session_id": "session_id", "agent_id": "agent_id"}
MAX_BATCH = 512
log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class SpendRow:
    ts: float
    model: str
    provider: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    response_id: str | None = None
    task_key: str | None = None
    requests: int = 1
    session_id: str | None = None
    agent_id: str | None = None
    parent_agent_id: str | None = None

    @property
    def day(self) -> str:
        return datetime.fromtimestamp(self.ts, UTC).strftime("%Y-%m-%d")

    @property
    def month(self) -> str:
        return self.day[:7]


def connect(path: Path, *, synchronous_full: bool = False) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={'FULL' if synchronous_full else 'NORMAL'}")
    conn.execute("PRAGMA busy_timeout=5000")
    conn.executescript(SCHEMA)
    columns = {row[1] for row in conn.execute("PRAGMA table_info(spend)")}
    for name, definition in MIGRATIONS:
        if name not in columns:
            conn.execute(f"ALTER TABLE spend ADD COLUMN {name} {definition}")
    for index in INDEXES:
        conn.execute(index)
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name='spend_totals'").fetchone() is None:
        # Under the write lock, re-checked: two workers opening one old ledger build it once.
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute("SELECT 1 FROM sqlite_master WHERE name='spend_totals'").fetchone() is None:
                for statement in TOTALS.split(";"):
                    if statement.strip():
                        conn.execute(statement)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return conn


# model, provider, task_key, session_id, agent_id, parent_agent_id
_TallyKey = tuple[str, str, str | None, str | None, str | None, str | None]
# A row to write, the reservation it settles (0: none) and the future its request awaits.
_Item = tuple[SpendRow, int, "asyncio.Future[None]"]


class Ledger:
    def __init__(self, path: Path, *, synchronous_full: bool = False, flush_interval_s: float = 1.0) -> None:
        self.path = path
        self._synchronous_full = synchronous_full
        self._flush_interval = flush_interval_s
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tally: dict[_TallyKey, list[int]] = {}  # -> [requests, prompt tokens, completion tokens]
        self._flusher: asyncio.Task[None] | None = None

    def open(self) -> None:
        connect(self.path, synchronous_full=self._synchronous_full).close()  # create/migrate before serving
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._writer, name="ledger-writer", daemon=True)
        self._thread.start()
        self._flusher = self._loop.create_task(
            every(self._flush_interval, self.flush, what="ledger_flush"), name="ledger-flush"
        )

    async def close(self) -> None:
        await cancel(self._flusher)
        self._flusher = None
        await self.flush()
        if self._thread is not None:
            self._queue.put(None)
            await asyncio.to_thread(self._thread.join)
            self._thread = None

    def tally(self, row: SpendRow) -> None:
        """Count a free request's tokens; written with the next flush (no await, no thread hop)."""
        key = (row.model, row.provider, row.task_key, row.session_id, row.agent_id, row.parent_agent_id)
        counts = self._tally.get(key)
        if counts is None:
            self._tally[key] = [1, row.prompt_tokens, row.completion_tokens]
        else:
            counts[0] += 1
            counts[1] += row.prompt_tokens
            counts[2] += row.completion_tokens

    async def flush(self) -> None:
        if not self._tally or self._thread is None:
            return
        tally, self._tally = self._tally, {}
        ts = time.time()
        await asyncio.gather(
            *(
                self.record(
                    SpendRow(ts, model, provider, prompt, completion, 0.0, None, task, requests, session, agent, parent)
                )
                for (model, provider, task, session, agent, parent), (requests, prompt, completion) in tally.items()
            )
        )

    async def record(self, row: SpendRow, *, settles: int = 0) -> None:
        """Returns once the row is committed; `settles` names the reservation (a row of the
        `reservations` table) that the same transaction removes."""
        assert self._loop is not None, "Ledger.open() first"
        fut: asyncio.Future[None] = self._loop.create_future()
        self._queue.put((row, settles, fut))
        await fut

    def _writer(self) -> None:
        conn = connect(self.path, synchronous_full=self._synchronous_full)
        loop = self._loop
        assert loop is not None
        try:
            while True:
                item = self._queue.get()
                if item is None:
                    return
                batch = [item]
                while len(batch) < MAX_BATCH:
                    try:
                        nxt = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if nxt is None:
                        self._queue.put(None)  # finish this batch, then stop
                        break
                    batch.append(nxt)
                try:
                    self._write(conn, batch, loop)
                except Exception as exc:  # the writer must outlive any one batch
                    log.error("ledger_writer_error", error=type(exc).__name__)
        finally:
            conn.close()

    def _write(
        self,
        conn: sqlite3.Connection,
        batch: list[_Item],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        """Commit a batch in one transaction; if that fails, each row on its own, so that one bad
        row fails only its own request. Any exception is caught: the writer thread never dies."""
        try:
            _insert(conn, [(r, settles) for r, settles, _ in batch])
        except Exception as exc:  # any failure: retry one row at a time below
            log.warning("ledger_batch_failed", rows=len(batch), error=type(exc).__name__)
        else:
            for _, _, fut in batch:
                loop.call_soon_threadsafe(_resolve, fut, None)
            return
        for row, settles, fut in batch:
            error: Exception | None = None
            try:
                _insert(conn, [(row, settles)])
            except Exception as exc:  # reported to the request that wrote the row
                error = LedgerWriteFailed(
                    f"The spend of this answer ({row.model}) could not be recorded in the ledger: "
                    f"{type(exc).__name__}: {exc}"
                )
                error.__cause__ = exc
            loop.call_soon_threadsafe(_resolve, fut, error)

    def usage_for(self, task_key: str) -> dict[str, Any]:
        """Tokens, cost and requests recorded for a task key (after the last flush)."""
        return self.usage_by("task_key", task_key)

    def usage_by(self, key: str, value: str) -> dict[str, Any]:
        """Tokens, cost and requests for a task key, a session or an agent, also per model that
        answered (the coordinator's report names each step's models from it); a session's and an
        agent's answer also break the total down by agent (subagents are not lost in it)."""
        column = USAGE_KEYS[key]  # a fixed table: never a client's string in the SQL
        sums = (
            "COALESCE(SUM(requests),0), COALESCE(SUM(prompt_tokens),0), COALESCE(SUM(completion_tokens),0),"
            " COALESCE(SUM(cost_usd),0)"
        )
        conn = connect(self.path)
        try:
            row = conn.execute(f"SELECT {sums} FROM spend WHERE {column}=?", (value,)).fetchone()  # noqa: S608  (column from USAGE_KEYS)
            models = conn.execute(
                f"SELECT model, {sums} FROM spend WHERE {column}=? GROUP BY model ORDER BY model",  # noqa: S608  (as above)
                (value,),
            ).fetchall()
            agents = (
                conn.execute(
                    f"SELECT agent_id, parent_agent_id, {sums} FROM spend WHERE {column}=?"  # noqa: S608  (as above)
                    " GROUP BY agent_id, parent_agent_id ORDER BY agent_id",
                    (value,),
                ).fetchall()
                if key != "task_key"
                else []
            )
        finally:
            conn.close()
        out: dict[str, Any] = {key: value, **_sums(row), "models": {m: _sums(rest) for m, *rest in models}}
        if key != "task_key":
            out["agents"] = [{"agent_id": a, "parent_agent_id": p, **_sums(rest)} for a, p, *rest in agents]
        return out

    def totals(self, day: str, month: str) -> tuple[dict[str, float], dict[str, float]]:
        """Spend per model for the given UTC day and month."""
        conn = connect(self.path)
        try:
            rows = conn.execute("SELECT period, model, cost_usd FROM spend_totals WHERE period IN (?, ?)", (day, month))
            daily: dict[str, float] = {}
            monthly: dict[str, float] = {}
            for period, model, cost in rows:
                (daily if period == day else monthly)[model] = cost
        finally:
            conn.close()
        return daily, monthly


def _sums(row: Any) -> dict[str, Any]:
    return {"requests": row[0], "prompt_tokens": row[1], "completion_tokens": row[2], "cost_usd": row[3]}


def _insert(conn: sqlite3.Connection, items: list[tuple[SpendRow, int]]) -> None:
    rows = [r for r, _ in items]
    conn.execute("BEGIN IMMEDIATE")  # the write lock first: other processes read totals meanwhile
    try:
        conn.executemany(
            "INSERT INTO spend (ts, day, month, model, provider, prompt_tokens, completion_tokens,"
            " cost_usd, response_id, task_key, requests, session_id, agent_id, parent_agent_id)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    r.ts,
                    r.day,
                    r.month,
                    r.model,
                    r.provider,
                    r.prompt_tokens,
                    r.completion_tokens,
                    r.cost_usd,
                    r.response_id,
                    r.task_key,
                    r.requests,
                    r.session_id,
                    r.agent_id,
                    r.parent_agent_id,
                )
                for r in rows
            ],
        )
        paid = [r for r in rows if r.cost_usd != 0]
        conn.executemany(
            "INSERT INTO spend_totals (period, model, cost_usd) VALUES (?,?,?)"
            " ON CONFLICT (period, model) DO UPDATE SET cost_usd = cost_usd + excluded.cost_usd",
            [(period, r.model, r.cost_usd) for r in paid for period in (r.day, r.month)],
        )
        conn.executemany("DELETE FROM reservations WHERE id=?", [(settles,) for _, settles in items if settles])
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _resolve(fut: asyncio.Future[None], error: BaseException | None) -> None:
    if fut.done():
        return
    if error is None:
        fut.set_result(None)
    else:
        fut.set_exception(error)
