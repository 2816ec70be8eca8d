"""The load snapshot: GPU, host and backend-queue readings, sampled in the background.

Nothing here runs on the request path: `LoadMonitor` samples about once a second and the
request path only reads `snapshot()`, which drops readings older than `stale_after_s` and
says why a reading is missing (the policy then evaluates the rule as if the signal were absent).

The GPU is read through the `GpuSampler` interface: `NvmlGpuSampler` (the `pynvml` module of
`nvidia-ml-py`) on a real machine; tests inject their own. No GPU or no driver is a normal
state reported as a note, not an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import orjson
import psutil
import structlog

from src.router.core.catalog import Catalog
from src.router.core.errors import UpstreamError
from src.router.core.policy import LoadSnapshot
from src.router.state.backend_metrics import BackendStats, MetricsFormatError, parse_backend_metrics
from src.router.state.background import cancel, every

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class GpuStats:
    index: int
    utilization_ratio: float
    memory_used_bytes: int
    memory_total_bytes: int

    @property
    def memory_ratio(self) -> float:
        return self.memory_used_bytes / self.memory_total_bytes if self.memory_total_bytes else 0.0


class GpuSampler(Protocol):
    def sample(self) -> list[GpuStats]:
        """Current readings for every GPU; raise `GpuUnavailable` when there is no GPU/driver."""


class GpuUnavailable(Exception):
    pass


class NvmlGpuSampler:
    """NVIDIA GPUs through NVML. Initialised on first use; blocking calls (run it in a thread)."""

    def __init__(self) -> None:
        self._nvml: Any = None
        self._handles: list[Any] = []
        self._error: str | None = None

    def _init(self) -> None:
        try:
            import pynvml

            pynvml.nvmlInit()
            self._handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
            self._nvml = pynvml
        except ImportError:
            self._error = "nvidia-ml-py is not installed"
        except Exception as exc:  # pynvml raises NVMLError subclasses for "no driver", "no GPU", ...
            self._error = f"NVML unavailable: {exc}"

    def sample(self) -> list[GpuStats]:
        if self._nvml is None and self._error is None:
            self._init()
        if self._nvml is None:
            raise GpuUnavailable(self._error or "no GPU")
        if not self._handles:
            raise GpuUnavailable("NVML found no GPU")
        out = []
        for i, handle in enumerate(self._handles):
            util = self._nvml.nvmlDeviceGetUtilizationRates(handle)
            mem = self._nvml.nvmlDeviceGetMemoryInfo(handle)
            out.append(GpuStats(i, util.gpu / 100.0, int(mem.used), int(mem.total)))
        return out

    def close(self) -> None:
        if self._nvml is not None:
            with contextlib.suppress(Exception):
                self._nvml.nvmlShutdown()


class FileGpuSampler:
    """GPU readings another program keeps current in a JSON file (`GPU_SAMPLER=file:PATH`): a
    list of `{"index", "utilization_ratio", "memory_used_bytes", "memory_total_bytes"}`, for
    GPUs that NVML cannot see (another vendor's exporter writes it)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def sample(self) -> list[GpuStats]:
        try:
            rows = orjson.loads(self.path.read_bytes())
            return [
                GpuStats(
                    int(r["index"]),
                    float(r["utilization_ratio"]),
                    int(r["memory_used_bytes"]),
                    int(r["memory_total_bytes"]),
                )
                for r in rows
            ]
        except (OSError, orjson.JSONDecodeError, TypeError, KeyError, ValueError) as exc:
            raise GpuUnavailable(f"GPU readings file {self.path}: {type(exc).__name__}: {exc}") from exc


class HostSampler(Protocol):
    def sample(self) -> tuple[float, float]:
        """(cpu busy ratio, memory used ratio)."""


class PsutilHostSampler:
    def __init__(self) -> None:
        psutil.cpu_percent(interval=None)  # the first call only starts the measurement window

    def sample(self) -> tuple[float, float]:
        return psutil.cpu_percent(interval=None) / 100.0, psutil.virtual_memory().percent / 100.0


class TextFetcher(Protocol):
    async def get_text(self, url: str, timeout_s: float) -> tuple[int, str]: ...


@dataclass(frozen=True, slots=True)
class Backend:
    base: str  # scheme://host:port of the server, without /v1
    models: tuple[str, ...]


def local_backends(catalog: Catalog) -> list[Backend]:
    by_base: dict[str, list[str]] = {}
    for m in catalog.models:
        if m.is_local and m.api_base:
            parts = urlsplit(m.api_base)
            by_base.setdefault(f"{parts.scheme}://{parts.netloc}", []).append(m.name)
    return [Backend(base, tuple(models)) for base, models in by_base.items()]


@dataclass
class _Timed:
    value: Any
    at: float


@dataclass
class LoadState:
    gpus: _Timed | None = None  # list[GpuStats]
    gpu_note: str | None = None
    host: _Timed | None = None  # (cpu, mem)
    backends: dict[str, _Timed] = field(default_factory=dict)  # base -> BackendStats
    backend_notes: dict[str, str] = field(default_factory=dict)


class LoadMonitor:
    def __init__(
        self,
        catalog: Catalog,
        fetcher: TextFetcher,
        *,
        gpu: GpuSampler | None,
        host: HostSampler | None,
        interval_s: float = 1.0,
        stale_after_s: float = 5.0,
        timeout_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backends = local_backends(catalog)
        self._fetcher = fetcher
        self._gpu = gpu
        self._host = host
        self._interval = interval_s
        self.stale_after_s = stale_after_s
        self._timeout = timeout_s
        self._clock = clock
        self.state = LoadState()
        self._task: asyncio.Task[None] | None = None
        self._cached: tuple[float, LoadSnapshot] | None = None

    # -- sampling (background) ------------------------------------------------------------
    async def _sample_backend(self, backend: Backend) -> None:
        try:
            status, text = await self._fetcher.get_text(backend.base + "/metrics", self._timeout)
            if status != 200:
                raise MetricsFormatError(f"GET /metrics -> {status} (is the server started with --metrics?)")
            stats = parse_backend_metrics(text)
        except (UpstreamError, MetricsFormatError, ValueError) as exc:
            self.state.backend_notes[backend.base] = str(getattr(exc, "message", exc))
            return
        self.state.backends[backend.base] = _Timed(stats, self._clock())
        self.state.backend_notes.pop(backend.base, None)

    async def sample_once(self) -> None:
        if self._gpu is not None:
            try:
                gpus = await asyncio.to_thread(self._gpu.sample)
                self.state.gpus, self.state.gpu_note = _Timed(gpus, self._clock()), None
            except GpuUnavailable as exc:
                self.state.gpus, self.state.gpu_note = None, str(exc)
            except Exception as exc:  # a driver hiccup must not stop sampling
                self.state.gpu_note = f"GPU sampling failed: {exc}"
        if self._host is not None:
            self.state.host = _Timed(self._host.sample(), self._clock())
        await asyncio.gather(*(self._sample_backend(b) for b in self.backends))
        self._cached = None  # new readings: the next request sees them

    def start(self) -> None:
        self._task = asyncio.create_task(
            every(self._interval, self.sample_once, what="load_sampling"), name="load-monitor"
        )

    async def stop(self) -> None:
        await cancel(self._task)
        if isinstance(self._gpu, NvmlGpuSampler):
            self._gpu.close()

    # -- reading (request path) ------------------------------------------------------------
    def _fresh(self, reading: _Timed | None, now: float) -> bool:
        return reading is not None and now - reading.at <= self.stale_after_s

    def snapshot(self) -> LoadSnapshot:
        """The snapshot for the request path, rebuilt at most every 50 ms (readings change
        once a second; rebuilding it per request cost the hot path several microseconds)."""
        now = self._clock()
        if self._cached is not None and now - self._cached[0] < 0.05:
            return self._cached[1]
        snap = self._build(now)
        self._cached = (now, snap)
        return snap

    def _build(self, now: float) -> LoadSnapshot:
        st = self.state
        notes: list[str] = []
        gpu_util = gpu_mem = cpu = mem = None
        if self._fresh(st.gpus, now):
            assert st.gpus is not None
            gpus: list[GpuStats] = st.gpus.value
            if gpus:
                gpu_util = max(g.utilization_ratio for g in gpus)
                gpu_mem = max(g.memory_ratio for g in gpus)
        else:
            notes.append(f"gpu: {st.gpu_note or ('stale reading' if st.gpus else 'no reading yet')}")
        if self._fresh(st.host, now):
            assert st.host is not None
            cpu, mem = st.host.value
        else:
            notes.append("host: " + ("stale reading" if st.host else "no reading yet"))
        queue: dict[str, float] = {}
        running: dict[str, float] = {}
        kv: dict[str, float] = {}
        for b in self.backends:
            reading = st.backends.get(b.base)
            if not self._fresh(reading, now):
                why = st.backend_notes.get(b.base) or ("stale reading" if reading else "no reading yet")
                notes.append(f"backend {b.base} ({', '.join(b.models)}): {why}")
                continue
            assert reading is not None
            stats: BackendStats = reading.value
            for m in b.models:
                queue[m], running[m] = stats.queued, stats.running
                if stats.kv_cache_ratio is not None:
                    kv[m] = stats.kv_cache_ratio
        return LoadSnapshot(gpu_util, gpu_mem, cpu, mem, queue, running, kv, tuple(notes))

    def readings(self) -> tuple[list[GpuStats], dict[str, BackendStats]]:
        """The latest GPU readings (while fresh) and each backend's latest, for scrape-time gauges."""
        fresh_gpu = self.snapshot().gpu_utilization_ratio is not None
        gpus: list[GpuStats] = self.state.gpus.value if self.state.gpus is not None and fresh_gpu else []
        backends = {b.base: r.value for b in self.backends if (r := self.state.backends.get(b.base)) is not None}
        return gpus, backends

    def ages(self) -> dict[str, float | None]:
        """Age in seconds of each reading (for metrics and /v1/load)."""
        now = self._clock()
        out: dict[str, float | None] = {
            "gpu": now - self.state.gpus.at if self.state.gpus else None,
            "host": now - self.state.host.at if self.state.host else None,
        }
        for b in self.backends:
            r = self.state.backends.get(b.base)
            out[f"backend:{b.base}"] = now - r.at if r else None
        return out
