"""Reading a local backend's queue from its own Prometheus endpoint.

Parsed with prometheus_client's text parser, never with regexes. Both formats in use:
- vLLM: `vllm:num_requests_running`, `vllm:num_requests_waiting`, and KV-cache use as
  `vllm:kv_cache_usage_perc` (V1; a 0..1 ratio despite the name) or `vllm:gpu_cache_usage_perc`
  (V0). V1 labels each series by `engine`: series are summed (queues) or maxed (cache use).
- llama.cpp `llama-server --metrics`: `llamacpp:requests_processing` and
  `llamacpp:requests_deferred` (its queue); current builds export no KV-cache ratio.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families


@dataclass(frozen=True, slots=True)
class BackendStats:
    kind: str  # "vllm" or "llama.cpp"
    running: float
    queued: float
    kv_cache_ratio: float | None = None


class MetricsFormatError(ValueError):
    pass


def _samples(text: str) -> dict[str, list[float]]:
    values: dict[str, list[float]] = {}
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if not math.isnan(sample.value):  # llama.cpp prints -nan before its first request
                    values.setdefault(sample.name, []).append(sample.value)
    except ValueError as exc:
        raise MetricsFormatError(f"not a Prometheus exposition: {exc}") from exc
    return values


def parse_backend_metrics(text: str) -> BackendStats:
    s = _samples(text)
    if "vllm:num_requests_running" in s or "vllm:num_requests_waiting" in s:
        kv = s.get("vllm:kv_cache_usage_perc") or s.get("vllm:gpu_cache_usage_perc")
        return BackendStats(
            "vllm",
            running=sum(s.get("vllm:num_requests_running", [0.0])),
            queued=sum(s.get("vllm:num_requests_waiting", [0.0])),
            kv_cache_ratio=max(kv) if kv else None,
        )
    if "llamacpp:requests_processing" in s:
        return BackendStats(
            "llama.cpp",
            running=sum(s["llamacpp:requests_processing"]),
            queued=sum(s.get("llamacpp:requests_deferred", [0.0])),
            kv_cache_ratio=max(s["llamacpp:kv_cache_usage_ratio"]) if "llamacpp:kv_cache_usage_ratio" in s else None,
        )
    raise MetricsFormatError("neither vLLM nor llama.cpp metrics (no vllm:num_requests_* or llamacpp:requests_*)")
