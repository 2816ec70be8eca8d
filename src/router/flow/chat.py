"""The request flow every API shares: parse → features → decide → admit → send/fail over →
relay → settle.

`ChatService` owns the flow; the HTTP layer hands it the raw body, the headers and the wire
format of its API (`wire.OPENAI` for chat-completions, `anthropic_api.ANTHROPIC` for
Messages) and renders what it returns. What differs between APIs — reading the body, the
request as one model takes it, usage, the error envelope — is the wire format's. The decision
is `routing.RequestRouter`'s (parse → features → `policy.decide`); this module admits
(reserves), sends and fails over; `settlement.Settlement` relays and settles the spend.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from prometheus_client import CollectorRegistry

from src.router.core.auth import Forbidden
from src.router.core.catalog import Catalog, CatalogModel
from src.router.core.classifier import Classifier
from src.router.core.errors import (
    InvalidRequest,
    NoModelAvailable,
    RouterError,
    SpendStoreUnreachable,
    UpstreamError,
    UpstreamUnavailable,
)
from src.router.core.policy import (
    WINDOW_TOO_SMALL,
    merge_windows,
)
from src.router.core.rules import RulesFile
from src.router.core.task_keys import TaskClaims
from src.router.core.tasks import virtual_model_names
from src.router.flow.routing import RequestRouter, RoutedRequest
from src.router.flow.settlement import Settlement, Trace
from src.router.state.availability import AvailabilityMonitor
from src.router.state.breaker import CircuitBreaker, parse_retry_after
from src.router.state.budget import BudgetTracker, Reservation, SpendStoreUnavailable, TaskCeilingReached
from src.router.state.load import LoadMonitor
from src.router.state.metrics import CANCELLED, CLIENT_ERROR, OK, REJECTED, UPSTREAM_ERROR, Metrics
from src.router.state.sessions import TurnPins
from src.router.upstream.client import Target, Upstream, UpstreamResponse
from src.router.wire.formats import OPENAI, WireFormat
from src.router.wire.sse import Relay

log = structlog.get_logger(__name__)

# Statuses after which the next candidate is tried (nothing has reached the client yet).
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(slots=True)
class ChatResult:
    status: int
    content_type: str
    headers: dict[str, str]
    body: bytes | None = None
    stream: AsyncIterator[bytes] | None = None


def _outcome(status: int) -> str:
    return OK if status < 400 else CLIENT_ERROR if status < 500 else UPSTREAM_ERROR


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f}"


class ChatService:
    def __init__(
        self,
        *,
        catalog: Catalog,
        rules: Callable[[], RulesFile],
        classifier: Classifier,
        availability: AvailabilityMonitor,
        upstream: Upstream,
        litellm_base_url: str,
        litellm_key: str | None,
        breaker: CircuitBreaker,
        budget: BudgetTracker,
        load: LoadMonitor | None = None,
        metrics: Metrics | None = None,
        strict_fields: bool = False,
        turns: TurnPins | None = None,
    ) -> None:
        self._catalog = catalog
        self._availability = availability
        self.upstream = upstream
        self._litellm_v1 = litellm_base_url.rstrip("/") + "/v1"
        self._litellm_key = litellm_key
        self.breaker = breaker
        self.budget = budget
        self.metrics = metrics if metrics is not None else Metrics(CollectorRegistry())  # a sink nobody reads
        self.turns = turns if turns is not None else TurnPins()
        self.router = RequestRouter(
            catalog=catalog,
            rules=rules,
            classifier=classifier,
            availability=availability,
            breaker=breaker,
            budget=budget,
            load=load,
            metrics=self.metrics,
            strict_fields=strict_fields,
            turns=self.turns,
        )
        self.settlement = Settlement(catalog, budget, self.metrics, self._count)

    def targets(self, model: str, wire: WireFormat = OPENAI) -> tuple[Target, ...]:
        """Where to send a model's request, in order: its backend directly when the config
        says `router_direct` (chat-completions only), then (or only) LiteLLM."""
        via_litellm = Target(self._litellm_v1, self._litellm_key, model)
        m = self._catalog.get(model)
        if wire.allows_direct and m is not None and m.direct and m.api_base:
            return (Target(m.api_base, m.api_key, m.backend_model), via_litellm)
        return (via_litellm,)

    def catalog_model(self, name: str) -> CatalogModel | None:
        return self._catalog.get(name)

    async def route(
        self,
        body: dict[str, Any],
        headers: Mapping[str, str],
        wire: WireFormat = OPENAI,
        *,
        to_send: bool = True,
    ) -> RoutedRequest:
        return await self.router.route(body, headers, wire, to_send=to_send)

    async def complete(
        self, raw: bytes, headers: Mapping[str, str], claims: TaskClaims | None = None, wire: WireFormat = OPENAI
    ) -> ChatResult:
        """Serve one request; `claims` are those of the caller's task key (from the authenticator):
        usage is attributed to it, and its allowed models and spend ceiling are enforced."""
        trace = Trace(time.perf_counter(), task_key=claims.attribution if claims else None, claims=claims)
        try:
            result = await self._complete(raw, headers, trace, wire)
        except NoModelAvailable:
            self._count(trace, REJECTED)
            raise
        except RouterError as exc:
            self._count(trace, CLIENT_ERROR if exc.status_code < 500 else UPSTREAM_ERROR)
            raise
        except asyncio.CancelledError:
            self._count(trace, CANCELLED)
            raise
        if result.stream is None:  # a stream is counted when it ends
            self._count(trace, _outcome(result.status))
        return result

    def _count(self, trace: Trace, outcome: str) -> None:
        d = trace.decision
        self.metrics.request(
            d.task_type.value if d else "unknown",
            trace.model or (d.model if d and d.model else "none"),
            d.rule if d else "none",
            outcome,
            time.perf_counter() - trace.started,
        )

    async def _complete(self, raw: bytes, headers: Mapping[str, str], trace: Trace, wire: WireFormat) -> ChatResult:
        started = trace.started
        routed = await self.route(wire.parse(raw), headers, wire)
        body, decision = routed.body, routed.decision
        trace.decision = decision
        trace.caller = routed.caller
        if decision.model is None:
            why = "; ".join(f"{m}: {w}" for m, w in decision.skipped)
            if decision.skipped and all(w.startswith(WINDOW_TOO_SMALL) for _, w in decision.skipped):
                # Waiting will not help: say so the way clients recognise (Claude Code compacts).
                raise InvalidRequest(
                    f"prompt is too long: ~{routed.prompt_tokens} tokens is more than any candidate model's"
                    f" context window ({why}).",
                    param="messages",
                    code="context_length_exceeded",
                )
            raise NoModelAvailable(f"No model can serve task {decision.task_type.value!r} now ({why}).")
        stream = body.get("stream") is True
        forward = wire.forward_headers(headers)

        candidates = (decision.model, *decision.fallbacks)
        claims = trace.claims
        if claims is not None and claims.models is not None:
            candidates = tuple(m for m in candidates if claims.allows_model(m))
            if not candidates:
                raise Forbidden(
                    f"This task key (task {claims.task!r}) may use only: {', '.join(claims.models) or 'no model'}; "
                    f"the request would be served by {', '.join((decision.model, *decision.fallbacks))}.",
                    code="model_not_allowed",
                )
        upstream_s = 0.0  # time spent waiting on upstreams; the rest is the router's own overhead
        tried: list[str] = []
        ceiling_reasons: list[str] = []
        last_error: RouterError | None = None
        for index, model in enumerate(candidates):
            last = index == len(candidates) - 1
            why_not = self.breaker.blocked(model)
            catalog_model = self._catalog.get(model)
            reservation: Reservation | str | None = None
            if why_not is None and catalog_model is not None:
                estimate = self.budget.estimate(catalog_model, routed.prompt_tokens, routed.max_output_tokens)
                reservation = await self.budget.reserve(
                    model,
                    estimate,
                    task=claims.task if claims is not None else None,
                    ceiling=claims.max_cost_usd if claims is not None else None,
                )
                if isinstance(reservation, str):
                    why_not = reservation
                    if isinstance(reservation, TaskCeilingReached):
                        ceiling_reasons.append(reservation)
            if why_not is not None:
                skipped = SpendStoreUnreachable if isinstance(why_not, SpendStoreUnavailable) else UpstreamUnavailable
                last_error = skipped(f"{model} skipped: {why_not}")
                self._fallback(candidates, index, "budget_capped" if isinstance(reservation, str) else "circuit_open")
                continue
            assert not isinstance(reservation, str)
            tried.append(model)
            self.breaker.acquire(model)
            try:
                sent = time.perf_counter()
                try:
                    resp, strip_usage = await self._send(body, model, wire, forward)
                except UpstreamError as exc:
                    upstream_s += time.perf_counter() - sent
                    self.settlement.release(reservation)
                    self.breaker.failure(model, exc.message)
                    log.warning("upstream_failed", model=model, error=exc.code)
                    last_error = exc
                    self._fallback(candidates, index, exc.code or "upstream_error")
                    continue
                self.metrics.upstream_ttfb(model, time.perf_counter() - sent)
                if resp.status in RETRYABLE_STATUSES:
                    retry_after = parse_retry_after(resp.passthrough_headers.get("retry-after"))
                    self.breaker.failure(
                        model, f"HTTP {resp.status}", retry_after_s=retry_after if resp.status == 429 else None
                    )
                    if not last:
                        await resp.read()  # drained, not quoted: upstream text may name addresses
                        upstream_s += time.perf_counter() - sent
                        self.settlement.release(reservation)
                        log.warning("upstream_status", model=model, status=resp.status)
                        last_error = UpstreamUnavailable(f"{model} answered {resp.status}.")
                        self._fallback(candidates, index, f"status_{resp.status}")
                        continue
                else:
                    self.breaker.success(model)
                out_headers = {
                    **resp.passthrough_headers,
                    "x-router-task-type": decision.task_type.value,
                    "x-router-model": model,
                    "x-router-rule": decision.rule,
                    "x-router-tried": ",".join(tried),
                    "x-router-session": routed.caller.session_id,
                    "x-router-pinned": "true" if decision.pinned else "false",
                }
                if routed.dropped_fields:
                    out_headers["x-router-dropped-fields"] = ",".join(routed.dropped_fields)
                trace.model = model
                if resp.status == 200:
                    turn = self.turns.answered(routed.caller.pin_key, decision, model, tool_loop=routed.tool_loop)
                    if turn is not None:
                        self.metrics.turn(turn)
                if stream and resp.status == 200:
                    upstream_s += time.perf_counter() - sent
                    out_headers["x-router-overhead-ms"] = self._overhead(started, upstream_s)
                    relay = self.settlement.relay(
                        resp, model, reservation, routed.prompt_tokens, strip_usage, trace, wire
                    )
                    return ChatResult(
                        200,
                        resp.content_type,
                        out_headers,
                        stream=Relay(relay, self.settlement.closer(resp, reservation)),
                    )
                data = await resp.read()
                upstream_s += time.perf_counter() - sent
                content_type = resp.content_type
                if resp.status >= 400:
                    data, content_type = wire.upstream_error_body(resp.status, data), "application/json"
                if resp.status == 200:
                    await self.settlement.account_json(
                        model,
                        reservation,
                        data,
                        resp.passthrough_headers,
                        routed.prompt_tokens,
                        routed.max_output_tokens,
                        trace,
                        wire,
                    )
                else:
                    self.settlement.release(reservation)
                out_headers["x-router-overhead-ms"] = self._overhead(started, upstream_s)
                return ChatResult(resp.status, content_type, out_headers, body=data)
            except BaseException:
                # Cancelled (the client left mid-request) or anything unforeseen: nothing may stay
                # reserved against the budgets, and a half-open circuit's trial ends untested.
                self.settlement.release(reservation)
                self.breaker.abandon(model)
                raise
        if not tried and ceiling_reasons and len(ceiling_reasons) == len(candidates):
            raise Forbidden(f"The task's spend ceiling is reached: {ceiling_reasons[0]}.", code="task_budget_exhausted")
        if last_error is None:  # every candidate was skipped before any was tried
            last_error = NoModelAvailable("No candidate model could be tried.")
        last_error.message = f"{last_error.message} (tried: {', '.join(tried) or 'none'})"
        raise last_error

    async def _send(
        self, body: Mapping[str, Any], model: str, wire: WireFormat, headers: Mapping[str, str]
    ) -> tuple[UpstreamResponse, bool]:
        """Send to the model's first target; on a failure before any response, the next
        (a direct backend that is unreachable is retried through LiteLLM). Also says whether
        the stream's usage chunk is the router's own (see `WireFormat.prepare`)."""
        targets = self.targets(model, wire)
        catalog_model = self._catalog.get(model)
        for i, target in enumerate(targets):
            data, strip_usage = wire.prepare(body, catalog_model, target.model)
            try:
                return await self.upstream.post(target, wire.upstream_path, data, headers), strip_usage
            except UpstreamError:
                if i == len(targets) - 1:
                    raise
                log.info("direct_path_failed", model=model)
        raise AssertionError("unreachable: targets is never empty")

    def _fallback(self, candidates: tuple[str, ...], index: int, reason: str) -> None:
        if index + 1 < len(candidates):
            self.metrics.fallback(candidates[index], candidates[index + 1], reason)

    def _overhead(self, started: float, upstream_s: float) -> str:
        overhead = time.perf_counter() - started - upstream_s
        self.metrics.overhead.observe(overhead)
        return _ms(overhead)

    async def models(self) -> dict[str, Any]:
        snapshot = await self._availability.current()
        names = list(snapshot.litellm_models) or self._catalog.names()
        now = int(time.time())
        # Each model's context window where known (the smaller of the config's and the backend's),
        # so a client can size what it sends (the coordinator cuts a reviewer's diff to it).
        windows = merge_windows(self._catalog.windows(), snapshot.models)
        data = [
            {"id": n, "object": "model", "created": now, "owned_by": "litellm"}
            | ({"context_window": windows[n]} if n in windows else {})
            for n in names
        ]
        data += [{"id": n, "object": "model", "created": now, "owned_by": "router"} for n in virtual_model_names()]
        return {"object": "list", "data": data}

    async def drain(self) -> None:
        """Wait for the settlements of abandoned streams (called at shutdown, before the ledger closes)."""
        await self.settlement.drain()
