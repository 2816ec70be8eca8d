"""Circuit breakers shared by replicas through Redis: a model that fails on one is skipped by all.

When a circuit opens on a replica, it writes `breaker:<model>` (the error, expiring with the
cool-down); every replica reads those keys every `interval_s` and opens its own circuit for the
time the key has left (its PTTL: no clock needs to agree). Each replica then runs its own
half-open trial. Redis away: each replica keeps its own breakers, as a single router does.
"""

from __future__ import annotations

import asyncio

import structlog
from redis.asyncio import Redis

from src.router.background import cancel, every
from src.router.breaker import CircuitBreaker

log = structlog.get_logger(__name__)


class SharedBreakers:
    def __init__(
        self,
        client: Redis,
        breaker: CircuitBreaker,
        models: tuple[str, ...],
        *,
        replica: str,
        prefix: str = "mllm:",
        interval_s: float = 0.25,
    ) -> None:
        self._redis = client
        self._breaker = breaker
        self._models = models
        self._replica = replica
        self._prefix = prefix
        self._interval = interval_s
        self._task: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[None]] = set()
        self._away = False
        breaker.on_open = self.opened

    def _key(self, model: str) -> str:
        return f"{self._prefix}breaker:{model}"

    def opened(self, model: str, seconds: float, error: str) -> None:
        """Called by the breaker when a circuit opens here: tell the fleet (in the background)."""
        task = asyncio.get_running_loop().create_task(self._publish(model, seconds, error))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _publish(self, model: str, seconds: float, error: str) -> None:
        try:
            await self._redis.set(self._key(model), f"{self._replica}: {error}", px=max(1, int(seconds * 1000)))
        except Exception as exc:  # Redis away: this replica's own breaker still holds
            log.warning("breaker_publish_failed", model=model, error=type(exc).__name__)

    async def poll(self) -> None:
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for model in self._models:
                    pipe.get(self._key(model))
                    pipe.pttl(self._key(model))
                replies = await pipe.execute()
        except Exception as exc:  # Redis away: logged once; this replica's own breakers hold meanwhile
            if not self._away:
                log.warning("shared_breakers_unreachable", error=type(exc).__name__)
            self._away = True
            return
        if self._away:
            log.info("shared_breakers_back")
        self._away = False
        for i, model in enumerate(self._models):
            value, pttl = replies[2 * i], replies[2 * i + 1]
            if value is None or pttl is None or pttl <= 0:
                continue
            text = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
            if text.startswith(self._replica + ":"):
                continue  # opened here
            self._breaker.trip(model, pttl / 1000, f"opened by replica {text}")

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            every(self._interval, self.poll, what="shared_breakers_poll"), name="shared-breakers"
        )

    async def stop(self) -> None:
        await cancel(self._task)
        self._task = None
        for task in tuple(self._pending):
            await asyncio.gather(task, return_exceptions=True)
