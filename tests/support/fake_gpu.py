"""GPU readings for machines without a GPU (this one): what NVML reports for an H100 at work.

Written to a file that a router process reads through `GPU_SAMPLER=file:PATH`
(`load.FileGpuSampler`), it stands in for NVML only because no GPU or driver exists here; the
values follow NVML's units (utilisation in percent -> ratio, memory in bytes).
"""

from __future__ import annotations

import json
from pathlib import Path

H100_MEMORY_BYTES = 81_559_494_656  # nvmlDeviceGetMemoryInfo(...).total of an H100 80GB HBM3


def write_h100_under_load(path: Path) -> Path:
    reading = {
        "index": 0,
        "utilization_ratio": 0.52,
        "memory_used_bytes": 61_203_283_968,
        "memory_total_bytes": H100_MEMORY_BYTES,
    }
    path.write_text(json.dumps([reading]))
    return path
