"""Budgets: spend per UTC day and month, caps per model, provider and in total.

Admission is judged on the event loop, synchronously, against committed spend plus the
reservations of requests in flight; a request reserves its worst-case cost before it is sent:
its estimated input tokens (every part of the request: messages, tool calls, tool schemas,
`response_format`, images) times the input price, plus its output ceiling times the output
price. The ceiling is the client's `max_tokens` (never above the model's), else the model's
`max_output_tokens` from LiteLLM's `model_info` (what LiteLLM lets it write), else
`default_output_tokens`. The reservation is replaced by the real cost when the answer ends,
priced by the model that really answered (LiteLLM's `x-litellm-model-group`), never below
the cost LiteLLM itself reports.

The overshoot bound: total spend never exceeds a cap by more than the sum, over requests in
flight when it was reached, of (actual cost - reserved cost) where positive. With `max_tokens`
set and a prompt-token estimate that does not undercount, that sum is 0. A model whose price
is zero is never capped: it cannot add spend.

Several processes serve one budget through a `SpendStore` (spend_store.py): the check and the
reservation are one atomic step in the store, so N workers or replicas admit exactly what one
process would. The policy's snapshot (which models look capped) reads a view of the shared
state refreshed every `refresh_s` (so it may lag by that much); it only steers the choice: the
store's check at `reserve` is what holds the cap, and a model the view shows as fitting but
the store refuses is skipped with the store's reason.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from src.router.background import cancel, every
from src.router.catalog import Catalog, CatalogModel
from src.router.ledger import Ledger, SpendRow
from src.router.policy import BudgetSnapshot
from src.router.rules import Budget, BudgetScope, Period
from src.router.spend import cost_of
from src.router.spend_store import Cap, Claim, Refusal, SpendStore, SpendView

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Reservation:
    id: int  # the store's id; 0: nothing was reserved in the store (a free model, no caps)
    model: str
    amount: float
    day: str = ""  # the UTC day it was made in
    task: str | None = None  # the task whose spend ceiling it counts against


def _keys(ts: float) -> tuple[str, str]:
    day = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")
    return day, day[:7]


class TaskCeilingReached(str):
    """Why a request was refused: its task's spend ceiling, not a budget."""

    __slots__ = ()


class SpendStoreUnavailable(str):
    """Why a priced model was refused: the shared spend store cannot be reached (fail closed)."""

    __slots__ = ()


def _describe(b: Budget) -> str:
    return f"budget {b.name!r} ({b.period.value} {b.scope.value}{' ' + b.target if b.target else ''})"


