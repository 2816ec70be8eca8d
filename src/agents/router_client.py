"""What the coordinator asks the router: a step's usage from its ledger, and whether the
Anthropic surface (`/v1/messages`, which Claude Code needs) is there."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from src.protocols.llm_protocol import Usage
from src.router.core import task_keys

UsageFetcher = Callable[[str], Usage]


def _headers(key: str) -> dict[str, str]:
    """A step key may read its own task's usage; without keys on the router any will do."""
    return {"Authorization": f"Bearer {key}"}


def ledger_name(key: str) -> str:
    """The name the router's ledger files a step key under (`<task>--<step>`; the format is
    `src/router/core/task_keys.py`'s)."""
    claims = task_keys.read(key)
    return claims.attribution if claims is not None else key


def usage_from(data: dict[str, object]) -> Usage:
    raw_models = data.get("models")
    models = raw_models if isinstance(raw_models, dict) else {}
    return Usage(
        prompt_tokens=int(str(data.get("prompt_tokens", 0))),
        completion_tokens=int(str(data.get("completion_tokens", 0))),
        cost_usd=float(str(data.get("cost_usd", 0.0))),
        requests=int(str(data.get("requests", 0))),
        models={str(m): int(v.get("requests", 0)) for m, v in models.items() if isinstance(v, dict)},
    )


def router_usage(router_url: str) -> UsageFetcher:
    """Usage under a step key so far (GET /v1/usage?task_key=...); zero when the router
    cannot say — a step is then judged as having made no model call, which is what is known."""

    def fetch(key: str) -> Usage:
        try:
            resp = httpx.get(
                f"{router_url.rstrip('/')}/v1/usage",
                params={"task_key": ledger_name(key)},
                headers=_headers(key),
                timeout=10,
            )
            data = resp.json() if resp.status_code == 200 else {}
        except (httpx.HTTPError, ValueError):
            data = {}
        return usage_from(data if isinstance(data, dict) else {})

    return fetch


def usage_since(before: Usage, after: Usage, *, duration_s: float) -> Usage:
    """What one step used: the ledger's totals for its key are cumulative (an earlier attempt, an
    earlier run of a task with the same id), so a step is the difference."""
    models = {m: n - before.models.get(m, 0) for m, n in after.models.items()}
    return Usage(
        prompt_tokens=max(0, after.prompt_tokens - before.prompt_tokens),
        completion_tokens=max(0, after.completion_tokens - before.completion_tokens),
        cost_usd=max(0.0, round(after.cost_usd - before.cost_usd, 10)),
        requests=max(0, after.requests - before.requests),
        models={m: n for m, n in models.items() if n > 0},
        duration_s=round(duration_s, 3),
    )


def messages_api(router_url: str, key: str) -> Callable[[], str | None]:
    """A probe: None when the router serves POST /v1/messages, else why not. An empty body is
    refused before any model is called (400/422); a router without the route answers 404/405."""

    def probe() -> str | None:
        try:
            resp = httpx.post(
                f"{router_url.rstrip('/')}/v1/messages",
                json={},
                headers={"Authorization": f"Bearer {key}", "anthropic-version": "2023-06-01"},
                timeout=10,
            )
        except httpx.HTTPError as exc:
            return f"the router is unreachable ({type(exc).__name__})"
        if resp.status_code in (404, 405):
            return f"the router has no /v1/messages (HTTP {resp.status_code})"
        if resp.status_code >= 500:
            return f"the router's /v1/messages answered {resp.status_code}"
        return None

    return probe


def review_window(router_url: str, key: str, model: str) -> int | None:
    """The largest context window among the models the router would use for `model` now (its
    choice and fallbacks, POST /v1/route; windows from GET /v1/models), or None when the router
    cannot say. A diff cut to it reaches a model: the router skips those too small for it."""
    base, headers = router_url.rstrip("/"), _headers(key)
    probe = {"model": model, "messages": [{"role": "user", "content": "Review this change."}]}
    try:
        decision = httpx.post(f"{base}/v1/route", json=probe, headers=headers, timeout=10)
        listing = httpx.get(f"{base}/v1/models", headers=headers, timeout=10)
        chosen, models = decision.json(), listing.json()
    except (httpx.HTTPError, ValueError):
        return None
    if decision.status_code != 200 or listing.status_code != 200:
        return None
    if not isinstance(chosen, dict) or not isinstance(models, dict) or not isinstance(models.get("data"), list):
        return None
    candidates = {chosen.get("model"), *(chosen.get("fallbacks") or ())}
    windows = [
        m["context_window"]
        for m in models["data"]
        if isinstance(m, dict) and m.get("id") in candidates and isinstance(m.get("context_window"), int)
    ]
    return max(windows) if windows else None
