"""Deciding for one request: parse its fields → features → `policy.decide`, without sending it.

`RequestRouter.route` is what both APIs (and `/v1/route`, and token counting) call; the
model's health (probes, an open circuit), load, budget and a session's turn arrive here as
plain snapshots and `policy.decide` — a pure function — judges them once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from src.router.core.catalog import Catalog
from src.router.core.classifier import Classifier
from src.router.core.errors import InvalidRequest, ModelNotFound
from src.router.core.features import Conversation, explicit_task, is_virtual
from src.router.core.policy import (
    Classification,
    Decision,
    LoadSnapshot,
    ModelState,
    RequestFeatures,
    decide,
    merge_windows,
    window_overflow,
)
from src.router.core.request_fields import sanitize_fields
from src.router.core.rules import RulesFile
from src.router.core.spend import input_tokens, tool_schema_tokens
from src.router.state.availability import AvailabilityMonitor
from src.router.state.breaker import CircuitBreaker
from src.router.state.budget import BudgetTracker
from src.router.state.load import LoadMonitor
from src.router.state.metrics import Metrics
from src.router.state.sessions import Caller, TurnPins, caller_of
from src.router.wire.formats import OPENAI, WireFormat


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


class RequestRouter:
    def __init__(
        self,
        *,
        catalog: Catalog,
        rules: Callable[[], RulesFile],
        classifier: Classifier,
        availability: AvailabilityMonitor,
        breaker: CircuitBreaker,
        budget: BudgetTracker,
        load: LoadMonitor | None,
        metrics: Metrics,
        strict_fields: bool,
        turns: TurnPins,
    ) -> None:
        self._catalog = catalog
        self._rules = rules
        self._classifier = classifier
        self._availability = availability
        self._breaker = breaker
        self._budget = budget
        self._load = load
        self._metrics = metrics
        self._strict_fields = strict_fields
        self._turns = turns
        self._windows = catalog.windows()

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
        blocked = {m: why for m in models if (why := self._breaker.blocked(m))}
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
        self._metrics.classifier.observe(time.perf_counter() - t0)
        caller = caller_of(headers, wire.session_seed(body))
        tool_loop = wire.in_tool_loop(body)
        concrete = None if is_virtual(model) else model
        turn = await self._turns.fetch(caller.pin_key) if tool_loop and concrete is None else None
        snapshot = await self._availability.current()
        # The budget snapshot steers the choice; `reserve` (atomic in the spend store) holds the cap.
        max_out = wire.max_output(body)
        features = RequestFeatures(concrete, classification, tokens, turn, tool_schema_tokens(body))
        load = self._load.snapshot() if self._load is not None else LoadSnapshot()
        budget = self._budget.snapshot(tokens, max_out)
        availability = self._availability_now(snapshot.models)
        windows = merge_windows(self._windows, availability)
        decision = decide(features, self._rules(), availability, load, budget, windows)
        if model != body["model"]:
            decision.signals["model_alias"] = {body["model"]: model}
        over = window_overflow(concrete, features, availability, windows) if concrete is not None else None
        if to_send and over is not None:
            prompt, window = over
            raise InvalidRequest(
                f"prompt is too long: ~{prompt} tokens is more than {concrete}'s context window of {window}"
                " tokens; name a larger model, or 'auto' to let the router choose one that fits.",
                param="messages",
                code="context_length_exceeded",
            )
        return RoutedRequest(body, decision, tokens, max_out, caller, tool_loop, tuple(dropped))
