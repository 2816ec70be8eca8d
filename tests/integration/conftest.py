"""The real stack on free ports: llama-server (SmolLM2) <- LiteLLM proxy <- router.

Started once per test session. The router is started with the seed's exact command,
`uvicorn src.router.policy_router:app`, configured only through the environment.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from src.stack.llama_build import ensure_llama_server
from src.stack.model_file import ensure_model
from src.stack.services import RunningService, ServiceSpec, free_port, start, wait_healthy
from src.stack.stack import litellm_spec, llama_server_spec, render_litellm_config, router_spec
from tests.support.anthropic_standin import AnthropicStandIn
from tests.support.fake_gpu import write_h100_under_load
from tests.support.vllm_standin import MODEL as VLLM_MODEL
from tests.support.vllm_standin import VllmStandIn

REPO = Path(__file__).resolve().parents[2]
MASTER_KEY = "sk-integration-" + "9f3a" * 8
OVERLOADED = "vllm-overloaded"
CLAUDE_STANDIN = "claude-standin"  # a priced Claude model answered by the Anthropic stand-in
CLAUDE_STANDIN_PRICES = (0.000003, 0.000015)  # per input, output token (Claude Sonnet's)


@dataclass
class Stack:
    router_url: str
    litellm_url: str
    llama_url: str
    down_url: str  # where the "llama-cpp-7b" and "qwen-14b-vllm" backends would be: nothing listens
    services: dict[str, RunningService]
    litellm_config: Path
    rules: Path  # a copy the tests may edit: the router reloads it
    tmp: Path
    vllm: VllmStandIn
    anthropic: AnthropicStandIn


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LITELLM_", "ROUTER_", "ANTHROPIC_", "OPENAI_"))}
    env.pop("ROUTING_RULES", None)
    # The router reads no .env: a developer's own (CLASSIFIER=heuristic, say) must not change what
    # the tests see; everything it needs is set here.
    env["ROUTER_ENV_FILE"] = ""
    return env


def wait_ready(router_url: str, router: RunningService) -> None:
    """Until the router's `/ready` answers 200 (LiteLLM reachable, a model probed up), or the
    router process ends."""
    spec = ServiceSpec("router-ready", [], router_url + "/ready", ready_timeout_s=60)
    wait_healthy(RunningService(spec, router.proc, router.log_path))


def start_stack(tmp: Path) -> Stack:
    binary, model = ensure_llama_server(), ensure_model()
    llama_port, litellm_port, router_port, down_port = (free_port() for _ in range(4))
    down = f"http://127.0.0.1:{down_port}"
    vllm = VllmStandIn().start()
    anthropic = AnthropicStandIn().start()
    config = tmp / "litellm.yaml"
    rendered = yaml.safe_load(
        render_litellm_config(
            REPO / "config" / "litellm.example.yaml",
            {
                "local-small": f"http://127.0.0.1:{llama_port}/v1",
                "llama-cpp-7b": f"{down}/v1",
                "qwen-14b-vllm": f"{down}/v1",
            },
        )
    )
    # An extra model on the overloaded vLLM stand-in: up for probes, 503 for completions.
    rendered["model_list"].append(
        {
            "model_name": OVERLOADED,
            "litellm_params": {
                "model": f"hosted_vllm/{VLLM_MODEL}",
                "api_base": vllm.url + "/v1",
                "api_key": "sk-local-no-key",
            },
            "model_info": {"input_cost_per_token": 0.0, "output_cost_per_token": 0.0},
        }
    )
    # A cloud Claude model (no keys or network here): LiteLLM's Anthropic provider, pointed at the
    # stand-in that answers in Anthropic's recorded format. Not in the rules: tests name it.
    rendered["model_list"].append(
        {
            "model_name": CLAUDE_STANDIN,
            "litellm_params": {
                "model": "anthropic/claude-sonnet-4-5",
                "api_base": anthropic.url,
                "api_key": "sk-ant-standin-0000",
            },
            "model_info": {
                "input_cost_per_token": CLAUDE_STANDIN_PRICES[0],
                "output_cost_per_token": CLAUDE_STANDIN_PRICES[1],
                "max_input_tokens": 200000,
            },
        }
    )
    config.write_text(yaml.safe_dump(rendered, sort_keys=False))
    rules = tmp / "routing_rules.yaml"
    rules.write_text((REPO / "config" / "routing_rules.yaml").read_text())
    env = {
        **base_env(),
        "LEDGER_PATH": str(tmp / "ledger.sqlite3"),
        # No GPU here: NVML's readings for an H100, from a file the router reads as it would any exporter's.
        "GPU_SAMPLER": "file:" + str(write_h100_under_load(tmp / "gpus.json")),
        "LOAD_INTERVAL_S": "0.5",
        "RULES_POLL_INTERVAL_S": "0.2",
    }
    logs = tmp / "logs"
    services: dict[str, RunningService] = {}
    specs: list[ServiceSpec] = [
        llama_server_spec(binary, model, llama_port),
        litellm_spec(config, litellm_port, MASTER_KEY, env),
        router_spec(
            router_port,
            litellm_url=f"http://127.0.0.1:{litellm_port}",
            master_key=MASTER_KEY,
            litellm_config=config,
            rules=rules,
            env=env,
            cwd=REPO,
        ),
    ]
    try:
        for spec in specs:
            services[spec.name] = start(spec, logs)
            wait_healthy(services[spec.name])
        # Ready means LiteLLM answered and the embedded model's backend was probed up.
        wait_ready(f"http://127.0.0.1:{router_port}", services["router"])
    except BaseException:
        for svc in services.values():
            svc.stop()
        vllm.stop()
        anthropic.stop()
        raise
    return Stack(
        f"http://127.0.0.1:{router_port}",
        f"http://127.0.0.1:{litellm_port}",
        f"http://127.0.0.1:{llama_port}",
        down,
        services,
        config,
        rules,
        tmp,
        vllm,
        anthropic,
    )


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = start_stack(tmp_path_factory.mktemp("stack"))
    try:
        yield s
    finally:
        for svc in reversed(list(s.services.values())):
            svc.stop()
        s.vllm.stop()
        s.anthropic.stop()
