"""`POST /v1/messages/count_tokens`: a real count, by the model the request would be routed to.

Claude Code decides when to compact a conversation from this count, so an answer of `200`
with `0` would silently turn compaction off: the count comes from LiteLLM's
`/v1/messages/count_tokens` for the chosen model (its tokenizer), and anything but a positive
count is an error. Counting costs nothing and changes no state: no reservation, no ledger row,
no session pin.
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson

from src.router.anthropic_api import ANTHROPIC, parse, upstream_error_body
from src.router.chat import ChatService
from src.router.errors import NoModelAvailable, UpstreamError, UpstreamUnavailable

COUNT_PATH = "/messages/count_tokens"


async def count_tokens(service: ChatService, raw: bytes, headers: Mapping[str, str]) -> tuple[int, bytes, str]:
    """(status, Anthropic-format body, the model that counted)."""
    body = parse(raw, counting=True)
    routed = await service.route(body, headers, ANTHROPIC, to_send=False)
    decision = routed.decision
    # A request too large for every model is still counted (that is how a client learns it
    # must compact): by any model that was passed over.
    candidates = (decision.model, *decision.fallbacks) if decision.model else tuple(m for m, _ in decision.skipped)
    if not candidates:
        raise NoModelAvailable("No model is configured to count tokens with.")
    last_error: UpstreamError | None = None
    for model in candidates:
        if service.breaker.blocked(model):
            continue
        target = service.targets(model, ANTHROPIC)[0]
        data, _ = ANTHROPIC.prepare(body, service.catalog_model(model), target.model)
        try:
            resp = await service.upstream.post(target, COUNT_PATH, data, ANTHROPIC.forward_headers(headers))
            answer = await resp.read()
        except UpstreamError as exc:
            last_error = exc
            continue
        if resp.status != 200:
            if resp.status in (429, 500, 502, 503, 504):
                last_error = UpstreamUnavailable(f"{model} answered {resp.status} to count_tokens")
                continue
            return resp.status, upstream_error_body(resp.status, answer), model
        try:
            counted = orjson.loads(answer).get("input_tokens")
        except (orjson.JSONDecodeError, AttributeError):
            counted = None
        if not isinstance(counted, int) or isinstance(counted, bool) or counted <= 0:
            last_error = UpstreamError(f"{model} could not count this request (answered {answer[:200]!r}).")
            continue
        return 200, orjson.dumps({"input_tokens": counted}), model
    raise last_error or NoModelAvailable("Every model that could count this request is unavailable.")
