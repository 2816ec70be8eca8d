"""`python -m src.stack setup|run`: the logic behind `make run` and the start scripts.

setup   build llama-server (cached), fetch the embedded model (cached), create
        config/litellm.yaml and .env from the examples if missing; with --tests, also what
        the suite needs: Prometheus, Redis, wrk and tmux (Debian packages), and Aider, Cline and
        OpenHands and Claude Code (into ~/.cache/multi-llm/tools)
run     setup, then start llama-server, LiteLLM and the router, wait until all three are
        healthy, print the base URL, and stop all three on Ctrl-C (or SIGTERM)
unit    print a systemd unit that runs `run` from this clone as a service
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

from dotenv import dotenv_values

from src.stack import agent_tools
from src.stack.bootstrap import ensure_env_file, ensure_litellm_config
from src.stack.debian import ensure_binaries
from src.stack.llama_build import ensure_llama_server
from src.stack.model_file import ensure_model
from src.stack.paths import REPO_ROOT, var_dir
from src.stack.prometheus import ensure_prometheus
from src.stack.redis_server import ensure_redis_server
from src.stack.service_unit import systemd_unit
from src.stack.services import RunningService, ServiceError, port_in_use, start, wait_healthy
from src.stack.stack import StackPorts, litellm_spec, llama_server_spec, router_spec, workers_from


def setup(*, for_tests: bool = False) -> tuple[Path, Path]:
    t0 = time.monotonic()
    binary = ensure_llama_server()
    model = ensure_model()
    ensure_litellm_config()
    ensure_env_file()
    if for_tests:
        ensure_prometheus()
        ensure_redis_server()  # the fleet tests' shared state (REDIS_URL)
        ensure_binaries("wrk", "wrk")  # the benchmark harness's load generator (its smoke run is a test)
        ensure_binaries("tmux", "tmux")  # OpenHands' terminal tool runs in tmux
        for tool in agent_tools.ensure_all():  # Aider, Cline, OpenHands, Claude Code: the e2e tests drive them
            print(f"  {tool.name}: {tool.binary}", flush=True)
    print(f"setup complete in {time.monotonic() - t0:.1f}s (llama-server: {binary}, model: {model})", flush=True)
    return binary, model


def _env() -> dict[str, str]:
    file_values = {k: v for k, v in dotenv_values(REPO_ROOT / ".env").items() if v is not None}
    return {**file_values, **os.environ}


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run() -> int:
    binary, model = setup()
    env = _env()
    ports = StackPorts(
        llama=int(env.get("LLAMA_SERVER_PORT", "8081")),
        litellm=int(env.get("LITELLM_PORT", "4000")),
        router=int(env.get("ROUTER_PORT", "5000")),
    )
    host = env.get("ROUTER_HOST", "127.0.0.1")
    busy = [f"{name} port {p}" for name, p in vars(ports).items() if port_in_use(p)]
    if busy:
        print(
            f"cannot start: already in use: {', '.join(busy)} (stop what holds them, or set "
            "LLAMA_SERVER_PORT / LITELLM_PORT / ROUTER_PORT in .env)",
            file=sys.stderr,
        )
        return 2
    try:
        workers = workers_from(env.get("ROUTER_WORKERS"))
    except ValueError as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 2
    key = env["LITELLM_MASTER_KEY"]
    litellm_config = REPO_ROOT / env.get("LITELLM_CONFIG", "config/litellm.yaml")
    specs = [
        llama_server_spec(binary, model, ports.llama),
        litellm_spec(litellm_config, ports.litellm, key, env),
        router_spec(
            ports.router,
            litellm_url=f"http://127.0.0.1:{ports.litellm}",
            master_key=key,
            litellm_config=litellm_config,
            rules=REPO_ROOT / env.get("ROUTING_RULES", "config/routing_rules.yaml"),
            env=env,
            cwd=REPO_ROOT,
            host=host,
            workers=workers,
            multiproc_dir=Path(env["PROMETHEUS_MULTIPROC_DIR"]) if env.get("PROMETHEUS_MULTIPROC_DIR") else None,
        ),
    ]
    running: list[RunningService] = []

    def stop_all(*_: object) -> None:
        for svc in reversed(running):
            svc.stop()

    signal.signal(signal.SIGTERM, _interrupt)
    logs = var_dir() / "log"
    try:
        for spec in specs:
            svc = start(spec, logs)
            running.append(svc)
            took = wait_healthy(svc)
            print(
                f"  {spec.name:<13} healthy in {took:5.1f}s "
                f" (pid {svc.pid}, log {svc.log_path.relative_to(REPO_ROOT)})",
                flush=True,
            )
        base = f"http://127.0.0.1:{ports.router}/v1"
        print(
            f"""
The stack is up. OpenAI-compatible base URL: {base}

  curl {base}/chat/completions -H 'Content-Type: application/json' \\
    -d '{{"model": "auto", "max_tokens": 64, "messages": [{{"role": "user", "content": "Say hello in five words."}}]}}'

Ctrl-C stops all three.""",
            flush=True,
        )
        while all(s.alive() for s in running):
            time.sleep(0.5)
        dead = next(s for s in running if not s.alive())
        print(
            f"{dead.spec.name} exited with status {dead.proc.returncode}; stopping the stack. "
            f"Log tail:\n{dead.log_tail()}",
            file=sys.stderr,
        )
        return 1
    except ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping...", flush=True)
        return 0
    finally:
        stop_all()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m src.stack", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=("setup", "run", "unit"))
    parser.add_argument("--tests", action="store_true", help="also install what the test suite needs (Prometheus)")
    args = parser.parse_args(argv)
    if args.command == "setup":
        setup(for_tests=args.tests)
        return 0
    if args.command == "unit":
        print(systemd_unit(REPO_ROOT, REPO_ROOT / ".venv" / "bin" / "python"), end="")
        return 0
    return run()


if __name__ == "__main__":
    sys.exit(main())
