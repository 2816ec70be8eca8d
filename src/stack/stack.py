"""The three services of the default stack and how each is started.

    llama-server (SmolLM2, :8081)  <-  LiteLLM proxy (:4000)  <-  policy router (:5000)

Used by `python -m src.stack run` (what `make run` calls) and by the integration tests,
which start the same three on free ports.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from src.stack.services import ServiceSpec

EMBEDDED_ALIAS = "local-small"


@dataclass(frozen=True)
class StackPorts:
    llama: int = 8081
    litellm: int = 4000
    router: int = 5000


def llama_server_spec(
    binary: Path, model: Path, port: int, *, alias: str = EMBEDDED_ALIAS, parallel: int = 4, ctx_size: int = 16384
) -> ServiceSpec:
    argv = [
        str(binary),
        "-m",
        str(model),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--alias",
        alias,
        "--metrics",  # Prometheus /metrics: the router reads the queue from it
        "--slots",  # GET /slots: which slots are busy
        "--jinja",  # the model's chat template with tool calls (OpenHands, Cline send tools)
        "-c",
        str(ctx_size),
        "-np",
        str(parallel),
        "--kv-unified",  # slots share one context
        # A request without max_tokens may otherwise generate until the context is full: a 135M
        # model that falls into a repetition loop wrote 8,000 tokens (3 minutes) for "say hello".
        "--n-predict",
        "2048",
        "--threads",
        str(max(1, os.cpu_count() or 1)),
    ]
    return ServiceSpec(
        "llama-server",
        argv,
        f"http://127.0.0.1:{port}/health",
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        ready_timeout_s=120,
    )


def litellm_spec(config: Path, port: int, master_key: str, env: Mapping[str, str]) -> ServiceSpec:
    litellm_bin = Path(sys.executable).with_name("litellm")
    full_env = {
        **env,
        "LITELLM_MASTER_KEY": master_key,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no network: use the bundled price map
        "LITELLM_TELEMETRY": "False",
        "NO_DOCS": "True",
    }
    argv = [str(litellm_bin), "--config", str(config), "--host", "127.0.0.1", "--port", str(port)]
    return ServiceSpec("litellm", argv, f"http://127.0.0.1:{port}/health/liveliness", env=full_env, ready_timeout_s=180)


def router_spec(
    port: int,
    *,
    litellm_url: str,
    master_key: str,
    litellm_config: Path,
    rules: Path,
    env: Mapping[str, str],
    cwd: Path,
    host: str = "127.0.0.1",
    workers: int = 1,
    multiproc_dir: Path | None = None,
) -> ServiceSpec:
    """The router under uvicorn; with `workers` > 1, that many processes sharing one port, one
    ledger (the shared budget state, or Redis with REDIS_URL) and, for /metrics, one
    prometheus multiprocess folder (`multiproc_dir`, emptied here: counters of an earlier run
    must not be added to this one's)."""
    full_env = {
        **env,
        "LITELLM_BASE_URL": litellm_url,
        "LITELLM_MASTER_KEY": master_key,
        "LITELLM_CONFIG": str(litellm_config),
        "ROUTING_RULES": str(rules),
    }
    if workers > 1:
        folder = multiproc_dir or cwd / "var" / "router" / "prometheus-multiproc"
        full_env["PROMETHEUS_MULTIPROC_DIR"] = str(clean_folder(folder))
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "src.router.policy_router:app",
        "--host",
        host,
        "--port",
        str(port),
        "--no-access-log",
        *(["--workers", str(workers)] if workers > 1 else []),
    ]
    return ServiceSpec("router", argv, f"http://127.0.0.1:{port}/health", env=full_env, cwd=cwd, ready_timeout_s=60)


def clean_folder(folder: Path) -> Path:
    """An empty `folder` (created, or emptied of the files a previous run left)."""
    folder.mkdir(parents=True, exist_ok=True)
    for item in folder.iterdir():
        if item.is_file() or item.is_symlink():
            item.unlink()
    return folder


def workers_from(value: str | None) -> int:
    """ROUTER_WORKERS: a whole number >= 1 (unset or empty: 1)."""
    if value is None or not value.strip():
        return 1
    if not value.strip().isdigit() or int(value) < 1:
        raise ValueError(f"ROUTER_WORKERS has value {value!r}: use a whole number >= 1 (processes serving the router)")
    return int(value)


def render_litellm_config(example: Path, api_bases: Mapping[str, str]) -> str:
    """The example config with some models' `api_base` replaced (tests use free ports)."""
    data = yaml.safe_load(example.read_text())
    for entry in data["model_list"]:
        if entry["model_name"] in api_bases:
            entry["litellm_params"]["api_base"] = api_bases[entry["model_name"]]
    return yaml.safe_dump(data, sort_keys=False)
