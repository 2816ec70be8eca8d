"""A real Prometheus for the stack: installed from Debian's `prometheus` package when missing,
and started on the repo's `config/prometheus.yml` (rendered with other ports for tests)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import yaml

from src.stack.debian import ensure_binaries
from src.stack.services import ServiceSpec


def ensure_prometheus() -> tuple[str, str]:
    """Paths of `prometheus` and `promtool`, installing Debian's package if needed (root)."""
    prom, tool = ensure_binaries("prometheus", "prometheus", "promtool")
    return prom, tool


def render_config(source: Path, targets: Mapping[str, list[str]], *, rule_file: Path, interval: str = "1s") -> str:
    """The repo's scrape config with each job's targets replaced, a short interval, and an
    absolute path to the alert rules (tests scrape a stack started on free ports)."""
    data = yaml.safe_load(source.read_text())
    data["global"] = {"scrape_interval": interval, "evaluation_interval": interval}
    data["rule_files"] = [str(rule_file)]
    for job in data["scrape_configs"]:
        if job["job_name"] in targets:
            labels = [sc.get("labels", {}) for sc in job["static_configs"]]
            job["static_configs"] = [
                {"targets": [t], **({"labels": labels[i]} if i < len(labels) and labels[i] else {})}
                for i, t in enumerate(targets[job["job_name"]])
            ]
    return yaml.safe_dump(data, sort_keys=False)


def prometheus_spec(binary: str, config: Path, data_dir: Path, port: int) -> ServiceSpec:
    argv = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={data_dir}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--web.enable-lifecycle",
        "--log.level=warn",
    ]
    return ServiceSpec(
        "prometheus",
        argv,
        f"http://127.0.0.1:{port}/-/ready",
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        ready_timeout_s=60,
    )
