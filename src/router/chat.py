"""The chat-completions path: parse, decide, forward, fail over before the first byte, account.

`ChatService` owns the request flow; the HTTP layer hands it the raw body and headers and
renders what it returns. Decisions come from `policy.decide`; model health from the
availability monitor and the circuit breaker; spend from the budget tracker.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import structlog

from src.router.auth import Forbidden
from src.router.availability import AvailabilityMonitor
from src.router.breaker import CircuitBreaker, parse_retry_after
from src.router.budget import BudgetTracker, Reservation, SpendStoreUnavailable, TaskCeilingReached
from src.router.catalog import Catalog
from src.router.classifier import Classifier
from src.router.errors import (
    ModelNotFound,
    NoModelAvailable,
    RouterError,
    SpendStoreUnreachable,
    UpstreamError,
    UpstreamUnavailable,
    sse_error_event,
    upstream_error_body,
)
from src.router.features import conversation, explicit_task, is_virtual, parse_body
from src.router.ledger import SpendRow
from src.router.load import LoadMonitor
from src.router.metrics import CANCELLED, CLIENT_ERROR, OK, REJECTED, UPSTREAM_ERROR, Metrics
from src.router.policy import Classification, Decision, LoadSnapshot, ModelState, RequestFeatures, decide
from src.router.request_fields import OPENAI_CHAT, FieldPolicy, sanitize_fields
from src.router.rules import RulesFile
from src.router.spend import input_tokens, output_tokens_of, price_answer
from src.router.sse import Relay, StreamUsage, relay_events
from src.router.task_keys import TaskClaims
from src.router.tasks import virtual_model_names
from src.router.upstream import Target, Upstream, UpstreamResponse

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


@dataclass(frozen=True, slots=True)
class RoutedRequest:
    body: dict[str, Any]
    decision: Decision
    prompt_tokens: int
    max_output_tokens: int | None
    dropped_fields: tuple[str, ...] = ()


def classify_request(
    body: Mapping[str, Any], headers: Mapping[str, str], classifier: Classifier
) -> tuple[Classification, int]:
    conv = conversation(body["messages"])
    hint = explicit_task(body, headers)
    if hint is not None:
        return Classification(hint[0], 1.0, hint[1]), conv.input_tokens
    return classifier.classify(conv), conv.input_tokens


def _max_output(body: Mapping[str, Any]) -> int | None:
    for key in ("max_completion_tokens", "max_tokens"):
        value = body.get(key)
        if isinstance(value, int) and value > 0:
            return value
    return None


@dataclass(slots=True)
class _Trace:
    """What one request's metrics need to know, filled in as the request goes."""

    started: float
    decision: Decision | None = None
    model: str | None = None  # the model that answered
    task_key: str | None = None
    claims: TaskClaims | None = None


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
        fields: FieldPolicy = OPENAI_CHAT,
    ) -> None:
        self._catalog = catalog
        self._rules = rules
        self._classifier = classifier
        self._availability = availability
        self._upstream = upstream
        self._litellm_v1 = litellm_base_url.rstrip("/") + "/v1"
        self._litellm_key = litellm_key
        self.breaker = breaker
        self.budget = budget
        self._load = load
        self.metrics = metrics
        self._strict_fields = strict_fields
        self._fields = fields
        self._pending: set[asyncio.Task[None]] = set()

    def targets(self, model: str) -> tuple[Target, ...]:
        """Where to send a model's request, in order: its backend directly when the config
        says `router_direct`, then (or only) LiteLLM."""
        via_litellm = Target(self._litellm_v1, self._litellm_key, model)
        m = self._catalog.get(model)
        if m is not None and m.direct and m.api_base:
            return (Target(m.api_base, m.api_key, m.backend_model), via_litellm)
        return (via_litellm,)

    def _check_model(self, model: str) -> None:
        if is_virtual(model) or self._catalog.get(model) is not None:
            return
        names = ", ".join([*self._catalog.names(), "auto", "task/<type>"])
        raise ModelNotFound(f"The model {model!r} does not exist. Available models: {names}.", param="model")

    def _availability_now(self, models: Mapping[str, ModelState]) -> Mapping[str, ModelState]:
        """Probe results, with models whose circuit is open marked unavailable."""
        blocked = {m: why for m in models if (why := self.breaker.blocked(m))}
        if not blocked:
            return models
        return {m: ModelState(False, blocked[m]) if m in blocked else s for m, s in models.items()}

    async def route(self, body: dict[str, Any], headers: Mapping[str, str]) -> RoutedRequest:
        """The decision for a parsed body, without calling any model."""
        model = body["model"]
        dropped = sanitize_fields(body, self._fields, strict=self._strict_fields)
        self._check_model(model)
        t0 = time.perf_counter()
        classification, text_tokens = classify_request(body, headers, self._classifier)
        tokens = max(text_tokens, input_tokens(body))  # tool schemas, tool calls, images count too
        if self.metrics is not None:
            self.metrics.classifier.observe(time.perf_counter() - t0)
        snapshot = await self._availability.current()
        # The budget snapshot steers the choice; `reserve` below (atomic in the spend store) holds the cap.
        max_out = _max_output(body)
        features = RequestFeatures(None if is_virtual(model) else model, classification, tokens)
        load = self._load.snapshot() if self._load is not None else LoadSnapshot()
        budget = self.budget.snapshot(tokens, max_out)
        decision = decide(features, self._rules(), self._availability_now(snapshot.models), load, budget)
        return RoutedRequest(body, decision, tokens, max_out, tuple(dropped))

    async def complete(self, raw: bytes, headers: Mapping[str, str], claims: TaskClaims | None = None) -> ChatResult:
        """Serve one request; `claims` are those of the caller's task key (from the authenticator):
        usage is attributed to it, and its allowed models and spend ceiling are enforced."""
        trace = _Trace(time.perf_counter(), task_key=claims.attribution if claims else None, claims=claims)
        try:
            result = await self._complete(raw, headers, trace)
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

    def _count(self, trace: _Trace, outcome: str) -> None:
        if self.metrics is None:
            return
        d = trace.decision
        self.metrics.request(
            d.task_type.value if d else "unknown",
            trace.model or (d.model if d and d.model else "none"),
            d.rule if d else "none",
            outcome,
            time.perf_counter() - trace.started,
        )

    async def _complete(self, raw: bytes, headers: Mapping[str, str], trace: _Trace) -> ChatResult:
        started = trace.started
        routed = await self.route(parse_body(raw), headers)
        body, decision = routed.body, routed.decision
        trace.decision = decision
        if decision.model is None:
            why = "; ".join(f"{m}: {w}" for m, w in decision.skipped)
            raise NoModelAvailable(f"No model can serve task {decision.task_type.value!r} now ({why}).")
        stream = body.get("stream") is True
        strip_usage = False
        if stream:
            given = body.get("stream_options")
            options: dict[str, Any] = given if isinstance(given, dict) else {}
            if not options.get("include_usage"):
                body["stream_options"] = {**options, "include_usage": True}
                strip_usage = True

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
                    resp = await self._send(body, model)
                except UpstreamError as exc:
                    upstream_s += time.perf_counter() - sent
                    self._release(reservation)
                    self.breaker.failure(model, exc.message)
                    log.warning("upstream_failed", model=model, error=exc.code)
                    last_error = exc
                    self._fallback(candidates, index, exc.code or "upstream_error")
                    continue
                if self.metrics is not None:
                    self.metrics.upstream_ttfb(model, time.perf_counter() - sent)
                if resp.status in RETRYABLE_STATUSES:
                    retry_after = parse_retry_after(resp.passthrough_headers.get("retry-after"))
                    self.breaker.failure(
                        model, f"HTTP {resp.status}", retry_after_s=retry_after if resp.status == 429 else None
                    )
                    if not last:
                        await resp.read()  # drained, not quoted: upstream text may name addresses
                        upstream_s += time.perf_counter() - sent
                        self._release(reservation)
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
                }
                if routed.dropped_fields:
                    out_headers["x-router-dropped-fields"] = ",".join(routed.dropped_fields)
                trace.model = model
                if stream and resp.status == 200:
                    upstream_s += time.perf_counter() - sent
                    out_headers["x-router-overhead-ms"] = self._overhead(started, upstream_s)
                    relay = self._relay(resp, model, reservation, routed.prompt_tokens, strip_usage, trace)
                    return ChatResult(
                        200, resp.content_type, out_headers, stream=Relay(relay, self._closer(resp, reservation))
                    )
                data = await resp.read()
                upstream_s += time.perf_counter() - sent
                content_type = resp.content_type
                if resp.status >= 400:
                    data, content_type = upstream_error_body(data), "application/json"
                if resp.status == 200:
                    await self._account_json(model, reservation, data, resp.passthrough_headers, routed, trace.task_key)
                else:
                    self._release(reservation)
                out_headers["x-router-overhead-ms"] = self._overhead(started, upstream_s)
                return ChatResult(resp.status, content_type, out_headers, body=data)
            except BaseException:
                # Cancelled (the client left mid-request) or anything unforeseen: nothing may stay
                # reserved against the budgets, and a half-open circuit's trial ends untested.
                self._release(reservation)
                self.breaker.abandon(model)
                raise
        if not tried and ceiling_reasons and len(ceiling_reasons) == len(candidates):
            raise Forbidden(f"The task's spend ceiling is reached: {ceiling_reasons[0]}.", code="task_budget_exhausted")
        if last_error is None:  # every candidate was skipped before any was tried
            last_error = NoModelAvailable("No candidate model could be tried.")
        last_error.message = f"{last_error.message} (tried: {', '.join(tried) or 'none'})"
        raise last_error

    async def _send(self, body: dict[str, Any], model: str) -> UpstreamResponse:
        """Send to the model's first target; on a failure before any response, the next
        (a direct backend that is unreachable is retried through LiteLLM)."""
        targets = self.targets(model)
        for i, target in enumerate(targets):
            body["model"] = target.model
            try:
                return await self._upstream.post_chat(target, orjson.dumps(body))
            except UpstreamError:
                if i == len(targets) - 1:
                    raise
                log.info("direct_path_failed", model=model)
        raise AssertionError("unreachable: targets is never empty")

    def _fallback(self, candidates: tuple[str, ...], index: int, reason: str) -> None:
        if self.metrics is not None and index + 1 < len(candidates):
            self.metrics.fallback(candidates[index], candidates[index + 1], reason)

    def _overhead(self, started: float, upstream_s: float) -> str:
        overhead = time.perf_counter() - started - upstream_s
        if self.metrics is not None:
            self.metrics.overhead.observe(overhead)
        return _ms(overhead)

    # -- accounting ----------------------------------------------------------------------------
    async def _settle(self, reservation: Reservation, row: SpendRow) -> None:
        if self.metrics is not None:
            self.metrics.usage(row.model, row.prompt_tokens, row.completion_tokens, row.cost_usd)
        await self.budget.settle(reservation, row)

    def _closer(self, resp: UpstreamResponse, reservation: Reservation | None) -> Callable[[], None]:
        def close() -> None:
            resp.close()
            self._release(reservation)

        return close

    def _release(self, reservation: Reservation | None) -> None:
        if reservation is not None:
            self.budget.release(reservation)

    def _row(
        self,
        chosen: str,
        headers: Mapping[str, str],
        response_model: object,
        usage: Mapping[str, Any] | None,
        response_id: Any,
        estimate: tuple[int, int],
        task: str | None,
    ) -> SpendRow:
        """The spend of one answer, priced by the model that answered; `estimate` (prompt,
        completion tokens) stands in when the upstream reported no usable `usage`."""
        priced = price_answer(self._catalog, chosen, headers, response_model, usage, estimate)
        if priced.model != chosen:
            # LiteLLM answered with another model (a fallback of its own): charged to the one used.
            log.error("answered_by_another_model", chosen=chosen, answered=priced.model)
            if self.metrics is not None:
                self.metrics.model_mismatch(chosen, priced.model)
        if priced.bad_usage is not None:
            log.error("bad_usage", model=priced.model, error=priced.bad_usage)
        return SpendRow(
            ts=time.time(),
            model=priced.model,
            provider=priced.provider,
            prompt_tokens=priced.prompt_tokens,
            completion_tokens=priced.completion_tokens,
            cost_usd=priced.cost_usd,
            response_id=response_id if isinstance(response_id, str) else None,
            task_key=task,
        )

    async def _account_json(
        self,
        model: str,
        reservation: Reservation | None,
        data: bytes,
        headers: Mapping[str, str],
        routed: RoutedRequest,
        task: str | None,
    ) -> None:
        if reservation is None:
            return
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError:
            parsed = {}
        if not isinstance(parsed, dict):
            parsed = {}
        usage = parsed.get("usage") if isinstance(parsed.get("usage"), dict) else None
        catalog_model = self._catalog.get(model)
        assert catalog_model is not None
        # Without usage: the text it holds, or, unreadable, the worst the request allowed.
        written = output_tokens_of(parsed)
        if written is None:
            written = self.budget.output_ceiling(catalog_model, routed.max_output_tokens)
        row = self._row(
            model, headers, parsed.get("model"), usage, parsed.get("id"), (routed.prompt_tokens, written), task
        )
        await self._settle(reservation, row)

    async def _relay(
        self,
        resp: UpstreamResponse,
        model: str,
        reservation: Reservation | None,
        prompt_tokens: int,
        strip: bool,
        trace: _Trace,
    ) -> AsyncIterator[bytes]:
        """Pass events on as they arrive, counting the generated text; record the spend before
        the last event goes out (`[DONE]`, an error event, or the end of a stream that had
        neither); a failure mid-stream ends the stream with an error event (no switching models
        after the first byte). A stream the client abandons is settled in the background, with
        the output counted so far; `drain()` waits for those settlements at shutdown."""
        state = StreamUsage()
        settled = False
        outcome = CANCELLED  # unless the stream ends one way or the other below

        def row() -> SpendRow:
            estimate = (prompt_tokens, state.output_tokens_estimate)
            return self._row(
                model, resp.passthrough_headers, state.model, state.usage, state.response_id, estimate, trace.task_key
            )

        async def settle_once() -> None:
            nonlocal settled
            if not settled and reservation is not None:
                settled = True
                await self._settle(reservation, row())

        try:
            try:
                async for out in relay_events(resp.iter_chunks(), state, strip_usage_chunk=strip):
                    if state.saw_done:
                        await settle_once()
                    yield out
                await settle_once()  # the upstream ended without [DONE]: record before the stream closes
                outcome = OK
            except RouterError as exc:
                outcome = UPSTREAM_ERROR
                await settle_once()
                yield sse_error_event(exc)
        finally:
            resp.close()
            self._count(trace, outcome)
            if not settled and reservation is not None:
                # Abandoned by the client: record what was generated without blocking the unwinding.
                task = asyncio.get_running_loop().create_task(self._settle(reservation, row()))
                self._pending.add(task)
                task.add_done_callback(self._pending.discard)

    async def drain(self) -> None:
        """Wait for the settlements of abandoned streams (called at shutdown, before the ledger closes)."""
        while self._pending:
            await asyncio.gather(*tuple(self._pending), return_exceptions=True)

    async def models(self) -> dict[str, Any]:
        snapshot = await self._availability.current()
        names = list(snapshot.litellm_models) or self._catalog.names()
        now = int(time.time())
        data = [{"id": n, "object": "model", "created": now, "owned_by": "litellm"} for n in names]
        data += [{"id": n, "object": "model", "created": now, "owned_by": "router"} for n in virtual_model_names()]
        return {"object": "list", "data": data}
