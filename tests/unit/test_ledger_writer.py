"""The ledger's writer thread outlives any bad row: the row's own request gets a clear error and
every later answer is still recorded (before, an absurd value ended the thread and every later
paid answer waited forever)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from src.router.errors import LedgerWriteFailed
from src.router.ledger import Ledger, SpendRow


def row(prompt_tokens: int = 12, cost: float = 0.001) -> SpendRow:
    return SpendRow(time.time(), "claude-sonnet", "anthropic", prompt_tokens, 5, cost, "resp-1", "t1")


@pytest.mark.parametrize("bad", [row(prompt_tokens=10**19), row(cost=float("nan"))])
async def test_a_row_that_cannot_be_written_is_a_clear_error_and_the_writer_keeps_going(
    tmp_path: Path, bad: SpendRow
) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    ledger.open()
    try:
        results = await asyncio.wait_for(
            asyncio.gather(ledger.record(row()), ledger.record(bad), return_exceptions=True), 5
        )
        assert results[0] is None  # the good row in the same batch is committed
        assert isinstance(results[1], LedgerWriteFailed)
        assert "could not be recorded in the ledger" in results[1].message
        await asyncio.wait_for(ledger.record(row()), 5)  # the writer is alive
    finally:
        await asyncio.wait_for(ledger.close(), 5)
    with sqlite3.connect(tmp_path / "ledger.sqlite3") as conn:
        assert conn.execute("SELECT COUNT(*) FROM spend").fetchone()[0] == 2
