"""A real Prometheus for the stack: installed from Debian's `prometheus` package when missing,
and started on the repo's `config/prometheus.yml` (rendered with other ports for tests)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

import yaml

from src.stack.services import ServiceSpec


class PrometheusUnavailable(RuntimeError):
    pass


def ensure_prometheus() -> tuple[str, str]:
    """Paths of `prometheus` and `promtool`, installing the Debian package if needed (root)."""
    prom, tool = shutil.which("prometheus"), shutil.which("promtool")
    if prom and tool:
        return prom, tool
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        raise PrometheusUnavailable("prometheus is not installed; install it with: sudo apt-get install prometheus")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print("installing prometheus (Debian package)", flush=True)
    for argv in ([apt, "update", "-qq"], [apt, "install", "-y", "-qq", "--no-install-recommends", "prometheus"]):
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False, timeout=600)
        if proc.returncode != 0:
            raise PrometheusUnavailable(f"{' '.join(argv)} failed:\n{proc.stderr[-2000:]}")
    # The package's postinst may start a daemon on :9090 where an init system exists; ours is separate.
    prom, tool = shutil.which("prometheus"), shutil.which("promtool")
    if not (prom and tool):
        raise PrometheusUnavailable("the prometheus package installed no prometheus/promtool binary")
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
