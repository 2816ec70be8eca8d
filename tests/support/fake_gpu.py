"""A GPU sampler for machines without a GPU (this one): what NVML reports for an H100 at work.

Loaded by a router process through `GPU_SAMPLER=tests.support.fake_gpu:H100UnderLoad`
settings, it stands in for NVML only because no GPU or driver exists here; the values follow
NVML's units (utilisation in percent -> ratio, memory in bytes).
"""

from __future__ import annotations

import itertools

from src.router.load import GpuStats

H100_MEMORY_BYTES = 81_559_494_656  # nvmlDeviceGetMemoryInfo(...).total of an H100 80GB HBM3


class H100UnderLoad:
    def __init__(self) -> None:
        self._util = itertools.cycle([37, 52, 88, 94, 61])

    def sample(self) -> list[GpuStats]:
        return [GpuStats(0, next(self._util) / 100.0, 61_203_283_968, H100_MEMORY_BYTES)]
