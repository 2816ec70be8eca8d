"""Backend queue readings parsed from the recorded real /metrics formats."""

from __future__ import annotations

from pathlib import Path

import pytest

from src.router.state.backend_metrics import MetricsFormatError, parse_backend_metrics

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def recorded(name: str) -> str:
    return (FIXTURES / name).read_text()


def test_vllm_v1_idle_capture_reads_zero_queue() -> None:
    stats = parse_backend_metrics(recorded("vllm_metrics.txt"))
    assert (stats.kind, stats.running, stats.queued, stats.kv_cache_ratio) == ("vllm", 0.0, 0.0, 0.0)


def test_vllm_v1_series_are_summed_across_engines_and_cache_use_maxed() -> None:
    text = recorded("vllm_metrics.txt")
    # Same format, under load, with a second engine: the recorded lines with other numbers.
    text = text.replace(
        'vllm:num_requests_waiting{engine="0",model_name="Qwen/Qwen1.5-0.5B-Chat"} 0.0',
        'vllm:num_requests_waiting{engine="0",model_name="Qwen/Qwen1.5-0.5B-Chat"} 7.0\n'
        'vllm:num_requests_waiting{engine="1",model_name="Qwen/Qwen1.5-0.5B-Chat"} 5.0',
    )
    text = text.replace(
        'vllm:kv_cache_usage_perc{engine="0",model_name="Qwen/Qwen1.5-0.5B-Chat"} 0.0',
        'vllm:kv_cache_usage_perc{engine="0",model_name="Qwen/Qwen1.5-0.5B-Chat"} 0.83',
    )
    stats = parse_backend_metrics(text)
    assert stats.queued == 12.0
    assert stats.kv_cache_ratio == pytest.approx(0.83)


def test_vllm_v0_capture_uses_gpu_cache_usage_perc() -> None:
    stats = parse_backend_metrics(recorded("vllm_metrics_v0_aibrix.txt"))
    assert stats.kind == "vllm"
    assert stats.kv_cache_ratio is not None


def test_llama_cpp_capture_reads_processing_and_deferred() -> None:
    text = recorded("llamacpp_metrics.txt").replace("llamacpp:requests_deferred 0", "llamacpp:requests_deferred 3")
    stats = parse_backend_metrics(text)
    assert (stats.kind, stats.running, stats.queued, stats.kv_cache_ratio) == ("llama.cpp", 0.0, 3.0, None)


def test_llama_cpp_nan_before_the_first_request_is_ignored() -> None:
    text = (
        "# TYPE llamacpp:requests_processing gauge\nllamacpp:requests_processing 0\n"
        "# TYPE llamacpp:prompt_tokens_seconds gauge\nllamacpp:prompt_tokens_seconds -nan\n"
    )
    assert parse_backend_metrics(text).running == 0.0


def test_something_that_is_not_a_backend_is_refused() -> None:
    with pytest.raises(MetricsFormatError):
        parse_backend_metrics("# TYPE up gauge\nup 1\n")
    with pytest.raises(MetricsFormatError):
        parse_backend_metrics("<html>not metrics</html>")
