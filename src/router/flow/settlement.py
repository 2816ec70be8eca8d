"""Settling what a request spent: the reservation made before sending is released or turned
into a ledger row priced by the model that answered — for a JSON answer at once, for a stream
as its last event goes out (or, abandoned by the client, in the background).

`Settlement` owns the spend side of the flow in `chat.py`: the budget tracker, pricing
(`spend.price_answer`), the relay that counts a stream's output, and the settlements still
pending at shutdown.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import structlog

from src.router.core.catalog import Catalog
from src.router.core.errors import RouterError
from src.router.core.policy import Decision
from src.router.core.spend import price_answer
from src.router.core.task_keys import TaskClaims
from src.router.state.budget import BudgetTracker, Reservation
from src.router.state.ledger import SpendRow
from src.router.state.metrics import CANCELLED, OK, UPSTREAM_ERROR, Metrics
from src.router.state.sessions import Caller
from src.router.upstream.client import UpstreamResponse
from src.router.wire.formats import WireFormat
from src.router.wire.sse import StreamUsage

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class Trace:
    """What one request's metrics need to know, filled in as the request goes."""

    started: float
    decision: Decision | None = None
    model: str | None = None  # the model that answered
    task_key: str | None = None
    claims: TaskClaims | None = None
    caller: Caller | None = None


class Settlement:
    def __init__(
        self, catalog: Catalog, budget: BudgetTracker, metrics: Metrics, on_end: Callable[[Trace, str], None]
    ) -> None:
        """`on_end(trace, outcome)` is called once a relayed stream is over (its request is counted then)."""
        self._catalog = catalog
        self.budget = budget
        self.metrics = metrics
        self._on_end = on_end
        self._pending: set[asyncio.Task[None]] = set()

    async def settle(self, reservation: Reservation, row: SpendRow) -> None:
        self.metrics.usage(row.model, row.prompt_tokens, row.completion_tokens, row.cost_usd)
        await self.budget.settle(reservation, row)

    def closer(self, resp: UpstreamResponse, reservation: Reservation | None) -> Callable[[], None]:
        def close() -> None:
            resp.close()
            self.release(reservation)

        return close

    def release(self, reservation: Reservation | None) -> None:
        if reservation is not None:
            self.budget.release(reservation)

    def _row(
        self,
        chosen: str,
        headers: Mapping[str, str],
        response_model: object,
        usage: Mapping[str, Any] | None,
        response_id: Any,
        estimate: tuple[int, int],
        trace: Trace,
        wire: WireFormat,
    ) -> SpendRow:
        """The spend of one answer, priced by the model that answered; `estimate` (prompt,
        completion tokens) stands in when the upstream reported no usable `usage`."""
        priced = price_answer(self._catalog, chosen, headers, response_model, wire.usage_of(usage), estimate)
        if priced.model != chosen:
            # LiteLLM answered with another model (a fallback of its own): charged to the one used.
            log.error("answered_by_another_model", chosen=chosen, answered=priced.model)
            self.metrics.model_mismatch(chosen, priced.model)
        if priced.bad_usage is not None:
            log.error("bad_usage", model=priced.model, error=priced.bad_usage)
        return SpendRow(
            ts=time.time(),
            model=priced.model,
            provider=priced.provider,
            prompt_tokens=priced.prompt_tokens,
            completion_tokens=priced.completion_tokens,
            cost_usd=priced.cost_usd,
            response_id=response_id if isinstance(response_id, str) else None,
            task_key=trace.task_key,
            session_id=caller.session_id if (caller := trace.caller) else None,
            agent_id=caller.agent_id if caller else None,
            parent_agent_id=caller.parent_agent_id if caller else None,
        )

    async def account_json(
        self,
        model: str,
        reservation: Reservation | None,
        data: bytes,
        headers: Mapping[str, str],
        prompt_tokens: int,
        max_output_tokens: int | None,
        trace: Trace,
        wire: WireFormat,
    ) -> None:
        if reservation is None:
            return
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError:
            parsed = {}
        if not isinstance(parsed, dict):
            parsed = {}
        usage = parsed.get("usage") if isinstance(parsed.get("usage"), dict) else None
        catalog_model = self._catalog.get(model)
        assert catalog_model is not None
        # Without usage: the text it holds, or, unreadable, the worst the request allowed.
        written = wire.output_tokens_of(parsed)
        if written is None:
            written = self.budget.output_ceiling(catalog_model, max_output_tokens)
        row = self._row(
            model, headers, parsed.get("model"), usage, parsed.get("id"), (prompt_tokens, written), trace, wire
        )
        await self.settle(reservation, row)

    async def relay(
        self,
        resp: UpstreamResponse,
        model: str,
        reservation: Reservation | None,
        prompt_tokens: int,
        strip: bool,
        trace: Trace,
        wire: WireFormat,
    ) -> AsyncIterator[bytes]:
        """Pass events on as they arrive, counting the generated text; record the spend before
        the last event goes out (`[DONE]`, an error event, or the end of a stream that had
        neither); a failure mid-stream ends the stream with an error event (no switching models
        after the first byte). A stream the client abandons is settled in the background, with
        the output counted so far; `drain()` waits for those settlements at shutdown."""
        state = StreamUsage()
        settled = False
        outcome = CANCELLED  # unless the stream ends one way or the other below

        def row() -> SpendRow:
            estimate = (prompt_tokens, state.output_tokens_estimate)
            return self._row(
                model, resp.passthrough_headers, state.model, state.usage, state.response_id, estimate, trace, wire
            )

        async def settle_once() -> None:
            nonlocal settled
            if not settled and reservation is not None:
                settled = True
                await self.settle(reservation, row())

        try:
            try:
                async for out in wire.relay(resp.iter_chunks(), state, strip_usage=strip):
                    if state.saw_done:
                        await settle_once()
                    yield out
                await settle_once()  # the upstream ended without [DONE]: record before the stream closes
                outcome = OK
            except RouterError as exc:
                outcome = UPSTREAM_ERROR
                await settle_once()
                yield wire.error_event(exc)
        finally:
            resp.close()
            self._on_end(trace, outcome)
            if not settled and reservation is not None:
                # Abandoned by the client: record what was generated without blocking the unwinding.
                task = asyncio.get_running_loop().create_task(self.settle(reservation, row()))
                self._pending.add(task)
                task.add_done_callback(self._pending.discard)

    async def drain(self) -> None:
        """Wait for the settlements of abandoned streams (called at shutdown, before the ledger closes)."""
        while self._pending:
            await asyncio.gather(*tuple(self._pending), return_exceptions=True)
