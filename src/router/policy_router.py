"""The policy router's HTTP surface: `create_app(settings)` wires the parts together.

    uvicorn src.router.policy_router:app --port 5000        (settings from the environment)
    uvicorn src.router.policy_router:create_app --factory   (the same, explicitly)

`app` is built on first access (module `__getattr__`), so importing this module does no I/O
and reads no environment.
"""

from __future__ import annotations

import asyncio
import importlib
import os
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import orjson
import structlog
from dotenv import dotenv_values
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from src.router.anthropic_api import ANTHROPIC
from src.router.anthropic_api import error_envelope as anthropic_error_envelope
from src.router.auth import Authenticator, Forbidden
from src.router.availability import AvailabilityMonitor
from src.router.breaker import CircuitBreaker
from src.router.budget import BudgetTracker
from src.router.catalog import load_catalog
from src.router.chat import ChatResult, ChatService
from src.router.classifier import Classifier, HeuristicClassifier
from src.router.config_errors import ConfigError
from src.router.disconnect import RelayResponse, unless_disconnected
from src.router.errors import BodyTooLarge, InvalidRequest, RouterError, error_envelope
from src.router.features import parse_body
from src.router.learned_classifier import DEFAULT_MODEL_PATH, LearnedClassifier, ModelUnavailable
from src.router.ledger import Ledger
from src.router.load import GpuSampler, LoadMonitor, NvmlGpuSampler, PsutilHostSampler
from src.router.metrics import Metrics, StateCollector, exposition
from src.router.rules_store import RulesStore
from src.router.rules_watch import RulesWatcher
from src.router.sessions import TurnPins
from src.router.settings import Settings
from src.router.spend_store import SpendStore, SqliteSpendStore, owner_id
from src.router.token_count import count_tokens
from src.router.upstream import AiohttpUpstream, Upstream

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = structlog.get_logger(__name__)

# The body is read raw (parsed once with orjson, forwarded as sent); this documents its shape
# for clients and for schemathesis, which exercises the router from this document.
CHAT_REQUEST_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["model", "messages"],
                    "properties": {
                        "model": {"type": "string", "description": "auto, task/<type>, or a LiteLLM model name"},
                        "messages": {
                            "type": "array",
                            "minItems": 1,
                            "items": {
                                "type": "object",
                                "required": ["role"],
                                "properties": {"role": {"type": "string"}, "content": {"type": "string"}},
                            },
                        },
                        "stream": {"type": "boolean"},
                        "max_tokens": {"type": "integer", "minimum": 1},
                    },
                }
            }
        },
    },
}


MESSAGES_REQUEST_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["model", "messages", "max_tokens"],
                    "properties": {
                        "model": {"type": "string", "description": "auto, task/<type>, a model name, or claude-*"},
                        "messages": {
                            "type": "array",
                            "minItems": 1,
                            "items": {
                                "type": "object",
                                "required": ["role", "content"],
                                "properties": {
                                    "role": {"type": "string", "enum": ["user", "assistant"]},
                                    "content": {"type": "string"},
                                },
                            },
                        },
                        "system": {"type": "string"},
                        "max_tokens": {"type": "integer", "minimum": 1},
                        "stream": {"type": "boolean"},
                    },
                }
            }
        },
    },
}


