"""Writes router-dashboard.json beside this file: a Grafana dashboard to import as is.

The panels and their PromQL live here, in one list; the integration test evaluates every one
of them against a real Prometheus scraping the real stack.

    python config/grafana/build_dashboard.py
"""

from __future__ import annotations

import json
from pathlib import Path

# (title, unit, [(PromQL, legend)], width)
PANELS: list[tuple[str, str, list[tuple[str, str]], int]] = [
    (
        "Requests/s by task type",
        "reqps",
        [("sum by (task_type) (rate(router_requests_total[1m]))", "{{task_type}}")],
        8,
    ),
    ("Requests/s by model", "reqps", [("sum by (model) (rate(router_requests_total[1m]))", "{{model}}")], 8),
    ("Requests/s by outcome", "reqps", [("sum by (outcome) (rate(router_requests_total[1m]))", "{{outcome}}")], 8),
    ("Decisions by rule (5m)", "short", [("sum by (rule) (increase(router_requests_total[5m]))", "{{rule}}")], 8),
    (
        "Router overhead",
        "s",
        [
            ("histogram_quantile(0.5, sum by (le) (rate(router_overhead_seconds_bucket[1m])))", "p50"),
            ("histogram_quantile(0.99, sum by (le) (rate(router_overhead_seconds_bucket[1m])))", "p99"),
        ],
        8,
    ),
    (
        "Classifier latency p99",
        "s",
        [
            ("histogram_quantile(0.99, sum by (le) (rate(router_classifier_duration_seconds_bucket[1m])))", "p99"),
        ],
        8,
    ),
    (
        "Request latency p95 by model",
        "s",
        [
            (
                "histogram_quantile(0.95, sum by (le, model) (rate(router_request_duration_seconds_bucket[1m])))",
                "{{model}}",
            ),
        ],
        12,
    ),
    (
        "Upstream time to first byte p95",
        "s",
        [
            (
                "histogram_quantile(0.95, sum by (le, model) (rate(router_upstream_ttfb_seconds_bucket[1m])))",
                "{{model}}",
            ),
        ],
        12,
    ),
    (
        "Fallbacks (5m)",
        "short",
        [
            (
                "sum by (from_model, to_model, reason) (increase(router_fallbacks_total[5m]))",
                "{{from_model}} → {{to_model}} ({{reason}})",
            ),
        ],
        12,
    ),
    (
        "Circuit breakers",
        "short",
        [("max by (model, state) (router_circuit_breaker_state)", "{{model}} {{state}}")],
        12,
    ),
    ("Model available", "short", [("max by (model) (router_model_available)", "{{model}}")], 8),
    (
        "Tokens/s by model",
        "short",
        [("sum by (model, direction) (rate(router_tokens_total[1m]))", "{{model}} {{direction}}")],
        8,
    ),
    (
        "Spend rate (USD/h) by model",
        "currencyUSD",
        [("sum by (model) (rate(router_cost_usd_total[5m])) * 3600", "{{model}}")],
        8,
    ),
    (
        "Budgets",
        "currencyUSD",
        [
            ("max by (budget) (router_budget_spent_usd)", "{{budget}} spent"),
            ("max by (budget) (router_budget_remaining_usd)", "{{budget}} remaining"),
        ],
        12,
    ),
    (
        "Budget used",
        "percentunit",
        [
            ("max by (budget) (router_budget_spent_usd / router_budget_limit_usd)", "{{budget}}"),
        ],
        12,
    ),
    ("GPU utilisation", "percentunit", [("max by (gpu) (router_gpu_utilization_ratio)", "GPU {{gpu}}")], 8),
    (
        "GPU memory used",
        "percentunit",
        [
            ("max by (gpu) (router_gpu_memory_used_bytes / router_gpu_memory_total_bytes)", "GPU {{gpu}}"),
        ],
        8,
    ),
    (
        "Host CPU and memory",
        "percentunit",
        [
            ("max(router_host_cpu_ratio)", "CPU"),
            ("max(router_host_memory_ratio)", "memory"),
        ],
        8,
    ),
    (
        "Backend queues",
        "short",
        [
            ("max by (backend) (router_backend_queued_requests)", "{{backend}} queued"),
            ("max by (backend) (router_backend_running_requests)", "{{backend}} running"),
        ],
        12,
    ),
    (
        "Backend KV-cache use",
        "percentunit",
        [("max by (backend) (router_backend_kv_cache_usage_ratio)", "{{backend}}")],
        12,
    ),
    (
        "llama.cpp servers (own metrics)",
        "short",
        [
            ('max by (model) ({__name__="llamacpp:requests_processing"})', "{{model}} processing"),
            ('max by (model) ({__name__="llamacpp:requests_deferred"})', "{{model}} deferred"),
        ],
        12,
    ),
    (
        "LiteLLM proxy requests/s (own metrics)",
        "reqps",
        [
            ("sum by (requested_model) (rate(litellm_proxy_total_requests_metric_total[1m]))", "{{requested_model}}"),
        ],
        12,
    ),
    ("Age of load readings", "s", [("max by (source) (router_load_reading_age_seconds)", "{{source}}")], 12),
]


def panel(
    i: int, title: str, unit: str, targets: list[tuple[str, str]], width: int, x: int, y: int
) -> dict[str, object]:
    return {
        "id": i + 1,
        "type": "timeseries",
        "title": title,
        "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
        "gridPos": {"h": 8, "w": width, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi"}},
        "targets": [
            {
                "refId": chr(ord("A") + j),
                "expr": expr,
                "legendFormat": legend,
                "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
            }
            for j, (expr, legend) in enumerate(targets)
        ],
    }


def dashboard() -> dict[str, object]:
    panels, x, y = [], 0, 0
    for i, (title, unit, targets, width) in enumerate(PANELS):
        if x + width > 24:
            x, y = 0, y + 8
        panels.append(panel(i, title, unit, targets, width, x, y))
        x += width
    return {
        "__inputs": [
            {
                "name": "DS_PROMETHEUS",
                "label": "Prometheus",
                "type": "datasource",
                "pluginId": "prometheus",
                "pluginName": "Prometheus",
            }
        ],
        "__requires": [
            {"type": "grafana", "id": "grafana", "name": "Grafana", "version": "10.0.0"},
            {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"},
            {"type": "panel", "id": "timeseries", "name": "Time series", "version": ""},
        ],
        "title": "Multi-LLM policy router",
        "uid": "multi-llm-router",
        "tags": ["llm", "router", "litellm"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "10s",
        "time": {"from": "now-1h", "to": "now"},
        "panels": panels,
    }


if __name__ == "__main__":
    out = Path(__file__).with_name("router-dashboard.json")
    out.write_text(json.dumps(dashboard(), indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {out} ({len(PANELS)} panels)")
