"""A circuit breaker per model: stop sending to a model that keeps failing, retry it later.

    closed --(N consecutive failures, or a 429)--> open --(cool-down over)--> half-open
    half-open --(the one trial request succeeds)--> closed
    half-open --(it fails)--> open again

A 429's `Retry-After` sets the cool-down when it is longer. The breaker applies to every
candidate, fallbacks included. `blocked()` only reads; `acquire()` is called when a request
is really sent, so a half-open model lets exactly one trial through.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass
class _Model:
    state: BreakerState = BreakerState.CLOSED
    failures: int = 0
    open_until: float = 0.0
    trial_in_flight: bool = False
    last_error: str = ""


class CircuitBreaker:
    def __init__(
        self,
        *,
        failure_threshold: int = 3,
        cooldown_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        on_open: Callable[[str, float, str], None] | None = None,
    ) -> None:
        """`on_open(model, seconds, error)` is told each time a circuit opens here (replicas
        share it: see shared_breakers.py)."""
        self.failure_threshold = failure_threshold
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._models: dict[str, _Model] = {}
        self.on_open = on_open

    def _get(self, model: str) -> _Model:
        m = self._models.get(model)
        if m is None:
            m = self._models[model] = _Model()
        return m

    def state(self, model: str) -> BreakerState:
        m = self._models.get(model)
        if m is None:
            return BreakerState.CLOSED
        if m.state is BreakerState.OPEN and self._clock() >= m.open_until:
            return BreakerState.HALF_OPEN
        return m.state

    def blocked(self, model: str) -> str | None:
        """Why the model may not be tried now, or None."""
        m = self._models.get(model)
        if m is None or m.state is BreakerState.CLOSED:
            return None
        now = self._clock()
        if m.state is BreakerState.OPEN and now < m.open_until:
            return f"circuit open for {m.open_until - now:.1f}s more after: {m.last_error}"
        if m.trial_in_flight:
            return "circuit half-open: a trial request is in flight"
        return None

    def acquire(self, model: str) -> None:
        m = self._models.get(model)
        if m is not None and m.state is BreakerState.OPEN and self._clock() >= m.open_until:
            m.state = BreakerState.HALF_OPEN
        if m is not None and m.state is BreakerState.HALF_OPEN:
            m.trial_in_flight = True

    def success(self, model: str) -> None:
        m = self._models.get(model)
        if m is not None:
            m.state, m.failures, m.trial_in_flight = BreakerState.CLOSED, 0, False

    def abandon(self, model: str) -> None:
        """The request was given up (the client left) before its outcome was known: a half-open
        trial ends without a verdict, so the next request becomes the trial."""
        m = self._models.get(model)
        if m is not None:
            m.trial_in_flight = False

    def failure(self, model: str, error: str, *, retry_after_s: float | None = None) -> None:
        m = self._get(model)
        m.failures += 1
        m.last_error = error
        m.trial_in_flight = False
        if m.state is BreakerState.HALF_OPEN or m.failures >= self.failure_threshold or retry_after_s is not None:
            seconds = max(self.cooldown_s if retry_after_s is None else 0.0, retry_after_s or 0.0)
            m.state = BreakerState.OPEN
            m.open_until = self._clock() + seconds
            if self.on_open is not None:
                self.on_open(model, seconds, error)

    def trip(self, model: str, seconds: float, error: str) -> None:
        """Open the circuit for `seconds` because another replica opened it (unless it is
        already open here for longer)."""
        m = self._get(model)
        until = self._clock() + seconds
        if m.state is BreakerState.OPEN and m.open_until >= until:
            return
        m.state, m.open_until, m.last_error, m.trial_in_flight = BreakerState.OPEN, until, error, False

    def states(self) -> dict[str, BreakerState]:
        return {name: self.state(name) for name in self._models}


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds form; HTTP dates are ignored)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
