"""The load snapshot from live psutil, a vLLM stand-in speaking the recorded format, and an
injected GPU sampler (no GPU exists on this machine)."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from src.router.core.catalog import Catalog, parse_catalog
from src.router.core.policy import Classification, ModelState, RequestFeatures, decide
from src.router.core.rules import parse_rules
from src.router.core.tasks import TaskType
from src.router.state.load import GpuSampler, GpuStats, GpuUnavailable, LoadMonitor, NvmlGpuSampler, PsutilHostSampler
from src.router.upstream.client import AiohttpUpstream

VLLM_TEXT = (Path(__file__).resolve().parents[1] / "fixtures" / "vllm_metrics.txt").read_text()


class FakeGpu:
    """Stands in for NVML only because this machine has no GPU; returns what NVML would."""

    def __init__(self, util: float, used: int = 30 << 30, total: int = 80 << 30) -> None:
        self.util, self.used, self.total = util, used, total

    def sample(self) -> list[GpuStats]:
        return [GpuStats(0, self.util, self.used, self.total), GpuStats(1, 0.1, 1 << 30, self.total)]


class NoGpu:
    def sample(self) -> list[GpuStats]:
        raise GpuUnavailable("NVML unavailable: driver not loaded")


class VllmStandIn:
    def __init__(self) -> None:
        self.waiting = 0

    def app(self) -> web.Application:
        app = web.Application()

        async def metrics(_: web.Request) -> web.Response:
            text = VLLM_TEXT.replace(
                'vllm:num_requests_waiting{engine="0",model_name="Qwen/Qwen1.5-0.5B-Chat"} 0.0',
                f'vllm:num_requests_waiting{{engine="0",model_name="Qwen/Qwen1.5-0.5B-Chat"}} {self.waiting}.0',
            )
            return web.Response(text=text, content_type="text/plain")

        app.router.add_get("/metrics", metrics)
        return app


@pytest.fixture
async def vllm() -> AsyncIterator[tuple[VllmStandIn, str]]:
    standin = VllmStandIn()
    runner = web.AppRunner(standin.app(), shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield standin, f"http://127.0.0.1:{port}"
    await runner.cleanup()


def catalog_for(vllm_url: str, llama_url: str = "http://127.0.0.1:9") -> Catalog:
    return parse_catalog(
        {
            "model_list": [
                {
                    "model_name": "qwen-14b-vllm",
                    "litellm_params": {"model": "hosted_vllm/q", "api_base": vllm_url + "/v1"},
                },
                {"model_name": "local-small", "litellm_params": {"model": "openai/x", "api_base": llama_url + "/v1"}},
                {"model_name": "claude-sonnet", "litellm_params": {"model": "anthropic/c", "api_key": "os.environ/K"}},
            ]
        },
        source="test",
    )


RULES = parse_rules(
    {
        "default": {"model": "qwen-14b-vllm"},
        "rules": [
            {
                "task_type": "code_generation",
                "model": "claude-sonnet",
                "name": "offload",
                "when_any": [
                    {"signal": "gpu_utilization_ratio", "gt": 0.9},
                    {"signal": "backend_queue", "model": "qwen-14b-vllm", "gt": 8},
                ],
            },
            {"task_type": "code_generation", "model": "qwen-14b-vllm"},
        ],
    },
    source="test",
)
ALL_UP = {m: ModelState(True) for m in ("qwen-14b-vllm", "local-small", "claude-sonnet")}
CODEGEN = RequestFeatures(None, Classification(TaskType.CODE_GENERATION, 0.9, "heuristic"), 100)


async def monitor(
    vllm_url: str, gpu: GpuSampler | None, clock: list[float] | None = None
) -> tuple[LoadMonitor, aiohttp.ClientSession]:
    session = AiohttpUpstream.new_session()
    up = AiohttpUpstream(session, connect_timeout_s=1, read_timeout_s=1)
    mon = LoadMonitor(
        catalog_for(vllm_url),
        up,
        gpu=gpu,
        host=PsutilHostSampler(),
        interval_s=0.05,
        stale_after_s=5.0,
        clock=(lambda: clock[0]) if clock is not None else time.monotonic,
    )
    return mon, session


async def test_signals_from_psutil_vllm_metrics_and_the_gpu_drive_the_rules(vllm: tuple[VllmStandIn, str]) -> None:
    standin, url = vllm
    gpu = FakeGpu(util=0.3)
    mon, session = await monitor(url, gpu)
    try:
        await mon.sample_once()
        snap = mon.snapshot()
        assert snap.cpu_ratio is not None and 0.0 <= snap.cpu_ratio <= 1.0  # live psutil
        assert snap.memory_ratio is not None and 0.0 < snap.memory_ratio < 1.0
        assert snap.gpu_utilization_ratio == 0.3 and snap.gpu_memory_ratio == pytest.approx(30 / 80)
        assert snap.backend_queue["qwen-14b-vllm"] == 0.0
        assert decide(CODEGEN, RULES, ALL_UP, snap).model == "qwen-14b-vllm"

        standin.waiting = 9  # the vLLM queue builds up
        await mon.sample_once()
        d = decide(CODEGEN, RULES, ALL_UP, mon.snapshot())
        assert (d.model, d.rule) == ("claude-sonnet", "offload")

        standin.waiting, gpu.util = 0, 0.95  # queue drained, GPU saturated
        await mon.sample_once()
        assert decide(CODEGEN, RULES, ALL_UP, mon.snapshot()).model == "claude-sonnet"
        # The llama.cpp backend at :9 is down: noted, not an error.
        assert any("local-small" in n and "unreachable" in n for n in mon.snapshot().notes)
    finally:
        await session.close()


async def test_no_gpu_is_a_normal_state_and_the_rule_fails_open(vllm: tuple[VllmStandIn, str]) -> None:
    mon, session = await monitor(vllm[1], NoGpu())
    try:
        await mon.sample_once()
        snap = mon.snapshot()
        assert snap.gpu_utilization_ratio is None
        assert any(n.startswith("gpu: NVML unavailable") for n in snap.notes)
        d = decide(CODEGEN, RULES, ALL_UP, snap)
        assert d.model == "qwen-14b-vllm"
        absent = [c for c in d.signals["conditions"] if c.get("absent")]
        assert absent and absent[0]["condition"].startswith("gpu_utilization_ratio")
    finally:
        await session.close()


async def test_a_stale_reading_is_dropped_and_said_so(vllm: tuple[VllmStandIn, str]) -> None:
    clock = [1000.0]
    mon, session = await monitor(vllm[1], FakeGpu(util=0.99), clock)
    try:
        await mon.sample_once()
        assert mon.snapshot().gpu_utilization_ratio == 0.99
        clock[0] += 6.0  # the sampler stalled: readings are older than stale_after_s
        snap = mon.snapshot()
        assert snap.gpu_utilization_ratio is None and snap.cpu_ratio is None
        assert "gpu: stale reading" in snap.notes
        assert decide(CODEGEN, RULES, ALL_UP, snap).model == "qwen-14b-vllm"
    finally:
        await session.close()


# Whether this machine has an NVIDIA GPU, judged without NVML (the driver's device files).
HAS_NVIDIA_GPU = Path("/dev/nvidiactl").exists() and any(Path("/dev").glob("nvidia[0-9]*"))


@pytest.mark.skipif(HAS_NVIDIA_GPU, reason="this machine has an NVIDIA GPU")
def test_without_a_gpu_the_real_nvml_sampler_says_why() -> None:
    with pytest.raises(GpuUnavailable, match=r"NVML|nvidia-ml-py"):
        NvmlGpuSampler().sample()


@pytest.mark.skipif(not HAS_NVIDIA_GPU, reason="no NVIDIA GPU on this machine")
def test_on_a_gpu_machine_the_real_nvml_sampler_reads_every_gpu() -> None:
    sampler = NvmlGpuSampler()
    try:
        gpus = sampler.sample()
    finally:
        sampler.close()
    assert [g.index for g in gpus] == list(range(len(list(Path("/dev").glob("nvidia[0-9]*")))))
    assert all(0.0 <= g.utilization_ratio <= 1.0 and 0 < g.memory_used_bytes <= g.memory_total_bytes for g in gpus)


def test_a_gpu_readings_file_is_read_each_sample_and_a_missing_one_is_named(tmp_path: Path) -> None:
    from src.router.state.load import FileGpuSampler
    from tests.support.fake_gpu import H100_MEMORY_BYTES, write_h100_under_load

    sampler = FileGpuSampler(tmp_path / "gpus.json")
    with pytest.raises(GpuUnavailable, match=r"gpus\.json: FileNotFoundError"):
        sampler.sample()
    write_h100_under_load(tmp_path / "gpus.json")
    assert sampler.sample() == [GpuStats(0, 0.52, 61_203_283_968, H100_MEMORY_BYTES)]
    (tmp_path / "gpus.json").write_text('[{"index": 0}]')
    with pytest.raises(GpuUnavailable, match="KeyError"):
        sampler.sample()


def test_gpu_sampler_setting_names_the_allowed_values() -> None:
    from src.router.api.lifespan import gpu_from_settings
    from src.router.core.config_errors import ConfigError
    from src.router.settings import Settings
    from src.router.state.load import FileGpuSampler

    assert isinstance(gpu_from_settings(Settings(_env_file=None, gpu_sampler="file:/run/gpus.json")), FileGpuSampler)
    with pytest.raises(
        ConfigError, match=re.escape("'tests.support.fake_gpu:H100UnderLoad': use 'nvml' or 'file:PATH'")
    ):
        gpu_from_settings(Settings(_env_file=None, gpu_sampler="tests.support.fake_gpu:H100UnderLoad"))
