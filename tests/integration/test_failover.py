"""A real backend dies mid-run and comes back: fallbacks answer, the circuit opens and closes.

Two real llama-servers (both SmolLM2): one serves `llama-cpp-7b`, the other `local-small`,
behind the real LiteLLM proxy. Availability probes are slowed to a minute so that only real
request failures can tell the router that `llama-cpp-7b` is gone.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from src.stack.llama_build import ensure_llama_server
from src.stack.model_file import ensure_model
from src.stack.services import RunningService, ServiceSpec, free_port, start, wait_healthy
from src.stack.stack import litellm_spec, llama_server_spec, render_litellm_config, router_spec
from tests.integration.conftest import MASTER_KEY, REPO, base_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RULES = """
default:
  model: local-small
rules:
  - task_type: sentiment
    model: llama-cpp-7b
    fallbacks: [local-small]
"""
BODY = {
    "model": "task/sentiment",
    "max_tokens": 4,
    "messages": [{"role": "user", "content": "Positive or negative: 'I love it'"}],
}


class Rig:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.binary, self.model = ensure_llama_server(), ensure_model()
        self.port_a, self.port_b, self.litellm_port, self.router_port = (free_port() for _ in range(4))
        self.services: dict[str, RunningService] = {}

    def start(self, spec: ServiceSpec) -> RunningService:
        svc = start(spec, self.tmp / "logs")
        wait_healthy(svc)
        self.services[spec.name] = svc
        return svc

    def start_b(self) -> RunningService:
        spec = llama_server_spec(self.binary, self.model, self.port_b, alias="llama-cpp-7b", parallel=2, ctx_size=4096)
        return self.start(ServiceSpec("llama-b", spec.argv, spec.health_url, spec.env))

    def up(self) -> None:
        a = llama_server_spec(self.binary, self.model, self.port_a, parallel=2, ctx_size=4096)
        self.start(ServiceSpec("llama-a", a.argv, a.health_url, a.env))
        self.start_b()
        config = self.tmp / "litellm.yaml"
        config.write_text(
            render_litellm_config(
                REPO / "config/litellm.example.yaml",
                {
                    "local-small": f"http://127.0.0.1:{self.port_a}/v1",
                    "llama-cpp-7b": f"http://127.0.0.1:{self.port_b}/v1",
                },
            )
        )
        rules = self.tmp / "rules.yaml"
        rules.write_text(RULES)
        env = base_env()
        self.start(litellm_spec(config, self.litellm_port, MASTER_KEY, env))
        env = {
            **env,
            "PROBE_INTERVAL_S": "60",
            "BREAKER_FAILURE_THRESHOLD": "2",
            "BREAKER_COOLDOWN_S": "2",
            "LEDGER_PATH": str(self.tmp / "ledger.sqlite3"),
        }
        self.start(
            router_spec(
                self.router_port,
                litellm_url=f"http://127.0.0.1:{self.litellm_port}",
                master_key=MASTER_KEY,
                litellm_config=config,
                rules=rules,
                env=env,
                cwd=REPO,
            )
        )

    def down(self) -> None:
        for svc in reversed(list(self.services.values())):
            svc.stop()


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    r = Rig(tmp_path)
    try:
        r.up()
        yield r
    finally:
        r.down()


def ask(client: httpx.Client) -> httpx.Response:
    resp = client.post("/v1/chat/completions", json=BODY)
    assert resp.status_code == 200, resp.text  # no request is lost, whatever the backends do
    return resp


def test_killing_a_backend_mid_run_falls_back_and_the_breaker_recovers(rig: Rig) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{rig.router_port}", timeout=60) as client:
        assert {ask(client).headers["x-router-model"] for _ in range(3)} == {"llama-cpp-7b"}

        rig.services["llama-b"].kill()  # kill -9 the backend serving llama-cpp-7b
        answered_by = [ask(client).headers["x-router-model"] for _ in range(6)]
        assert answered_by == ["local-small"] * 6
        breaker = client.get("/ready").json()["models"]["llama-cpp-7b"]["breaker"]
        assert breaker in {"open", "half_open"}

        rig.start_b()  # the backend comes back on the same port
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if ask(client).headers["x-router-model"] == "llama-cpp-7b":
                break
            time.sleep(0.5)
        else:
            pytest.fail("llama-cpp-7b never served again after its restart")
        assert client.get("/ready").json()["models"]["llama-cpp-7b"]["breaker"] == "closed"
