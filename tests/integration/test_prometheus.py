"""A real Prometheus scrapes the real stack under real traffic; every dashboard and alert query
is evaluated through its HTTP API: each parses, and each dashboard panel returns data."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from src.stack.prometheus import ensure_prometheus, prometheus_spec, render_config
from src.stack.services import RunningService, free_port, start, wait_healthy
from tests.integration.conftest import OVERLOADED, REPO, Stack

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DASHBOARD = REPO / "config" / "grafana" / "router-dashboard.json"
ALERTS = REPO / "config" / "prometheus_alerts.yml"
# First in the list (first match wins): maths goes to the overloaded vLLM, then falls back.
EXTRA_RULE = f"""rules:
  - task_type: math_reasoning
    name: math-on-vllm
    model: {OVERLOADED}
    fallbacks: [local-small]
"""
BUDGETS = """
budgets:
  - {name: monthly-total, scope: total, period: monthly, limit_usd: 5}
"""


def _panels() -> list[tuple[str, str, list[tuple[str, str]], int]]:
    spec = importlib.util.spec_from_file_location("build_dashboard", REPO / "config/grafana/build_dashboard.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.PANELS  # type: ignore[no-any-return]


def test_promtool_accepts_the_config_and_the_rules() -> None:
    _, promtool = ensure_prometheus()
    for args in (["check", "config", str(REPO / "config/prometheus.yml")], ["check", "rules", str(ALERTS)]):
        proc = subprocess.run([promtool, *args], capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_dashboard_file_is_what_its_builder_writes() -> None:
    from tests.integration.test_prometheus import _panels as panels

    exprs = [t["expr"] for p in json.loads(DASHBOARD.read_text())["panels"] for t in p["targets"]]
    assert exprs == [e for _, _, targets, _ in panels() for e, _ in targets]


@pytest.fixture
def prometheus(stack: Stack, tmp_path: Path) -> Iterator[str]:
    binary, _ = ensure_prometheus()
    port = free_port()
    llama_port = stack.llama_url.rsplit(":", 1)[1]
    config = tmp_path / "prometheus.yml"
    config.write_text(
        render_config(
            REPO / "config" / "prometheus.yml",
            {
                "router": [stack.router_url.removeprefix("http://")],
                "litellm": [stack.litellm_url.removeprefix("http://")],
                "llama-server": [f"127.0.0.1:{llama_port}", stack.down_url.removeprefix("http://")],
                "vllm": [stack.vllm.url.removeprefix("http://")],
            },
            rule_file=ALERTS,
        )
    )
    svc: RunningService = start(prometheus_spec(binary, config, tmp_path / "tsdb", port), tmp_path / "logs")
    try:
        wait_healthy(svc)
        yield f"http://127.0.0.1:{port}"
    finally:
        svc.stop()


def _traffic(stack: Stack, seconds: float) -> None:
    client = httpx.Client(base_url=stack.router_url, timeout=60)
    bodies = [
        {"model": "auto", "max_tokens": 8, "messages": [{"role": "user", "content": "Say hi."}]},
        {"model": "task/sentiment", "max_tokens": 4, "messages": [{"role": "user", "content": "Love it!"}]},
        {"model": "task/math_reasoning", "max_tokens": 8, "messages": [{"role": "user", "content": "2+2?"}]},
        {"model": "auto", "stream": True, "max_tokens": 8, "messages": [{"role": "user", "content": "Count to 3."}]},
        {"model": "no-such-model", "messages": [{"role": "user", "content": "x"}]},
    ]
    deadline = time.monotonic() + seconds
    with client:
        while time.monotonic() < deadline:
            for body in bodies:
                client.post("/v1/chat/completions", json=body)
            httpx.get(stack.litellm_url + "/metrics/")  # nothing: LiteLLM metrics come from its own traffic


def _query(prom: str, expr: str) -> list[dict[str, object]]:
    resp = httpx.get(f"{prom}/api/v1/query", params={"query": expr})
    body = resp.json()
    assert resp.status_code == 200 and body["status"] == "success", f"{expr!r}: {body}"
    return body["data"]["result"]  # type: ignore[no-any-return]


def test_every_dashboard_and_alert_query_works_on_real_traffic(stack: Stack, prometheus: str) -> None:
    original = stack.rules.read_text()
    assert original.count("\nrules:\n") == 1
    stack.rules.write_text(original.replace("\nrules:\n", "\n" + EXTRA_RULE, 1).rstrip() + "\n" + BUDGETS)
    try:
        route = {"model": "task/math_reasoning", "messages": [{"role": "user", "content": "2+2?"}]}
        for _ in range(50):  # the router picks up the edit within a poll interval
            if httpx.post(stack.router_url + "/v1/route", json=route).json()["rule"] == "math-on-vllm":
                break
            time.sleep(0.1)
        else:
            pytest.fail("the edited rules were not picked up")
        started = time.time()
        _traffic(stack, seconds=8)
        time.sleep(3)  # two more scrapes after the last request
        ended = time.time()

        empty = []
        for title, _, targets, _ in _panels():
            for expr, _ in targets:
                result = _query(prometheus, expr)
                values = [float(r["value"][1]) for r in result]  # type: ignore[index]
                if not values or all(math.isnan(v) for v in values):
                    empty.append(f"{title}: {expr}")
        assert empty == [], "panels without data:\n" + "\n".join(empty)

        for group in yaml.safe_load(ALERTS.read_text())["groups"]:
            for rule in group["rules"]:
                _query(prometheus, rule["expr"])  # parses and evaluates
        targets = httpx.get(f"{prometheus}/api/v1/targets").json()["data"]["activeTargets"]
        health = {(t["labels"]["job"], t["health"]) for t in targets}
        assert {("router", "up"), ("litellm", "up"), ("llama-server", "up"), ("vllm", "up")} <= health

        out = Path(os.environ.get("DASHBOARD_PNG", str(stack.tmp / "dashboard.png")))
        from tests.support.dashboard_png import render

        render(prometheus, _panels(), out, started, ended)
        assert out.stat().st_size > 10_000
    finally:
        stack.rules.write_text(original)
