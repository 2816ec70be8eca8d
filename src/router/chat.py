"""The chat-completions path: parse, decide, forward, and fail over before the first byte.

`ChatService` owns the request flow; the HTTP layer only hands it the raw body and headers
and renders what it returns. All decisions come from `policy.decide`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import structlog

from src.router.availability import AvailabilityMonitor
from src.router.catalog import Catalog
from src.router.classifier import Classifier
from src.router.errors import (
    ModelNotFound,
    NoModelAvailable,
    RouterError,
    UpstreamError,
    UpstreamUnavailable,
    sse_error_event,
)
from src.router.features import conversation, explicit_task, is_virtual, parse_body
from src.router.policy import Classification, Decision, RequestFeatures, decide
from src.router.rules import RulesFile
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


def classify_request(
    body: Mapping[str, Any], headers: Mapping[str, str], classifier: Classifier
) -> tuple[Classification, int]:
    conv = conversation(body["messages"])
    hint = explicit_task(body, headers)
    if hint is not None:
        return Classification(hint[0], 1.0, hint[1]), conv.input_tokens
    return classifier.classify(conv), conv.input_tokens


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
    ) -> None:
        self._catalog = catalog
        self._rules = rules
        self._classifier = classifier
        self._availability = availability
        self._upstream = upstream
        self._litellm_v1 = litellm_base_url.rstrip("/") + "/v1"
        self._litellm_key = litellm_key

    def target(self, model: str) -> Target:
        return Target(self._litellm_v1, self._litellm_key, model)

    def _check_model(self, model: str) -> None:
        if is_virtual(model) or self._catalog.get(model) is not None:
            return
        names = ", ".join([*self._catalog.names(), "auto", "task/<type>"])
        raise ModelNotFound(f"The model {model!r} does not exist. Available models: {names}.", param="model")

    async def route(self, body: Mapping[str, Any], headers: Mapping[str, str]) -> Decision:
        """The decision for a parsed body, without calling any model."""
        model = body["model"]
        self._check_model(model)
        classification, tokens = classify_request(body, headers, self._classifier)
        snapshot = await self._availability.current()
        features = RequestFeatures(None if is_virtual(model) else model, classification, tokens)
        return decide(features, self._rules(), snapshot.models)

    async def complete(self, raw: bytes, headers: Mapping[str, str]) -> ChatResult:
        started = time.perf_counter()
        body = parse_body(raw)
        decision = await self.route(body, headers)
        if decision.model is None:
            why = "; ".join(f"{m}: {w}" for m, w in decision.skipped)
            raise NoModelAvailable(f"No model can serve task {decision.task_type.value!r} now ({why}).")
        stream = body.get("stream") is True
        candidates = (decision.model, *decision.fallbacks)
        upstream_s = 0.0  # time spent waiting on upstreams; the rest is the router's own overhead
        tried: list[str] = []
        last_error: RouterError | None = None
        for model in candidates:
            tried.append(model)
            body["model"] = model
            payload = orjson.dumps(body)
            sent = time.perf_counter()
            try:
                resp = await self._upstream.post_chat(self.target(model), payload)
            except UpstreamError as exc:
                upstream_s += time.perf_counter() - sent
                log.warning("upstream_failed", model=model, error=exc.code)
                last_error = exc
                continue
            if resp.status in RETRYABLE_STATUSES and len(tried) < len(candidates):
                detail = await resp.read()
                upstream_s += time.perf_counter() - sent
                log.warning("upstream_status", model=model, status=resp.status)
                last_error = UpstreamUnavailable(
                    f"{model} answered {resp.status}: {detail[:200].decode('utf-8', 'replace')}"
                )
                continue
            out_headers = {
                **resp.passthrough_headers,
                "x-router-task-type": decision.task_type.value,
                "x-router-model": model,
                "x-router-rule": decision.rule,
                "x-router-tried": ",".join(tried),
            }
            if stream and resp.status == 200:
                upstream_s += time.perf_counter() - sent
                out_headers["x-router-overhead-ms"] = _ms(time.perf_counter() - started - upstream_s)
                return ChatResult(200, resp.content_type, out_headers, stream=_relay(resp))
            data = await resp.read()
            upstream_s += time.perf_counter() - sent
            out_headers["x-router-overhead-ms"] = _ms(time.perf_counter() - started - upstream_s)
            return ChatResult(resp.status, resp.content_type, out_headers, body=data)
        assert last_error is not None
        last_error.message = f"{last_error.message} (tried: {', '.join(tried)})"
        raise last_error

    async def models(self) -> dict[str, Any]:
        snapshot = await self._availability.current()
        names = list(snapshot.litellm_models) or self._catalog.names()
        now = int(time.time())
        data = [{"id": n, "object": "model", "created": now, "owned_by": "litellm"} for n in names]
        data += [{"id": n, "object": "model", "created": now, "owned_by": "router"} for n in virtual_model_names()]
        return {"object": "list", "data": data}


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f}"


async def _relay(resp: UpstreamResponse) -> AsyncIterator[bytes]:
    """Pass every chunk on as it arrives; a failure mid-stream ends it with an error event."""
    try:
        async for chunk in resp.iter_chunks():
            yield chunk
    except RouterError as exc:
        yield sse_error_event(exc)
    finally:
        resp.close()
