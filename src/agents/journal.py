"""The coordinator's journal: every handoff message, validated and committed before it takes
effect (SQLite, WAL, fsync on commit). A run resumes from it after a crash or a kill -9."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from src.protocols.llm_protocol import Message, MsgType, TaskState, check_transition, parse_message

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    msg_id TEXT NOT NULL UNIQUE,
    task_ref TEXT NOT NULL,
    step TEXT NOT NULL,
    msg_type TEXT NOT NULL,
    body TEXT NOT NULL,
    recorded_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_task ON messages(task_ref, step);
CREATE TABLE IF NOT EXISTS tasks (
    task_ref TEXT PRIMARY KEY,
    card TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
"""


@dataclass(frozen=True)
class StepRecord:
    step: str
    assignments: int
    result: Message | None  # the terminal task_result / review_result, if the step finished


class Journal:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.executescript(SCHEMA)

    def close(self) -> None:
        self._conn.close()

    # -- tasks ----------------------------------------------------------------------------------
    def add_task(self, task_ref: str, card: str) -> None:
        now = time.time()
        self._conn.execute(
            "INSERT OR IGNORE INTO tasks (task_ref, card, state, created_at, updated_at) VALUES (?,?,?,?,?)",
            (task_ref, card, TaskState.SUBMITTED.value, now, now),
        )

    def task_state(self, task_ref: str) -> TaskState | None:
        row = self._conn.execute("SELECT state FROM tasks WHERE task_ref=?", (task_ref,)).fetchone()
        return TaskState(row[0]) if row else None

    def set_task_state(self, task_ref: str, state: TaskState) -> None:
        check_transition(self.task_state(task_ref), state)
        self._conn.execute(
            "UPDATE tasks SET state=?, updated_at=? WHERE task_ref=?", (state.value, time.time(), task_ref)
        )

    def tasks(self) -> list[tuple[str, TaskState, float]]:
        rows = self._conn.execute("SELECT task_ref, state, updated_at FROM tasks ORDER BY created_at").fetchall()
        return [(r[0], TaskState(r[1]), r[2]) for r in rows]

    def card(self, task_ref: str) -> str | None:
        row = self._conn.execute("SELECT card FROM tasks WHERE task_ref=?", (task_ref,)).fetchone()
        return row[0] if row else None

    # -- messages -------------------------------------------------------------------------------
    def append(self, message: Message, step: str) -> bool:
        """Validate (again, from its JSON) and commit; False if this msg_id was already recorded."""
        body = message.to_json()
        parse_message(body)  # what is stored must read back as a valid message
        cur = self._conn.execute(
            "INSERT OR IGNORE INTO messages (msg_id, task_ref, step, msg_type, body, recorded_at) VALUES (?,?,?,?,?,?)",
            (message.msg_id, message.task_ref, step, message.msg_type.value, body, time.time()),
        )
        return cur.rowcount == 1

    def messages(self, task_ref: str | None = None) -> list[tuple[str, Message]]:
        if task_ref is None:
            rows = self._conn.execute("SELECT step, body FROM messages ORDER BY seq").fetchall()
        else:
            rows = self._conn.execute(
                "SELECT step, body FROM messages WHERE task_ref=? ORDER BY seq", (task_ref,)
            ).fetchall()
        return [(step, parse_message(body)) for step, body in rows]

    def step(self, task_ref: str, step: str) -> StepRecord:
        assignments = 0
        result: Message | None = None
        for s, msg in self.messages(task_ref):
            if s != step:
                continue
            if msg.msg_type in (MsgType.TASK_ASSIGNMENT, MsgType.REVIEW_REQUEST):
                assignments += 1
            elif msg.msg_type in (MsgType.TASK_RESULT, MsgType.REVIEW_RESULT):
                result = msg
        return StepRecord(step, assignments, result)
