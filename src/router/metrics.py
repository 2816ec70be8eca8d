"""Every Prometheus metric the router exports, owned by one object over an injected registry.

Counters and histograms are updated on the request path (microseconds each). Everything that
is a reading of current state — load, budgets, breakers, availability — is collected at scrape
time by `StateCollector`, so the request path never pays for it.

Label values are bounded: task types, model names from the LiteLLM config, rule names from
the rules file, and small fixed vocabularies (outcome, reason, direction). Never a prompt, a
user or any free text.

Several uvicorn workers: set PROMETHEUS_MULTIPROC_DIR and the counters and histograms of all
workers are merged at /metrics (prometheus_client's multiprocess mode); state gauges are those
of the worker that answers the scrape.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

OVERHEAD_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1)
CLASSIFIER_BUCKETS = (0.00001, 0.000025, 0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.005)
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)

# Outcomes of a request, the `outcome` label.
OK, CLIENT_ERROR, UPSTREAM_ERROR, REJECTED, CANCELLED = "ok", "client_error", "upstream_error", "rejected", "cancelled"


class Metrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.requests = Counter(
            "router_requests_total",
            "Chat requests by task type, chosen model, rule and outcome.",
            ["task_type", "model", "rule", "outcome"],
            registry=registry,
        )
        self.request_duration = Histogram(
            "router_request_duration_seconds",
            "Time from request to the end of the response (streams: to the last byte).",
            ["task_type", "model"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.overhead = Histogram(
            "router_overhead_seconds",
            "The router's own time: total minus the time spent waiting on upstreams.",
            buckets=OVERHEAD_BUCKETS,
            registry=registry,
        )
        self.classifier = Histogram(
            "router_classifier_duration_seconds",
            "Time to classify a request's task type.",
            buckets=CLASSIFIER_BUCKETS,
            registry=registry,
        )
        self.ttfb = Histogram(
            "router_upstream_ttfb_seconds",
            "Upstream time to first byte (response headers).",
            ["model"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.fallbacks = Counter(
            "router_fallbacks_total",
            "Moves from one candidate model to the next, by reason.",
            ["from_model", "to_model", "reason"],
            registry=registry,
        )
        self.tokens = Counter(
            "router_tokens_total",
            "Tokens by model and direction (prompt, completion).",
            ["model", "direction"],
            registry=registry,
        )
        self.cost = Counter("router_cost_usd_total", "Spend in US dollars by model.", ["model"], registry=registry)
        self.turns = Counter(
            "router_session_turns_total",
            "Routing per session turn: new_turn (decided on the instruction), pinned (a tool result kept"
            " the turn's model), switched (a tool result moved to another model: the pinned one failed or"
            " could not be used).",
            ["outcome"],
            registry=registry,
        )
        self.mismatches = Counter(
            "router_answer_model_mismatch_total",
            "Answers that came from another model than the router chose (charged to the one that answered).",
            ["chosen", "answered"],
            registry=registry,
        )

        # `.labels()` costs microseconds (validation, a lock, a dict keyed by a fresh tuple); the
        # label sets are bounded, so each child is looked up once and kept.
        self._children: dict[tuple[object, ...], Any] = {}

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def request(self, task_type: str, model: str, rule: str, outcome: str, seconds: float | None = None) -> None:
        self._child(self.requests, task_type, model, rule, outcome).inc()
        if seconds is not None:
            self._child(self.request_duration, task_type, model).observe(seconds)

    def upstream_ttfb(self, model: str, seconds: float) -> None:
        self._child(self.ttfb, model).observe(seconds)

    def fallback(self, from_model: str, to_model: str, reason: str) -> None:
        self._child(self.fallbacks, from_model, to_model, reason).inc()

    def turn(self, outcome: str) -> None:
        self._child(self.turns, outcome).inc()

    def model_mismatch(self, chosen: str, answered: str) -> None:
        self._child(self.mismatches, chosen, answered).inc()

    def usage(self, model: str, prompt_tokens: int, completion_tokens: int, cost_usd: float) -> None:
        self._child(self.tokens, model, "prompt").inc(prompt_tokens)
        self._child(self.tokens, model, "completion").inc(completion_tokens)
        self._child(self.cost, model).inc(cost_usd)  # also for free models: the series exists, at 0


class StateCollector(Collector):
    """Gauges read at scrape time from the router's live state."""

    def __init__(self, read: Callable[[], dict[str, Any]]) -> None:
        self._read = read

    def collect(self) -> Iterator[Metric]:
        s = self._read()
        if not s:
            return
        yield GaugeMetricFamily(
            "router_asyncio_tasks", "Tasks alive in the router's event loop (a leak shows here).", value=s["tasks"]
        )
        avail = GaugeMetricFamily("router_model_available", "1 if the model may be chosen now.", labels=["model"])
        breaker = GaugeMetricFamily(
            "router_circuit_breaker_state",
            "1 for the circuit's current state (closed, half_open, open).",
            labels=["model", "state"],
        )
        for model, available in s["available"].items():
            avail.add_metric([model], 1.0 if available else 0.0)
            for state in ("closed", "half_open", "open"):
                breaker.add_metric([model, state], 1.0 if s["breaker"].get(model, "closed") == state else 0.0)
        yield avail
        yield breaker

        spent = GaugeMetricFamily("router_budget_spent_usd", "Spend in the budget's current period.", labels=["budget"])
        remaining = GaugeMetricFamily(
            "router_budget_remaining_usd", "Cap minus spend and in-flight reservations.", labels=["budget"]
        )
        limit = GaugeMetricFamily("router_budget_limit_usd", "The budget's cap.", labels=["budget"])
        for b in s["budgets"]:
            spent.add_metric([b["name"]], b["spent_usd"])
            remaining.add_metric([b["name"]], b["remaining_usd"])
            limit.add_metric([b["name"]], b["limit_usd"])
        yield spent
        yield remaining
        yield limit

        load = s["load"]
        util = GaugeMetricFamily("router_gpu_utilization_ratio", "GPU busy, 0..1 (NVML).", labels=["gpu"])
        used = GaugeMetricFamily("router_gpu_memory_used_bytes", "GPU memory used (NVML).", labels=["gpu"])
        total = GaugeMetricFamily("router_gpu_memory_total_bytes", "GPU memory total (NVML).", labels=["gpu"])
        for g in load["gpus"]:
            util.add_metric([str(g.index)], g.utilization_ratio)
            used.add_metric([str(g.index)], g.memory_used_bytes)
            total.add_metric([str(g.index)], g.memory_total_bytes)
        yield util
        yield used
        yield total
        if load["cpu_ratio"] is not None:
            yield GaugeMetricFamily("router_host_cpu_ratio", "Host CPU busy, 0..1 (psutil).", value=load["cpu_ratio"])
            yield GaugeMetricFamily(
                "router_host_memory_ratio", "Host memory used, 0..1 (psutil).", value=load["memory_ratio"]
            )
        running = GaugeMetricFamily(
            "router_backend_running_requests", "Requests running at a local backend.", labels=["backend"]
        )
        queued = GaugeMetricFamily(
            "router_backend_queued_requests", "Requests waiting at a local backend.", labels=["backend"]
        )
        kv = GaugeMetricFamily(
            "router_backend_kv_cache_usage_ratio", "KV-cache use at a local backend, 0..1.", labels=["backend"]
        )
        for backend, stats in load["backends"].items():
            running.add_metric([backend], stats.running)
            queued.add_metric([backend], stats.queued)
            if stats.kv_cache_ratio is not None:
                kv.add_metric([backend], stats.kv_cache_ratio)
        yield running
        yield queued
        yield kv
        age = GaugeMetricFamily("router_load_reading_age_seconds", "Age of the latest load reading.", labels=["source"])
        for source, seconds in load["ages"].items():
            if seconds is not None:
                age.add_metric([source], seconds)
        yield age


def exposition(metrics: Metrics, state: StateCollector | None) -> bytes:
    """The /metrics body: this process's registry; in multiprocess mode, every worker's
    counters and histograms merged, plus this worker's live state gauges."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return generate_latest(metrics.registry)
    merged = CollectorRegistry()
    MultiProcessCollector(merged)  # type: ignore[no-untyped-call]  # prometheus_client leaves it unannotated
    if state is not None:
        merged.register(state)
    return generate_latest(merged)
