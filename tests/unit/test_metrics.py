"""Metrics through an injected registry: counted per request, labels bounded, state at scrape."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from src.router.policy_router import create_app
from src.router.settings import Settings
from tests.support.openai_stub import StubUpstream
from tests.support.router_harness import in_process

SECRET_PROMPT = "my-very-private-prompt-text"


async def test_requests_tokens_cost_fallbacks_and_state_are_exported(
    settings: Settings, stub: tuple[StubUpstream, str]
) -> None:
    upstream, _ = stub
    settings.routing_rules.write_text(
        "rules:\n  - task_type: code_review\n    model: claude-sonnet\n    fallbacks: [local-small]\n"
        "budgets:\n  - {name: cloud, scope: provider, target: anthropic, period: daily, limit_usd: 1}\n"
    )
    registry = CollectorRegistry()
    app = create_app(settings, environ=lambda: {"ANTHROPIC_API_KEY": "k"}, registry=registry)
    review = {"model": "task/code_review", "max_tokens": 5, "messages": [{"role": "user", "content": SECRET_PROMPT}]}
    async with (
        in_process(app) as c,
    ):
        assert (await c.post("/v1/chat/completions", json=review)).status_code == 200
        upstream.fail_models = {"claude-sonnet"}
        assert (await c.post("/v1/chat/completions", json=review)).status_code == 200
        assert (
            await c.post("/v1/chat/completions", json={"model": "nope", "messages": [{"role": "user", "content": "x"}]})
        ).status_code == 404
        text = (await c.get("/metrics")).text

    def value(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    assert (
        value(
            "router_requests_total", task_type="code_review", model="claude-sonnet", rule="code_review#0", outcome="ok"
        )
        == 1
    )
    assert (
        value("router_requests_total", task_type="code_review", model="local-small", rule="code_review#0", outcome="ok")
        == 1
    )
    assert value("router_requests_total", task_type="unknown", model="none", rule="none", outcome="client_error") == 1
    assert value("router_fallbacks_total", from_model="claude-sonnet", to_model="local-small", reason="status_503") == 1
    assert value("router_tokens_total", model="claude-sonnet", direction="prompt") == 12
    assert value("router_cost_usd_total", model="claude-sonnet") == pytest.approx(12 * 0.000003 + 5 * 0.000015)
    assert value("router_overhead_seconds_count") == 2
    assert value("router_classifier_duration_seconds_count") == 2
    assert (value("router_upstream_ttfb_seconds_count", model="local-small") or 0) >= 1

    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert {
        "router_model_available",
        "router_circuit_breaker_state",
        "router_budget_remaining_usd",
        "router_host_cpu_ratio",
        "router_backend_queued_requests",
        "router_load_reading_age_seconds",
    } <= set(families)
    spent = [s.value for s in families["router_budget_spent_usd"].samples if s.labels == {"budget": "cloud"}]
    assert spent == [pytest.approx(12 * 0.000003 + 5 * 0.000015)]
    # No prompt text, and no unbounded label, ever reaches the exposition.
    assert SECRET_PROMPT not in text
