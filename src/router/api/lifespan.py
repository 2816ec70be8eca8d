"""The router's lifespan: build the collaborators from settings, start the background work,
and close everything in reverse order at shutdown.

Injected parts (an upstream, a classifier, a GPU sampler, the environment) replace the ones
built from settings; tests and other vendors' samplers come in this way.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from dotenv import dotenv_values
from fastapi import FastAPI

from src.router.api.app_state import RouterState, Services
from src.router.core.catalog import load_catalog
from src.router.core.classifier import Classifier, HeuristicClassifier
from src.router.core.config_errors import ConfigError
from src.router.core.learned_classifier import DEFAULT_MODEL_PATH, LearnedClassifier, ModelUnavailable
from src.router.flow.chat import ChatService
from src.router.settings import Settings
from src.router.state.availability import AvailabilityMonitor
from src.router.state.breaker import CircuitBreaker
from src.router.state.budget import BudgetTracker
from src.router.state.ledger import Ledger
from src.router.state.load import FileGpuSampler, GpuSampler, LoadMonitor, NvmlGpuSampler, PsutilHostSampler
from src.router.state.metrics import StateCollector
from src.router.state.rules_store import RulesStore
from src.router.state.rules_watch import RulesWatcher
from src.router.state.sessions import TurnPins
from src.router.state.spend_store import SpendStore, SqliteSpendStore, owner_id
from src.router.upstream.client import AiohttpUpstream, Upstream

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Overrides:
    """Parts given to `create_app` instead of those built from settings."""

    upstream: Upstream | None = None
    classifier: Classifier | None = None
    gpu_sampler: GpuSampler | None = None
    environ: Callable[[], Mapping[str, str]] | None = None


async def classifier_from_settings(settings: Settings) -> Classifier:
    if settings.classifier == "heuristic":
        return HeuristicClassifier()
    if settings.classifier == "learned":
        path = settings.classifier_model or DEFAULT_MODEL_PATH
        try:
            return await asyncio.to_thread(LearnedClassifier.load, path)
        except ModelUnavailable as exc:
            log.warning(
                "classifier_fallback",
                wanted="learned",
                using="heuristic",
                reason=str(exc),
                hint="make train-classifier rebuilds data/classifier/model.npz",
            )
            return HeuristicClassifier()
    from src.router.core.embedding_classifier import EmbeddingClassifier  # an extra: imported only when chosen

    embedding = EmbeddingClassifier()
    await asyncio.to_thread(embedding.load)  # fail at start, with the install command, not per request
    return embedding


def gpu_from_settings(settings: Settings) -> GpuSampler | None:
    if not settings.gpu_sampling:
        return None
    if settings.gpu_sampler == "nvml":
        return NvmlGpuSampler()
    kind, _, path = settings.gpu_sampler.partition(":")
    if kind != "file" or not path:
        raise ConfigError(f"GPU_SAMPLER has value {settings.gpu_sampler!r}: use 'nvml' or 'file:PATH'")
    return FileGpuSampler(Path(path))


def spend_store_from_settings(settings: Settings, redis: Redis | None) -> SpendStore:
    """The machine's ledger as the shared budget state, or Redis when `REDIS_URL` is set."""
    ledger = Ledger(settings.ledger_path, synchronous_full=settings.ledger_synchronous_full)
    if redis is None:
        return SqliteSpendStore(ledger, lease_s=settings.reservation_lease_s)
    from src.router.state.spend_redis import RedisSpendStore

    return RedisSpendStore(redis, ledger, prefix=settings.redis_prefix, lease_s=settings.reservation_lease_s)


def process_environ() -> Callable[[], Mapping[str, str]]:
    merged = {**{k: v for k, v in dotenv_values(".env").items() if v is not None}, **os.environ}
    return lambda: merged


def live_state(services: Services) -> dict[str, Any]:
    """What the scrape-time gauges read; empty before the first availability probe."""
    snap = services.availability.snapshot
    if snap is None:
        return {}
    breaker, load = services.breaker, services.load
    load_snapshot = load.snapshot()
    gpus, backends = load.readings()
    return {
        "tasks": len(asyncio.all_tasks()),
        "available": {n: s.available and not breaker.blocked(n) for n, s in snap.models.items()},
        "breaker": {n: breaker.state(n).value for n in snap.models},
        "budgets": services.budget.report()["budgets"],
        "load": {
            "gpus": gpus,
            "cpu_ratio": load_snapshot.cpu_ratio,
            "memory_ratio": load_snapshot.memory_ratio,
            "backends": backends,
            "ages": load.ages(),
        },
    }


