"""The circuit breaker's states, driven by an injected clock."""

from __future__ import annotations

from src.router.state.breaker import BreakerState, CircuitBreaker, parse_retry_after


def make() -> tuple[CircuitBreaker, list[float]]:
    now = [0.0]
    return CircuitBreaker(failure_threshold=3, cooldown_s=10, clock=lambda: now[0]), now


def test_opens_after_consecutive_failures_and_half_opens_after_the_cooldown() -> None:
    b, now = make()
    for _ in range(2):
        b.failure("m", "HTTP 500")
    assert b.blocked("m") is None and b.state("m") is BreakerState.CLOSED
    b.failure("m", "HTTP 500")
    assert b.state("m") is BreakerState.OPEN
    assert "circuit open" in (b.blocked("m") or "")
    now[0] = 10.0
    assert b.state("m") is BreakerState.HALF_OPEN and b.blocked("m") is None
    b.acquire("m")  # the one trial request
    assert "trial request is in flight" in (b.blocked("m") or "")
    b.success("m")
    assert b.state("m") is BreakerState.CLOSED and b.blocked("m") is None


def test_a_failed_trial_opens_it_again() -> None:
    b, now = make()
    for _ in range(3):
        b.failure("m", "refused")
    now[0] = 11.0
    b.acquire("m")
    b.failure("m", "refused")
    assert b.state("m") is BreakerState.OPEN and b.blocked("m") is not None


def test_a_success_resets_the_failure_count() -> None:
    b, _ = make()
    b.failure("m", "x")
    b.failure("m", "x")
    b.success("m")
    b.failure("m", "x")
    assert b.state("m") is BreakerState.CLOSED


def test_429_opens_for_retry_after() -> None:
    b, now = make()
    b.failure("m", "HTTP 429", retry_after_s=30)
    assert b.state("m") is BreakerState.OPEN
    now[0] = 29.0
    assert b.blocked("m") is not None
    now[0] = 30.0
    assert b.blocked("m") is None


def test_retry_after_parsing() -> None:
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") is None
    assert parse_retry_after("-1") is None
