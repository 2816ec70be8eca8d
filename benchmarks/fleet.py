"""Fleet rows of `make bench`: the router with 1, 2 and 4 workers sharing this machine's ledger,
and with Redis as the shared state; priced and free requests against an instant upstream.

A priced request reserves and settles through the shared state (a SQLite transaction each, or
a Lua script each in Redis); a free one never touches it. Both go to the same stub on the
router's direct path, so the difference between the two columns is the price of the shared
budget. Load: wrk, 2 threads, 64 connections (and 1 connection for the p50).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from benchmarks.wrk import wrk, wrk_script
from src.stack.redis_server import ensure_redis_server, redis_argv, redis_env, wait_redis
from src.stack.services import RunningService, ServiceSpec, free_port, start
from src.stack.stack import router_spec

ASK = [{"role": "user", "content": "Hello! What is a good name for a small sailing boat?"}]
RULES = """
default: {model: bench-free}
budgets:
  - {name: fleet-total, scope: total, period: daily, limit_usd: 1000000000.0}
"""


@dataclass
class FleetRow:
    name: str
    workers: int
    shared_state: str
    priced_rps: float
    free_rps: float
    priced_p50_ms: float
    free_p50_ms: float
    errors: int


def litellm_config(path: Path, stub: str) -> Path:
    def model(name: str, cost: float) -> dict[str, Any]:
        return {
            "model_name": name,
            "litellm_params": {"model": "openai/bench", "api_base": stub + "/v1", "api_key": "sk-none"},
            "model_info": {
                "input_cost_per_token": cost,
                "output_cost_per_token": cost,
                "max_output_tokens": 64,
                "router_direct": True,
            },
        }

    path.write_text(yaml.safe_dump({"model_list": [model("bench-free", 0.0), model("bench-priced", 1e-6)]}))
    return path


async def measure_fleet(
    tmp: Path,
    *,
    stub: str,
    litellm: str,
    master_key: str,
    env: dict[str, str],
    repo: Path,
    smoke: bool,
    start_ready: Callable[[ServiceSpec], RunningService],
) -> list[FleetRow]:
    config = litellm_config(tmp / "fleet-litellm.yaml", stub)
    rules = tmp / "fleet-rules.yaml"
    rules.write_text(RULES)
    redis_port = free_port()
    redis = start(
        ServiceSpec("redis", redis_argv(ensure_redis_server(), redis_port, tmp / "redis"), "", redis_env()),
        tmp / "logs",
    )
    rows: list[FleetRow] = []
    seconds = 1 if smoke else 5
    try:
        wait_redis(redis, redis_port)
        configs = [(1, None), (2, None), (4, None), (1, redis_port), (4, redis_port)]
        for workers, on_redis in configs:
            port = free_port()
            label = "redis" if on_redis else "sqlite"
            run_env = {**env, "LEDGER_PATH": str(tmp / f"fleet-{label}-{workers}.sqlite3"), "GPU_SAMPLING": "false"}
            if on_redis:
                run_env["REDIS_URL"] = f"redis://127.0.0.1:{on_redis}/0"
                run_env["REDIS_PREFIX"] = f"bench{workers}:"
            spec = router_spec(
                port,
                litellm_url=litellm,
                master_key=master_key,
                litellm_config=config,
                rules=rules,
                env=run_env,
                cwd=repo,
                workers=workers,
                multiproc_dir=tmp / f"fleet-metrics-{label}-{workers}",
            )
            name = f"fleet-{label}-{workers}w"
            router = start_ready(dataclasses.replace(spec, name=name, health_url=f"http://127.0.0.1:{port}/ready"))
            try:
                url = f"http://127.0.0.1:{port}/v1/chat/completions"
                result: dict[str, dict[str, float]] = {}
                for kind in ("priced", "free"):
                    script = wrk_script(tmp, {"model": f"bench-{kind}", "messages": ASK, "max_tokens": 16}, None)
                    await wrk(url, script, connections=64, seconds=1, threads=2)  # warm-up
                    many = await wrk(url, script, connections=64, seconds=seconds, threads=2)
                    one = await wrk(url, script, connections=1, seconds=seconds)
                    result[kind] = {"rps": many["rps"], "p50": one["p50_ms"], "errors": many["errors"] + one["errors"]}
            finally:
                router.stop()
            row = FleetRow(
                name,
                workers,
                "Redis" if on_redis else "SQLite ledger",
                result["priced"]["rps"],
                result["free"]["rps"],
                result["priced"]["p50"],
                result["free"]["p50"],
                int(result["priced"]["errors"] + result["free"]["errors"]),
            )
            print(
                f"  {name:<18} priced {row.priced_rps:7.0f} req/s p50 {row.priced_p50_ms:6.3f} ms   "
                f"free {row.free_rps:7.0f} req/s p50 {row.free_p50_ms:6.3f} ms   errors {row.errors}",
                flush=True,
            )
            rows.append(row)
    finally:
        redis.stop()
    return rows


def markdown(rows: list[FleetRow]) -> list[str]:
    lines = [
        "",
        "Fleet: the router with N workers (one port) and its shared budget state, instant upstream on the",
        "router's direct path; wrk 2 threads, 64 connections (req/s) and 1 connection (p50). Priced requests",
        "reserve and settle through the shared state; free ones never touch it.",
        "",
        "| router | shared state | priced req/s | free req/s | priced p50 @1 (ms) | free p50 @1 (ms) | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.workers} worker{'s' if r.workers > 1 else ''} | {r.shared_state} | {r.priced_rps:,.0f} | "
            f"{r.free_rps:,.0f} | {r.priced_p50_ms:.3f} | {r.free_p50_ms:.3f} | {r.errors} |"
        )
    by = {(r.shared_state, r.workers): r for r in rows}
    one, four = by.get(("SQLite ledger", 1)), by.get(("SQLite ledger", 4))
    if one and four:
        lines += [
            "",
            f"4 workers vs 1 (SQLite ledger): priced {four.priced_rps / max(one.priced_rps, 1e-9):.2f}×, "
            f"free {four.free_rps / max(one.free_rps, 1e-9):.2f}×; the shared state adds "
            f"{one.priced_p50_ms - one.free_p50_ms:.3f} ms to a priced request's p50 (1 worker).",
        ]
    redis_one = by.get(("Redis", 1))
    if redis_one:
        lines.append(
            f"With Redis it adds {redis_one.priced_p50_ms - redis_one.free_p50_ms:.3f} ms"
            " (1 worker, Redis on this host)."
        )
    return lines