def lifespan(state: RouterState, given: Overrides) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    settings, metrics = state.settings, state.metrics

    @asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[None]:
        # First, before anything that would need closing: it may refuse (a missing extra).
        classifier = given.classifier or await classifier_from_settings(settings)
        session = None
        up = given.upstream
        if up is None:
            session = AiohttpUpstream.new_session()
            up = AiohttpUpstream(
                session,
                connect_timeout_s=settings.upstream_connect_timeout_s,
                read_timeout_s=settings.upstream_read_timeout_s,
            )
        catalog = load_catalog(settings.litellm_config)
        rules = RulesStore(settings.routing_rules, catalog.names(), {m.provider for m in catalog.models})
        monitor = AvailabilityMonitor(
            catalog,
            up,
            litellm_base_url=settings.litellm_base_url,
            litellm_key=settings.master_key_value(),
            environ=given.environ or process_environ(),
            interval_s=settings.probe_interval_s,
            timeout_s=settings.probe_timeout_s,
        )
        load = LoadMonitor(
            catalog,
            up,
            gpu=given.gpu_sampler if given.gpu_sampler is not None else gpu_from_settings(settings),
            host=PsutilHostSampler(),
            interval_s=settings.load_interval_s,
            stale_after_s=settings.load_stale_after_s,
        )
        redis_url = settings.redis_url_value()
        redis = None
        if redis_url is not None:
            from src.router.state.spend_redis import redis_client  # only with REDIS_URL

            redis = redis_client(redis_url, timeout_s=settings.redis_timeout_s)
        store = spend_store_from_settings(settings, redis)
        budget = BudgetTracker(
            catalog,
            lambda: rules.current().budgets,
            store,
            default_output_tokens=settings.default_output_tokens,
            refresh_s=settings.budget_refresh_s,
        )
        breaker = CircuitBreaker(
            failure_threshold=settings.breaker_failure_threshold, cooldown_s=settings.breaker_cooldown_s
        )
        shared_breakers = None
        turns = TurnPins(ttl_s=settings.session_ttl_s, max_sessions=settings.session_max)
        if redis is not None:
            from src.router.state.shared_breakers import SharedBreakers
            from src.router.state.shared_pins import SharedTurnPins

            turns = SharedTurnPins(
                redis, prefix=settings.redis_prefix, ttl_s=settings.session_ttl_s, max_sessions=settings.session_max
            )
            shared_breakers = SharedBreakers(
                redis, breaker, tuple(catalog.names()), replica=owner_id(), prefix=settings.redis_prefix
            )
        await budget.open()
        chat = ChatService(
            catalog=catalog,
            rules=rules.current,
            classifier=classifier,
            availability=monitor,
            upstream=up,
            litellm_base_url=settings.litellm_base_url,
            litellm_key=settings.master_key_value(),
            breaker=breaker,
            budget=budget,
            load=load,
            metrics=metrics,
            strict_fields=settings.strict_request_fields,
            turns=turns,
        )
        collector = StateCollector(lambda: live_state(opened))
        opened = Services(rules, monitor, load, chat, budget, breaker, collector)
        metrics.registry.register(collector)
        watcher = RulesWatcher(rules, interval_s=settings.rules_poll_interval_s)
        monitor.start()
        load.start()
        watcher.start(sighup=settings.reload_on_sighup)
        if shared_breakers is not None:
            shared_breakers.start()
        state.services = opened
        try:
            yield
        finally:
            state.services = None
            if shared_breakers is not None:
                await shared_breakers.stop()
            await watcher.stop()
            await load.stop()
            await monitor.stop()
            await chat.drain()  # abandoned streams' spend, before the ledger closes
            await turns.drain()  # pins still being published (replicas), before the Redis client closes
            await budget.close()
            metrics.registry.unregister(collector)
            if session is not None:
                await session.close()

    return run
