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

from src.router.background import cancel, every

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
    requests INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS spend_day ON spend(day);
CREATE INDEX IF NOT EXISTS spend_month ON spend(month);
CREATE INDEX IF NOT EXISTS spend_task ON spend(task_key);
"""
MAX_BATCH = 512


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
    if "requests" not in columns:  # ledgers written before free requests were tallied
        conn.execute("ALTER TABLE spend ADD COLUMN requests INTEGER NOT NULL DEFAULT 1")
    return conn


_TallyKey = tuple[str, str, str | None]  # model, provider, task_key


class Ledger:
    def __init__(self, path: Path, *, synchronous_full: bool = False, flush_interval_s: float = 1.0) -> None:
        self.path = path
        self._synchronous_full = synchronous_full
        self._flush_interval = flush_interval_s
        self._queue: queue.SimpleQueue[tuple[SpendRow, asyncio.Future[None]] | None] = queue.SimpleQueue()
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
        key = (row.model, row.provider, row.task_key)
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
                self.record(SpendRow(ts, model, provider, prompt, completion, 0.0, None, task, requests))
                for (model, provider, task), (requests, prompt, completion) in tally.items()
            )
        )

    async def record(self, row: SpendRow) -> None:
        """Returns once the row is committed."""
        assert self._loop is not None, "Ledger.open() first"
        fut: asyncio.Future[None] = self._loop.create_future()
        self._queue.put((row, fut))
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
                error: BaseException | None = None
                try:
                    conn.execute("BEGIN")
                    conn.executemany(
                        "INSERT INTO spend (ts, day, month, model, provider, prompt_tokens, completion_tokens,"
                        " cost_usd, response_id, task_key, requests) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
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
                            )
                            for r, _ in batch
                        ],
                    )
                    conn.execute("COMMIT")
                except sqlite3.Error as exc:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    error = exc
                for _, fut in batch:
                    loop.call_soon_threadsafe(_resolve, fut, error)
        finally:
            conn.close()

    def usage_for(self, task_key: str) -> dict[str, Any]:
        """Tokens, cost and requests recorded for a task key (after the last flush), in total
        and per model that answered."""
        conn = connect(self.path)
        try:
            rows = conn.execute(
                "SELECT model, SUM(requests), SUM(prompt_tokens), SUM(completion_tokens), SUM(cost_usd)"
                " FROM spend WHERE task_key=? GROUP BY model ORDER BY model",
                (task_key,),
            ).fetchall()
        finally:
            conn.close()
        models = {
            m: {"requests": r, "prompt_tokens": p, "completion_tokens": c, "cost_usd": cost}
            for m, r, p, c, cost in rows
        }
        return {
            "task_key": task_key,
            "requests": sum(r[1] for r in rows),
            "prompt_tokens": sum(r[2] for r in rows),
            "completion_tokens": sum(r[3] for r in rows),
            "cost_usd": sum(r[4] for r in rows),
            "models": models,
        }

    def totals(self, day: str, month: str) -> tuple[dict[str, float], dict[str, float]]:
        """Spend per model for the given UTC day and month (read at start-up)."""
        conn = connect(self.path)
        try:
            daily = dict(conn.execute("SELECT model, SUM(cost_usd) FROM spend WHERE day=? GROUP BY model", (day,)))
            monthly = dict(
                conn.execute("SELECT model, SUM(cost_usd) FROM spend WHERE month=? GROUP BY model", (month,))
            )
        finally:
            conn.close()
        return daily, monthly


def _resolve(fut: asyncio.Future[None], error: BaseException | None) -> None:
    if fut.done():
        return
    if error is None:
        fut.set_result(None)
    else:
        fut.set_exception(error)