class BudgetTracker:
    def __init__(
        self,
        catalog: Catalog,
        budgets: Callable[[], tuple[Budget, ...]],
        store: SpendStore,
        *,
        default_output_tokens: int = 1024,
        refresh_s: float = 0.5,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._catalog = catalog
        self._budgets = budgets
        self.store = store
        self.default_output_tokens = default_output_tokens
        self._refresh_s = refresh_s
        self._clock = clock
        self._day, self._month = _keys(clock())
        self._daily: dict[str, float] = {}
        self._monthly: dict[str, float] = {}
        self._reserved: dict[str, float] = {}  # model -> in flight, every process (as last read)
        self._mine: dict[int, Reservation] = {}  # this process's reservations in the store
        self.unavailable: str | None = None  # why the store cannot be reached now, if it cannot
        self._refresher: asyncio.Task[None] | None = None

    @property
    def ledger(self) -> Ledger:
        return self.store.ledger

    async def open(self) -> None:
        for m in self._catalog.models:
            if m.priced and m.max_output_tokens is None:
                # LiteLLM may let it write far more: its reservations can fall short of its answers.
                log.warning("paid_model_without_max_output_tokens", model=m.name, reserving=self.default_output_tokens)
        await self.store.open()
        await self.refresh()
        self._refresher = asyncio.get_running_loop().create_task(
            every(self._refresh_s, self.refresh, what="budget_refresh"), name="budget-refresh"
        )

    async def close(self) -> None:
        await cancel(self._refresher)
        self._refresher = None
        await self.store.close()

    async def refresh(self) -> None:
        """Read the shared spend and reservations (every process's) into the local view."""
        day, month = _keys(self._clock())
        try:
            view = await self.store.view(day, month)
        except Exception as exc:  # the store is away: priced models are refused until it is back
            self._unreachable(exc)
            return
        self.unavailable = None
        self._apply(day, month, view)

    def _unreachable(self, exc: BaseException) -> None:
        if self.unavailable is None:
            log.error("spend_store_unreachable", error=f"{type(exc).__name__}: {exc}")
        self.unavailable = f"the shared spend store is unreachable ({type(exc).__name__}); paid models are refused"

    def _apply(self, day: str, month: str, view: SpendView) -> None:
        self._day, self._month = day, month
        self._daily = dict(view.committed.get(day, {}))
        self._monthly = dict(view.committed.get(month, {}))
        self._reserved = dict(view.reserved)

    # -- bookkeeping -----------------------------------------------------------------------
    def _roll(self) -> None:
        day, month = _keys(self._clock())
        if day != self._day:
            # A new period starts clean: reservations count against the day they were made in
            # (a request in flight across midnight is charged when it settles).
            self._day, self._daily, self._reserved = day, {}, {}
        if month != self._month:
            self._month, self._monthly = month, {}

    def _covers(self, budget: Budget, model: CatalogModel) -> bool:
        if budget.scope is BudgetScope.TOTAL:
            return True
        if budget.scope is BudgetScope.MODEL:
            return budget.target == model.name
        return budget.target == model.provider

    def _covered(self, budget: Budget) -> tuple[str, ...]:
        return tuple(m.name for m in self._catalog.models if self._covers(budget, m))

    def _spent(self, budget: Budget) -> tuple[float, float]:
        """(committed spend, reserved in flight) for a budget's current period, as last read."""
        per_model = self._daily if budget.period is Period.DAILY else self._monthly
        covered = self._covered(budget)
        return sum(per_model.get(m, 0.0) for m in covered), sum(self._reserved.get(m, 0.0) for m in covered)

    def output_ceiling(self, model: CatalogModel, max_output_tokens: int | None) -> int:
        """The most output tokens the model may write for this request."""
        if max_output_tokens:
            return min(max_output_tokens, model.max_output_tokens or max_output_tokens)
        return model.max_output_tokens or self.default_output_tokens

    def estimate(self, model: CatalogModel, prompt_tokens: int, max_output_tokens: int | None) -> float:
        return cost_of(model, prompt_tokens, self.output_ceiling(model, max_output_tokens))

    @staticmethod
    def _free(model: CatalogModel) -> bool:
        return model.input_cost_per_token == 0 and model.output_cost_per_token == 0

    def why_capped(self, model_name: str, estimate: float) -> str | None:
        """Why the model looks capped for a request of `estimate`, from the last view (advisory:
        `reserve` decides)."""
        model = self._catalog.get(model_name)
        if model is None or self._free(model):
            return None
        if self.unavailable is not None:
            return SpendStoreUnavailable(self.unavailable)
        budgets = self._budgets()
        self._roll()
        for b in budgets:
            if not self._covers(b, model):
                continue
            spent, reserved = self._spent(b)
            if spent + reserved + estimate > b.limit_usd:
                return self._capped_text(b, spent, reserved, estimate)
        return None

    @staticmethod
    def _capped_text(b: Budget, spent: float, reserved: float, estimate: float) -> str:
        return (
            f"{_describe(b)}: ${spent:.4f} spent + ${reserved:.4f} in flight"
            f" + ${estimate:.4f} for this request > ${b.limit_usd:.4f}"
        )

    def snapshot(self, prompt_tokens: int, max_output_tokens: int | None) -> BudgetSnapshot:
        """What the policy needs: which models this request may not use, and how spent each is."""
        budgets = self._budgets()
        if not budgets and self.unavailable is None:
            return BudgetSnapshot()
        self._roll()
        capped: dict[str, str] = {}
        ratio: dict[str, float] = {}
        for m in self._catalog.models:
            why = self.why_capped(m.name, self.estimate(m, prompt_tokens, max_output_tokens))
            if why:
                capped[m.name] = why
            ratios = [sum(self._spent(b)) / b.limit_usd for b in budgets if self._covers(b, m)]
            if ratios:
                ratio[m.name] = max(ratios)
        return BudgetSnapshot(spent_ratio=ratio, capped=capped)

    async def reserve(
        self, model_name: str, amount: float, *, task: str | None = None, ceiling: float | None = None
    ) -> Reservation | str:
        """Reserve for a request about to be sent; a string says why the model is capped (a budget,
        the task's spend ceiling when `task` and `ceiling` are given, or the store being away)."""
        self._roll()
        model = self._catalog.get(model_name)
        budgets = self._budgets()
        caps: tuple[Cap, ...] = ()
        by_name: dict[str, Budget] = {}
        if model is not None and not self._free(model):
            for b in budgets:
                if self._covers(b, model):
                    name = f"{b.name}/{b.period.value}"
                    by_name[name] = b
                    period = self._day if b.period is Period.DAILY else self._month
                    caps += (Cap(name, period, self._covered(b), b.limit_usd),)
        has_ceiling = task is not None and ceiling is not None and amount != 0
        # With the store away, a paid request still asks it: refused until it answers again.
        store_away = self.unavailable is not None and model is not None and not self._free(model)
        if not caps and not has_ceiling and not store_away:
            return Reservation(0, model_name, amount, self._day, task)  # nothing shared to check
        claim = Claim(model_name, amount, self._day, caps, task if has_ceiling else None, ceiling)
        try:
            got = await self.store.reserve(claim)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # unreachable or failing: fail closed, for paid models only
            self._unreachable(exc)
            return SpendStoreUnavailable(self.unavailable or "")
        self.unavailable = None
        if isinstance(got, Refusal):
            if got.cap is None:
                return TaskCeilingReached(
                    f"task {task!r} spend ceiling (max_cost_usd): ${got.spent:.4f} spent + ${got.reserved:.4f}"
                    f" in flight + ${amount:.4f} for this request > ${ceiling or 0:.4f}"
                )
            return self._capped_text(by_name[got.cap.name], got.spent, got.reserved, amount)
        # The view is not adjusted here: a read already under way may include this reservation,
        # and counting it twice would steer requests away from a model that still fits.
        r = Reservation(got, model_name, amount, self._day, task)
        self._mine[r.id] = r
        return r

    def _forget(self, reservation: Reservation) -> bool:
        return self._mine.pop(reservation.id, None) is not None

    def release(self, reservation: Reservation) -> None:
        """Drop a reservation that will not be spent (never blocks: it runs on every exit path)."""
        if self._forget(reservation):
            self.store.release(reservation.id)

    async def settle(self, reservation: Reservation, row: SpendRow) -> None:
        """Replace the reservation with the real spend and return once the row is durable."""
        shared = self._forget(reservation)
        if row.cost_usd == 0 and not shared:
            self.store.tally(row)  # free: counted, written with the next flush
            return
        await self.store.settle(reservation.id, row, reservation.task)

    def report(self) -> dict[str, Any]:
        self._roll()
        out = []
        for b in self._budgets():
            spent, reserved = self._spent(b)
            out.append(
                {
                    "name": b.name,
                    "scope": b.scope.value,
                    "target": b.target,
                    "period": b.period.value,
                    "period_key": self._day if b.period is Period.DAILY else self._month,
                    "limit_usd": b.limit_usd,
                    "spent_usd": round(spent, 8),
                    "in_flight_usd": round(reserved, 8),
                    "remaining_usd": round(max(0.0, b.limit_usd - spent - reserved), 8),
                }
            )
        report: dict[str, Any] = {
            "day": self._day,
            "month": self._month,
            "budgets": out,
            "spend_today_by_model": {k: round(v, 8) for k, v in self._daily.items()},
            "spend_this_month_by_model": {k: round(v, 8) for k, v in self._monthly.items()},
        }
        if self.unavailable is not None:
            report["store_unavailable"] = self.unavailable
        return report
