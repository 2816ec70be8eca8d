"""Session pins shared by replicas through Redis: a tool loop stays on its turn's model even
when the load balancer sends its next request to another replica.

A pin set here is written to Redis in the background (`pin:<hash of the pin key>`, expiring
with the session TTL); a tool-loop request that finds no pin in this process asks Redis once
(bounded by the client's timeout) and keeps what it finds. Redis away: each replica keeps its
own pins, as a single router does.
"""

from __future__ import annotations

import asyncio

import structlog
from redis.asyncio import Redis

from src.router.policy import TurnPin
from src.router.sessions import PinKey, TurnPins
from src.router.tasks import TaskType
from src.router.wire import stable_hash

log = structlog.get_logger(__name__)


class SharedTurnPins(TurnPins):
    def __init__(self, client: Redis, *, prefix: str = "mllm:", ttl_s: float = 3600.0, max_sessions: int = 10_000):
        super().__init__(ttl_s=ttl_s, max_sessions=max_sessions)
        self._redis = client
        self._prefix = prefix
        self._ttl_ms = max(1, int(ttl_s * 1000))
        self._pending: set[asyncio.Task[None]] = set()

    def _key(self, key: PinKey) -> str:
        return self._prefix + "pin:" + stable_hash(*(part.encode() for part in key))

    def put(self, key: PinKey, pin: TurnPin) -> None:
        super().put(key, pin)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # outside the server's loop (a test's direct call): local only
            return
        task = loop.create_task(self._publish(key, pin))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _publish(self, key: PinKey, pin: TurnPin) -> None:
        try:
            await self._redis.set(self._key(key), f"{pin.task_type.value}\n{pin.model}", px=self._ttl_ms)
        except Exception as exc:  # Redis away: the pin holds on this replica
            log.warning("session_pin_publish_failed", error=type(exc).__name__)

    async def fetch(self, key: PinKey) -> TurnPin | None:
        pin = self.get(key)
        if pin is not None:
            return pin
        try:
            raw = await self._redis.get(self._key(key))
        except Exception as exc:  # Redis away: as a single router, no pin
            log.warning("session_pin_fetch_failed", error=type(exc).__name__)
            return None
        if raw is None:
            return None
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        task_type, _, model = text.partition("\n")
        try:
            pin = TurnPin(model, TaskType(task_type))
        except ValueError:  # written by another version: ignored
            return None
        super().put(key, pin)  # kept here, not published again
        return pin

    async def drain(self) -> None:
        """Wait for pins being published (at shutdown, before the client closes)."""
        while self._pending:
            await asyncio.gather(*tuple(self._pending), return_exceptions=True)
