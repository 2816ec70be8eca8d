"""The operator's surface: health and readiness, Prometheus metrics, budgets, usage, load,
the API documentation, and reloading the rules."""

from __future__ import annotations

import dataclasses

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response

from src.router.api.app_state import router_state, services
from src.router.api.responses import json_response
from src.router.core.auth import Forbidden
from src.router.core.config_errors import ConfigError
from src.router.core.errors import InvalidRequest, error_envelope
from src.router.state.metrics import exposition

routes = APIRouter()


@routes.get("/health")
async def health() -> Response:
    return json_response({"status": "ok"})


# The documentation routes sit behind the key check like every other route that tells more
# than "alive" (with no keys configured, the loopback bind is the boundary).
@routes.get("/openapi.json", include_in_schema=False)
async def openapi_document(request: Request) -> Response:
    router_state(request).auth.check(request.headers)
    return json_response(request.app.openapi())


@routes.get("/docs", include_in_schema=False)
async def swagger_ui(request: Request) -> Response:
    router_state(request).auth.check(request.headers)
    return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{request.app.title} - docs")


@routes.get("/ready")
async def ready(request: Request) -> Response:
    router_state(request).auth.check(request.headers)  # it names backends and their state
    opened = services(request)
    snap = opened.availability.snapshot
    if snap is None:
        return json_response({"ready": False, "litellm": "not probed yet", "models": {}}, 503)
    breaker = opened.breaker
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
    return json_response(body, 200 if ok else 503)


@routes.get("/metrics")
async def prometheus_metrics(request: Request) -> Response:
    state = router_state(request)
    if not state.settings.metrics_public:  # spend, budgets and backends: a key, unless opened for scrapers
        state.auth.check(request.headers)
    opened = services(request)
    await opened.budget.refresh()  # the budget gauges: every process's spend, now
    body = exposition(state.metrics, opened.state_collector)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


@routes.get("/v1/budget")
async def budget_report(request: Request) -> Response:
    router_state(request).auth.check(request.headers)
    budget = services(request).budget
    await budget.refresh()  # every process's spend and reservations, as of now
    return json_response(budget.report())


@routes.get("/v1/usage")
async def usage_report(
    request: Request, task_key: str | None = None, session_id: str | None = None, agent_id: str | None = None
) -> Response:
    """Spend of one task key, session or agent (a session's and an agent's, by agent too)."""
    claims = router_state(request).auth.check(request.headers)
    given = {k: v for k, v in (("task_key", task_key), ("session_id", session_id), ("agent_id", agent_id)) if v}
    if len(given) != 1:
        raise InvalidRequest("Give exactly one of task_key, session_id or agent_id.", param="task_key")
    ((key, value),) = given.items()
    if claims is not None and not (key == "task_key" and claims.owns_usage(value)):
        raise Forbidden(f"This task key may read only task {claims.task!r}'s usage.")
    return json_response(await services(request).budget.store.usage(key, value))


@routes.get("/v1/load")
async def load_report(request: Request) -> Response:
    router_state(request).auth.check(request.headers)
    load = services(request).load
    return json_response({**dataclasses.asdict(load.snapshot()), "age_s": load.ages()})


@routes.post("/admin/reload")
async def reload_rules(request: Request) -> Response:
    router_state(request).auth.check_admin(request.headers)
    try:
        rules = services(request).rules.reload()
    except ConfigError as exc:
        return json_response(error_envelope(str(exc), "invalid_request_error", code="invalid_rules"), 400)
    return json_response({"reloaded": True, "rules": len(rules.rules)})
