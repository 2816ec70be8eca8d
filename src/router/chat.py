"""The request flow every API shares: parse → features → decide → admit → send/fail over →
relay → settle.

`ChatService` owns the flow; the HTTP layer hands it the raw body, the headers and the wire
format of its API (`wire.OPENAI` for chat-completions, `anthropic_api.ANTHROPIC` for
Messages) and renders what it returns. What differs between APIs — reading the body, the
request as one model takes it, usage, the error envelope — is the wire format's; decisions
come from `policy.decide`; model health from the availability monitor and the circuit
breaker; spend from the budget tracker; a session's turn from `sessions.TurnPins`.
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
from src.router.catalog import Catalog, CatalogModel
from src.router.classifier import Classifier
from src.router.errors import (
    InvalidRequest,
    ModelNotFound,
    NoModelAvailable,
    RouterError,
    SpendStoreUnreachable,
    UpstreamError,
    UpstreamUnavailable,
)
from src.router.features import Conversation, explicit_task, is_virtual
from src.router.ledger import SpendRow
from src.router.load import LoadMonitor
from src.router.metrics import CANCELLED, CLIENT_ERROR, OK, REJECTED, UPSTREAM_ERROR, Metrics
from src.router.policy import (
    WINDOW_TOO_SMALL,
    Classification,
    Decision,
    LoadSnapshot,
    ModelState,
    RequestFeatures,
    decide,
    merge_windows,
)
from src.router.request_fields import sanitize_fields
from src.router.rules import RulesFile
from src.router.sessions import Caller, TurnPins, caller_of
from src.router.spend import input_tokens, price_answer
from src.router.sse import Relay, StreamUsage
from src.router.task_keys import TaskClaims
from src.router.tasks import virtual_model_names
from src.router.upstream import Target, Upstream, UpstreamResponse
from src.router.wire import OPENAI, WireFormat

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
    body: Mapping[str, Any]  # as the client sent it (less dropped fields); each model's copy is the wire's
    decision: Decision
    prompt_tokens: int
    max_output_tokens: int | None
    caller: Caller
    tool_loop: bool  # the last message is a tool result: the turn goes on
    dropped_fields: tuple[str, ...] = ()


def classify_request(
    body: Mapping[str, Any], headers: Mapping[str, str], classifier: Classifier, conv: Conversation | None = None
) -> tuple[Classification, int]:
    conv = conv if conv is not None else OPENAI.conversation(body)
    hint = explicit_task(body, headers)
    if hint is not None:
        return Classification(hint[0], 1.0, hint[1]), conv.input_tokens
    return classifier.classify(conv), conv.input_tokens


@dataclass(slots=True)
class _Trace:
    """What one request's metrics need to know, filled in as the request goes."""

    started: float
    decision: Decision | None = None
    model: str | None = None  # the model that answered
    task_key: str | None = None
    claims: TaskClaims | None = None
    caller: Caller | None = None


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
        self._rules = rules
        self._classifier = classifier
        self._availability = availability
        self.upstream = upstream
        self._litellm_v1 = litellm_base_url.rstrip("/") + "/v1"
        self._litellm_key = litellm_key
        self.breaker = breaker
        self.budget = budget
        self._load = load
        self.metrics = metrics
        self._strict_fields = strict_fields
        self.turns = turns if turns is not None else TurnPins()
        self._windows = catalog.windows()
        self._pending: set[asyncio.Task[None]] = set()

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

    def _resolve_model(self, model: str, wire: WireFormat) -> str:
        """The model name the router routes by: the client's, or the virtual model an API's
        alias stands for (Claude Code's default `claude-*` names on /v1/messages)."""
        if is_virtual(model) or self._catalog.get(model) is not None:
            return model
        alias = wire.alias_of(model)
        if alias is not None:
            return alias
        names = ", ".join([*self._catalog.names(), "auto", "task/<type>"])
        raise ModelNotFound(f"The model {model!r} does not exist. Available models: {names}.", param="model")

    def _availability_now(self, models: Mapping[str, ModelState]) -> Mapping[str, ModelState]:
        """Probe results, with models whose circuit is open marked unavailable."""
        blocked = {m: why for m in models if (why := self.breaker.blocked(m))}
        if not blocked:
            return models
        return {m: ModelState(False, blocked[m]) if m in blocked else s for m, s in models.items()}

    async def route(
        self,
        body: dict[str, Any],
        headers: Mapping[str, str],
        wire: WireFormat = OPENAI,
        *,
        to_send: bool = True,
    ) -> RoutedRequest:
        """The decision for a parsed body, without calling any model (`to_send`: the request
        will be sent, so a model the client named must be able to take it)."""
        dropped = sanitize_fields(body, wire.fields, strict=self._strict_fields)
        model = self._resolve_model(body["model"], wire)
        t0 = time.perf_counter()
        conv = wire.conversation(body)
        classification, text_tokens = classify_request({**body, "model": model}, headers, self._classifier, conv)
        tokens = max(text_tokens, input_tokens(body))  # tool schemas, tool calls, images count too
        if self.metrics is not None:
            self.metrics.classifier.observe(time.perf_counter() - t0)
        caller = caller_of(headers, wire.session_seed(body))
        tool_loop = wire.in_tool_loop(body)
        concrete = None if is_virtual(model) else model
        turn = await self.turns.fetch(caller.pin_key) if tool_loop and concrete is None else None
        snapshot = await self._availability.current()
        # The budget snapshot steers the choice; `reserve` below (atomic in the spend store) holds the cap.
        max_out = wire.max_output(body)
        features = RequestFeatures(concrete, classification, tokens, turn)
        load = self._load.snapshot() if self._load is not None else LoadSnapshot()
        budget = self.budget.snapshot(tokens, max_out)
        availability = self._availability_now(snapshot.models)
        windows = merge_windows(self._windows, availability)
        decision = decide(features, self._rules(), availability, load, budget, windows)
        if model != body["model"]:
            decision.signals["model_alias"] = {body["model"]: model}
        window = windows.get(concrete) if concrete is not None else None
        if to_send and window is not None and tokens > window:
            raise InvalidRequest(
                f"prompt is too long: ~{tokens} tokens is more than {concrete}'s context window of {window}"
                " tokens; name a larger model, or 'auto' to let the router choose one that fits.",
                param="messages",
                code="context_length_exceeded",
            )
        return RoutedRequest(body, decision, tokens, max_out, caller, tool_loop, tuple(dropped))

    async def complete(
        self, raw: bytes, headers: Mapping[str, str], claims: TaskClaims | None = None, wire: WireFormat = OPENAI
    ) -> ChatResult:
        """Serve one request; `claims` are those of the caller's task key (from the authenticator):
        usage is attributed to it, and its allowed models and spend ceiling are enforced."""
        trace = _Trace(time.perf_counter(), task_key=claims.attribution if claims else None, claims=claims)
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

    async def _complete(self, raw: bytes, headers: Mapping[str, str], trace: _Trace, wire: WireFormat) -> ChatResult:
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
                    "x-router-session": routed.caller.session_id,
                    "x-router-pinned": "true" if decision.pinned else "false",
                }
                if routed.dropped_fields:
                    out_headers["x-router-dropped-fields"] = ",".join(routed.dropped_fields)
                trace.model = model
                if resp.status == 200:
                    turn = self.turns.answered(routed.caller.pin_key, decision, model, tool_loop=routed.tool_loop)
                    if turn is not None and self.metrics is not None:
                        self.metrics.turn(turn)
                if stream and resp.status == 200:
                    upstream_s += time.perf_counter() - sent
                    out_headers["x-router-overhead-ms"] = self._overhead(started, upstream_s)
                    relay = self._relay(resp, model, reservation, routed.prompt_tokens, strip_usage, trace, wire)
                    return ChatResult(
                        200, resp.content_type, out_headers, stream=Relay(relay, self._closer(resp, reservation))
                    )
                data = await resp.read()
                upstream_s += time.perf_counter() - sent
                content_type = resp.content_type
                if resp.status >= 400:
                    data, content_type = wire.upstream_error_body(resp.status, data), "application/json"
                if resp.status == 200:
                    await self._account_json(model, reservation, data, resp.passthrough_headers, routed, trace, wire)
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
        trace: _Trace,
        wire: WireFormat,
    ) -> SpendRow:
        """The spend of one answer, priced by the model that answered; `estimate` (prompt,
        completion tokens) stands in when the upstream reported no usable `usage`."""
        priced = price_answer(self._catalog, chosen, headers, response_model, wire.usage_of(usage), estimate)
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
            task_key=trace.task_key,
            session_id=caller.session_id if (caller := trace.caller) else None,
            agent_id=caller.agent_id if caller else None,
            parent_agent_id=caller.parent_agent_id if caller else None,
        )

    async def _account_json(
        self,
        model: str,
        reservation: Reservation | None,
        data: bytes,
        headers: Mapping[str, str],
        routed: RoutedRequest,
        trace: _Trace,
        wire: WireFormat,
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
        written = wire.output_tokens_of(parsed)
        if written is None:
            written = self.budget.output_ceiling(catalog_model, routed.max_output_tokens)
        row = self._row(
            model, headers, parsed.get("model"), usage, parsed.get("id"), (routed.prompt_tokens, written), trace, wire
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
        wire: WireFormat,
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
                model, resp.passthrough_headers, state.model, state.usage, state.response_id, estimate, trace, wire
            )

        async def settle_once() -> None:
            nonlocal settled
            if not settled and reservation is not None:
                settled = True
                await self._settle(reservation, row())

        try:
            try:
                async for out in wire.relay(resp.iter_chunks(), state, strip_usage=strip):
                    if state.saw_done:
                        await settle_once()
                    yield out
                await settle_once()  # the upstream ended without [DONE]: record before the stream closes
                outcome = OK
            except RouterError as exc:
                outcome = UPSTREAM_ERROR
                await settle_once()
                yield wire.error_event(exc)
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
