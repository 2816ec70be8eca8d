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
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from src.router.catalog import Catalog, CatalogModel
from src.router.ledger import Ledger, SpendRow
from src.router.policy import BudgetSnapshot
from src.router.rules import Budget, BudgetScope, Period
from src.router.spend import cost_of

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Reservation:
    id: int
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


class BudgetTracker:
    def __init__(
        self,
        catalog: Catalog,
        budgets: Callable[[], tuple[Budget, ...]],
        ledger: Ledger,
        *,
        default_output_tokens: int = 1024,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._catalog = catalog
        self._budgets = budgets
        self.ledger = ledger
        self.default_output_tokens = default_output_tokens
        self._clock = clock
        self._day, self._month = _keys(clock())
        self._daily: dict[str, float] = {}
        self._monthly: dict[str, float] = {}
        self._reserved: dict[int, Reservation] = {}
        self._task_spent: dict[str, float] = {}  # task -> spend, all time (read from the ledger once)
        self._ids = itertools.count(1)

    async def open(self) -> None:
        for m in self._catalog.models:
            if m.priced and m.max_output_tokens is None:
                # LiteLLM may let it write far more: its reservations can fall short of its answers.
                log.warning("paid_model_without_max_output_tokens", model=m.name, reserving=self.default_output_tokens)
        self.ledger.open()
        self._daily, self._monthly = self.ledger.totals(self._day, self._month)

    async def close(self) -> None:
        await self.ledger.close()

    # -- bookkeeping -----------------------------------------------------------------------
    def _roll(self) -> None:
        day, month = _keys(self._clock())
        if day != self._day:
            self._day, self._daily = day, {}
            # A new period starts clean: reservations from an earlier day are dropped (a request
            # still in flight across midnight is charged when it settles; a leaked one is gone).
            self._reserved = {i: r for i, r in self._reserved.items() if r.day == day}
        if month != self._month:
            self._month, self._monthly = month, {}

    def _covers(self, budget: Budget, model: CatalogModel) -> bool:
        if budget.scope is BudgetScope.TOTAL:
            return True
        if budget.scope is BudgetScope.MODEL:
            return budget.target == model.name
        return budget.target == model.provider

    def _spent(self, budget: Budget) -> tuple[float, float]:
        """(committed spend, reserved in flight) for a budget's current period."""
        per_model = self._daily if budget.period is Period.DAILY else self._monthly
        spent = reserved = 0.0
        for m in self._catalog.models:
            if self._covers(budget, m):
                spent += per_model.get(m.name, 0.0)
        for r in self._reserved.values():
            model = self._catalog.get(r.model)
            if model is not None and self._covers(budget, model):
                reserved += r.amount
        return spent, reserved

    def output_ceiling(self, model: CatalogModel, max_output_tokens: int | None) -> int:
        """The most output tokens the model may write for this request."""
        if max_output_tokens:
            return min(max_output_tokens, model.max_output_tokens or max_output_tokens)
        return model.max_output_tokens or self.default_output_tokens

    def estimate(self, model: CatalogModel, prompt_tokens: int, max_output_tokens: int | None) -> float:
        return cost_of(model, prompt_tokens, self.output_ceiling(model, max_output_tokens))

    def why_capped(self, model_name: str, estimate: float) -> str | None:
        model = self._catalog.get(model_name)
        budgets = self._budgets()
        if model is None or not budgets or (model.input_cost_per_token == 0 and model.output_cost_per_token == 0):
            return None
        self._roll()
        for b in budgets:
            if not self._covers(b, model):
                continue
            spent, reserved = self._spent(b)
            if spent + reserved + estimate > b.limit_usd:
                return (
                    f"budget {b.name!r} ({b.period.value} {b.scope.value}"
                    f"{' ' + b.target if b.target else ''}): ${spent:.4f} spent + ${reserved:.4f} in flight"
                    f" + ${estimate:.4f} for this request > ${b.limit_usd:.4f}"
                )
        return None

    def snapshot(self, prompt_tokens: int, max_output_tokens: int | None) -> BudgetSnapshot:
        """What the policy needs: which models this request may not use, and how spent each is."""
        budgets = self._budgets()
        if not budgets:
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

    def task_capped(self, task: str, ceiling: float, amount: float) -> str | None:
        """Why a request may not reserve `amount` more against a task's spend ceiling, or None."""
        if amount == 0:
            return None  # a free model adds no spend
        spent = self._task_spent.get(task)
        if spent is None:
            spent = self._task_spent[task] = self.ledger.task_cost(task)
        reserved = sum(r.amount for r in self._reserved.values() if r.task == task)
        if spent + reserved + amount > ceiling:
            return TaskCeilingReached(
                f"task {task!r} spend ceiling (max_cost_usd): ${spent:.4f} spent + ${reserved:.4f} in flight"
                f" + ${amount:.4f} for this request > ${ceiling:.4f}"
            )
        return None

    def reserve(
        self, model_name: str, amount: float, *, task: str | None = None, ceiling: float | None = None
    ) -> Reservation | str:
        """Reserve for a request about to be sent; a string says why the model is capped (a budget,
        or the task's spend ceiling when `task` and `ceiling` are given)."""
        self._roll()
        why = self.why_capped(model_name, amount)
        if why is None and task is not None and ceiling is not None:
            why = self.task_capped(task, ceiling, amount)
        if why is not None:
            return why
        r = Reservation(next(self._ids), model_name, amount, self._day, task)
        self._reserved[r.id] = r
        return r

    def release(self, reservation: Reservation) -> None:
        self._reserved.pop(reservation.id, None)

    async def settle(self, reservation: Reservation, row: SpendRow) -> None:
        """Replace the reservation with the real spend (immediately, for the next request's
        admission) and return once the row is durable."""
        self._reserved.pop(reservation.id, None)
        if reservation.task is not None and reservation.task in self._task_spent:
            self._task_spent[reservation.task] += row.cost_usd
        if row.cost_usd == 0:
            self.ledger.tally(row)  # free: counted, written with the next flush
            return
        self._roll()
        if row.day == self._day:
            self._daily[row.model] = self._daily.get(row.model, 0.0) + row.cost_usd
        if row.month == self._month:
            self._monthly[row.model] = self._monthly.get(row.model, 0.0) + row.cost_usd
        await self.ledger.record(row)

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
        return {
            "day": self._day,
            "month": self._month,
            "budgets": out,
            "spend_today_by_model": {k: round(v, 8) for k, v in self._daily.items()},
            "spend_this_month_by_model": {k: round(v, 8) for k, v in self._monthly.items()},
        }