def _json(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json", headers=headers)


MESSAGES_PATH = "/v1/messages"


def _error(exc: RouterError, request: Request | None = None) -> Response:
    """The error in the envelope of the API the client called (Anthropic's on /v1/messages)."""
    if request is not None and request.url.path.startswith(MESSAGES_PATH):
        return Response(ANTHROPIC.error_body(exc), status_code=exc.status_code, media_type="application/json")
    return _json(exc.envelope(), exc.status_code)


def _result_response(result: ChatResult) -> Response:
    if result.stream is not None:
        return RelayResponse(
            result.stream,
            status_code=result.status,
            media_type=result.content_type,
            headers={**result.headers, "Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    return Response(result.body, status_code=result.status, media_type=result.content_type, headers=result.headers)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"Request body of {declared} bytes is over the {limit}-byte limit.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"Request body is over the {limit}-byte limit.")
        chunks.append(chunk)
    return b"".join(chunks)


def _live_state(app: FastAPI) -> dict[str, Any]:
    """What the scrape-time gauges read; empty before the first availability probe."""
    snap = app.state.monitor.snapshot
    if snap is None:
        return {}
    chat: ChatService = app.state.chat
    load: LoadMonitor = app.state.load
    load_snapshot = load.snapshot()
    gpus = (
        load.state.gpus.value if load.state.gpus is not None and load_snapshot.gpu_utilization_ratio is not None else []
    )
    backends = {b.base: r.value for b in load.backends if (r := load.state.backends.get(b.base)) is not None}
    return {
        "tasks": len(asyncio.all_tasks()),
        "available": {n: s.available and not chat.breaker.blocked(n) for n, s in snap.models.items()},
        "breaker": {n: chat.breaker.state(n).value for n in snap.models},
        "budgets": chat.budget.report()["budgets"],
        "load": {
            "gpus": gpus,
            "cpu_ratio": load_snapshot.cpu_ratio,
            "memory_ratio": load_snapshot.memory_ratio,
            "backends": backends,
            "ages": load.ages(),
        },
    }


async def _classifier_from_settings(settings: Settings) -> Classifier:
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
    from src.router.embedding_classifier import EmbeddingClassifier  # an extra: imported only when chosen

    embedding = EmbeddingClassifier()
    await asyncio.to_thread(embedding.load)  # fail at start, with the install command, not per request
    return embedding


def _gpu_from_settings(settings: Settings) -> GpuSampler | None:
    if not settings.gpu_sampling:
        return None
    if settings.gpu_sampler == "nvml":
        return NvmlGpuSampler()
    module_name, _, attr = settings.gpu_sampler.partition(":")
    if not attr:
        raise ConfigError(f"GPU_SAMPLER has value {settings.gpu_sampler!r}: use 'nvml' or 'module:factory'")
    factory = getattr(importlib.import_module(module_name), attr)
    sampler: GpuSampler = factory()
    return sampler


def spend_store_from_settings(settings: Settings, redis: Redis | None) -> SpendStore:
    """The machine's ledger as the shared budget state, or Redis when `REDIS_URL` is set."""
    ledger = Ledger(settings.ledger_path, synchronous_full=settings.ledger_synchronous_full)
    if redis is None:
        return SqliteSpendStore(ledger, lease_s=settings.reservation_lease_s)
    from src.router.spend_redis import RedisSpendStore

    return RedisSpendStore(redis, ledger, prefix=settings.redis_prefix, lease_s=settings.reservation_lease_s)


def _process_environ() -> Callable[[], Mapping[str, str]]:
    merged = {**{k: v for k, v in dotenv_values(".env").items() if v is not None}, **os.environ}
    return lambda: merged


def create_app(
    settings: Settings | None = None,
    *,
    upstream: Upstream | None = None,
    classifier: Classifier | None = None,
    gpu_sampler: GpuSampler | None = None,
    registry: CollectorRegistry | None = None,
    environ: Callable[[], Mapping[str, str]] | None = None,
) -> FastAPI:
    """Build the router. `environ` supplies the variables that say which cloud keys are set
    (default: `.env` overlaid by the process environment, as LiteLLM sees them)."""
    settings = settings or Settings()
    metrics = Metrics(registry if registry is not None else CollectorRegistry())
    auth = Authenticator(settings.api_keys(), settings.admin_key_value())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # First, before anything that would need closing: it may refuse (a missing extra).
        chosen_classifier = classifier or await _classifier_from_settings(settings)
        session = None
        up = upstream
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
            environ=environ or _process_environ(),
            interval_s=settings.probe_interval_s,
            timeout_s=settings.probe_timeout_s,
        )
        load = LoadMonitor(
            catalog,
            up,
            gpu=gpu_sampler if gpu_sampler is not None else _gpu_from_settings(settings),
            host=PsutilHostSampler(),
            interval_s=settings.load_interval_s,
            stale_after_s=settings.load_stale_after_s,
        )
        redis_url = settings.redis_url_value()
        redis = None
        if redis_url is not None:
            from src.router.spend_redis import redis_client  # only with REDIS_URL

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
            from src.router.shared_breakers import SharedBreakers
            from src.router.shared_pins import SharedTurnPins

            turns = SharedTurnPins(
                redis, prefix=settings.redis_prefix, ttl_s=settings.session_ttl_s, max_sessions=settings.session_max
            )
            shared_breakers = SharedBreakers(
                redis, breaker, tuple(catalog.names()), replica=owner_id(), prefix=settings.redis_prefix
            )
        await budget.open()
        app.state.rules = rules
        app.state.monitor = monitor
        app.state.load = load
        app.state.chat = ChatService(
            catalog=catalog,
            rules=rules.current,
            classifier=chosen_classifier,
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
        state = StateCollector(lambda: _live_state(app))
        metrics.registry.register(state)
        app.state.state_collector = state
        watcher = RulesWatcher(rules, interval_s=settings.rules_poll_interval_s)
        monitor.start()
        load.start()
        watcher.start(sighup=settings.reload_on_sighup)
        if shared_breakers is not None:
            shared_breakers.start()
        try:
            yield
        finally:
            if shared_breakers is not None:
                await shared_breakers.stop()
            await watcher.stop()
            await load.stop()
            await monitor.stop()
            await app.state.chat.drain()  # abandoned streams' spend, before the ledger closes
            await turns.drain()  # pins still being published (replicas), before the Redis client closes
            await budget.close()
            metrics.registry.unregister(state)
            if session is not None:
                await session.close()

    # The documentation routes are declared below, behind the key check like every other route
    # that tells more than "alive" (with no keys configured, the loopback bind is the boundary).
    app = FastAPI(
        title="Multi-LLM policy router",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    @app.exception_handler(RouterError)
    async def _router_error(request: Request, exc: RouterError) -> Response:
        return _error(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        param = ".".join(str(p) for p in first.get("loc", ())[1:]) or None
        return _error(InvalidRequest(f"Invalid request: {first.get('msg', 'bad input')}", param=param), request)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith(MESSAGES_PATH):
            body = anthropic_error_envelope(exc.status_code, str(exc.detail))
            return _json(body, exc.status_code)
        kind = "invalid_request_error" if exc.status_code < 500 else "server_error"
        return _json(error_envelope(str(exc.detail), kind, code=str(exc.status_code)), exc.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        return _error(RouterError("Internal router error."), request)

    @app.get("/health")
    async def health() -> Response:
        return _json({"status": "ok"})

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi_document(request: Request) -> Response:
        auth.check(request.headers)
        return _json(app.openapi())

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> Response:
        auth.check(request.headers)
        return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{app.title} - docs")

    @app.get("/ready")
    async def ready(request: Request) -> Response:
        auth.check(request.headers)  # it names backends and their state
        snap = request.app.state.monitor.snapshot
        if snap is None:
            return _json({"ready": False, "litellm": "not probed yet", "models": {}}, 503)
        breaker = request.app.state.chat.breaker
        models = {
            n: {
                "available": s.available,
                "reason": s.reason,
                "breaker": breaker.state(n).value,
                "context_window": s.context_window,
            }
            for n, s in snap.models.items()
        }
        ok = snap.litellm_up and any(s.available for s in snap.models.values())
        body = {"ready": ok, "litellm": snap.litellm_detail, "models": models}
        return _json(body, 200 if ok else 503)

    @app.get("/v1/models")
    async def list_models(request: Request) -> Response:
        auth.check(request.headers)
        return _json(await request.app.state.chat.models())

    @app.post("/v1/chat/completions", openapi_extra=CHAT_REQUEST_DOC)
    async def chat_completions(request: Request) -> Response:
        claims = auth.check(request.headers)
        raw = await _read_body(request, settings.max_body_bytes)
        result = await unless_disconnected(
            request.receive, request.app.state.chat.complete(raw, request.headers, claims)
        )
        if result is None:
            return Response(status_code=499)  # the client is gone; nobody reads this
        return _result_response(result)

    @app.post(MESSAGES_PATH, openapi_extra=MESSAGES_REQUEST_DOC)
    async def messages(request: Request) -> Response:
        """Anthropic's Messages API (Claude Code): the same flow, Anthropic's format."""
        claims = auth.check(request.headers)
        raw = await _read_body(request, settings.max_body_bytes)
        flow = request.app.state.chat.complete(raw, request.headers, claims, ANTHROPIC)
        result = await unless_disconnected(request.receive, flow)
        if result is None:
            return Response(status_code=499)
        return _result_response(result)

    @app.post(MESSAGES_PATH + "/count_tokens", openapi_extra=MESSAGES_REQUEST_DOC)
    async def messages_count_tokens(request: Request) -> Response:
        auth.check(request.headers)
        raw = await _read_body(request, settings.max_body_bytes)
        status, body, model = await count_tokens(request.app.state.chat, raw, request.headers)
        return Response(body, status_code=status, media_type="application/json", headers={"x-router-model": model})

    @app.post("/v1/route", openapi_extra=CHAT_REQUEST_DOC)
    async def explain_route(request: Request) -> Response:
        auth.check(request.headers)
        body = parse_body(await _read_body(request, settings.max_body_bytes))
        routed = await request.app.state.chat.route(body, request.headers)
        return _json(routed.decision.explain())

    @app.get("/metrics")
    async def prometheus_metrics(request: Request) -> Response:
        if not settings.metrics_public:  # spend, budgets and backends: a key, unless opened for scrapers
            auth.check(request.headers)
        await request.app.state.chat.budget.refresh()  # the budget gauges: every process's spend, now
        body = exposition(metrics, request.app.state.state_collector)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/budget")
    async def budget_report(request: Request) -> Response:
        auth.check(request.headers)
        budget = request.app.state.chat.budget
        await budget.refresh()  # every process's spend and reservations, as of now
        return _json(budget.report())

    @app.get("/v1/usage")
    async def usage_report(
        request: Request, task_key: str | None = None, session_id: str | None = None, agent_id: str | None = None
    ) -> Response:
        """Spend of one task key, session or agent (a session's and an agent's, by agent too)."""
        claims = auth.check(request.headers)
        given = {k: v for k, v in (("task_key", task_key), ("session_id", session_id), ("agent_id", agent_id)) if v}
        if len(given) != 1:
            raise InvalidRequest("Give exactly one of task_key, session_id or agent_id.", param="task_key")
        ((key, value),) = given.items()
        if claims is not None and not (key == "task_key" and claims.owns_usage(value)):
            raise Forbidden(f"This task key may read only task {claims.task!r}'s usage.")
        return _json(await request.app.state.chat.budget.store.usage(key, value))

    @app.get("/v1/load")
    async def load_report(request: Request) -> Response:
        auth.check(request.headers)
        load = request.app.state.load
        snap = load.snapshot()
        return _json(
            {
                "gpu_utilization_ratio": snap.gpu_utilization_ratio,
                "gpu_memory_ratio": snap.gpu_memory_ratio,
                "cpu_ratio": snap.cpu_ratio,
                "memory_ratio": snap.memory_ratio,
                "backend_queue": dict(snap.backend_queue),
                "backend_running": dict(snap.backend_running),
                "backend_kv_cache_ratio": dict(snap.backend_kv_cache_ratio),
                "notes": list(snap.notes),
                "age_s": load.ages(),
            }
        )

    @app.post("/admin/reload")
    async def reload_rules(request: Request) -> Response:
        auth.check_admin(request.headers)
        try:
            rules = request.app.state.rules.reload()
        except ConfigError as exc:
            return _json(error_envelope(str(exc), "invalid_request_error", code="invalid_rules"), 400)
        return _json({"reloaded": True, "rules": len(rules.rules)})

    return app


def __getattr__(name: str) -> Any:
    # `uvicorn src.router.policy_router:app` looks up `app`; build it then, not at import.
    if name == "app":
        return create_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
