"""What the Anthropic Messages API costs over chat-completions, through router -> LiteLLM -> stub.

    python -m benchmarks.messages            # 400 requests per path (~1 min)
    python -m benchmarks.messages --n 50     # quicker

The same question is sent, one client at a time, alternating between the paths so that drift on
this shared 2-core machine hits them equally:

  chat      POST /v1/chat/completions to the router (the model goes through LiteLLM, no direct path)
  messages  POST /v1/messages to the router (LiteLLM's /v1/messages, translated to the stub)
  and the same two straight to LiteLLM, to separate LiteLLM's translation from the router's work.

Each path reports p50/p99 of the whole request and, for the router, the median of its own time
(`x-router-overhead-ms`: total minus time waiting on LiteLLM). The stub answers instantly
(benchmarks/stub_server.py), so the numbers are the proxies' own.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from benchmarks.run import MASTER_KEY, REPO, Bench
from src.stack.services import ServiceSpec
from src.stack.stack import litellm_spec

QUESTION = "Hello! What is a good name for a small sailing boat?"
CHAT = {"model": "auto", "max_tokens": 16, "messages": [{"role": "user", "content": QUESTION}]}
MESSAGES = {**CHAT, "messages": [{"role": "user", "content": [{"type": "text", "text": QUESTION}]}]}


def _up(b: Bench) -> None:
    py = sys.executable
    b.start(
        ServiceSpec(
            "stub",
            [py, "-m", "benchmarks.stub_server", "--port", str(b.ports["stub"])],
            f"{b.url('stub')}/health",
            env=b.env(),
            cwd=REPO,
        )
    )
    config = b.tmp / "litellm.yaml"
    entry = {
        "model_name": "bench-litellm",
        "litellm_params": {"model": "openai/bench", "api_base": b.url("stub") + "/v1", "api_key": "sk-none"},
        "model_info": {"input_cost_per_token": 0.0, "output_cost_per_token": 0.0},
    }
    config.write_text(
        yaml.safe_dump(
            {
                "model_list": [entry],
                "litellm_settings": {"telemetry": False, "num_retries": 0},
                "router_settings": {"num_retries": 0},
                "general_settings": {"master_key": "os.environ/LITELLM_MASTER_KEY"},
            }
        )
    )
    b.start(litellm_spec(config, b.ports["litellm"], MASTER_KEY, b.env()))
    b.router("router_litellm", "default: {model: bench-litellm}\n", config)


async def _once(
    session: aiohttp.ClientSession, url: str, body: dict[str, Any], headers: dict[str, str]
) -> tuple[float, float | None]:
    started = time.perf_counter()
    async with session.post(url, json=body, headers=headers) as resp:
        await resp.read()
        assert resp.status == 200, (url, resp.status, await resp.text())
        overhead = resp.headers.get("x-router-overhead-ms")
    return (time.perf_counter() - started) * 1000, float(overhead) if overhead else None


async def measure(b: Bench, n: int) -> dict[str, dict[str, float]]:
    router, litellm = b.url("router_litellm"), b.url("litellm")
    key = {"Authorization": f"Bearer {MASTER_KEY}"}
    anthropic = {"anthropic-version": "2023-06-01"}
    paths = {
        "router chat": (router + "/v1/chat/completions", CHAT, {}),
        "router messages": (router + "/v1/messages", MESSAGES, anthropic),
        "litellm chat": (litellm + "/v1/chat/completions", {**CHAT, "model": "bench-litellm"}, key),
        "litellm messages": (litellm + "/v1/messages", {**MESSAGES, "model": "bench-litellm"}, {**key, **anthropic}),
    }
    samples: dict[str, list[float]] = {name: [] for name in paths}
    overheads: dict[str, list[float]] = {name: [] for name in paths}
    async with aiohttp.ClientSession() as session:
        for i in range(n + 20):
            for name, (url, body, headers) in paths.items():
                ms, overhead = await _once(session, url, body, headers)
                if i >= 20:  # warm-up
                    samples[name].append(ms)
                    if overhead is not None:
                        overheads[name].append(overhead)
    out = {}
    for name, values in samples.items():
        values.sort()
        out[name] = {
            "p50_ms": statistics.median(values),
            "p99_ms": values[min(len(values) - 1, int(len(values) * 0.99))],
            **({"router_own_p50_ms": statistics.median(overheads[name])} if overheads[name] else {}),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=400, help="requests per path after a 20-request warm-up")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        b = Bench(Path(tmp), smoke=False)
        try:
            _up(b)
            results = asyncio.run(measure(b, args.n))
        finally:
            b.stop()
    for name, r in results.items():
        own = f"  router's own p50 {r['router_own_p50_ms']:.3f} ms" if "router_own_p50_ms" in r else ""
        print(f"{name:<18} p50 {r['p50_ms']:7.2f} ms  p99 {r['p99_ms']:7.2f} ms{own}")
    added = results["router messages"]["p50_ms"] - results["router chat"]["p50_ms"]
    litellm_added = results["litellm messages"]["p50_ms"] - results["litellm chat"]["p50_ms"]
    own_added = results["router messages"]["router_own_p50_ms"] - results["router chat"]["router_own_p50_ms"]
    print(
        f"/v1/messages over /v1/chat/completions, p50: +{added:.2f} ms through the router"
        f" (LiteLLM's translation: +{litellm_added:.2f} ms; the router's own time: {own_added:+.3f} ms)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
