"""Running the router in process against a stub upstream: config files, app and server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import uvicorn
import yaml
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from src.router.policy_router import create_app
from src.router.settings import Settings
from src.stack.services import free_port

REPO = Path(__file__).resolve().parents[2]
MASTER_KEY = "sk-test-master-key-0123456789abcdef"


def write_configs(tmp: Path, upstream_url: str, *, down_url: str = "http://127.0.0.1:9") -> Settings:
    """LiteLLM config with local-small on the stub and llama-cpp-7b on a dead port; seed rules."""
    config = yaml.safe_load((REPO / "config" / "litellm.example.yaml").read_text())
    for entry in config["model_list"]:
        name = entry["model_name"]
        if name == "local-small":
            entry["litellm_params"]["api_base"] = upstream_url + "/v1"
        elif "api_base" in entry["litellm_params"]:
            entry["litellm_params"]["api_base"] = down_url + "/v1"
    (tmp / "litellm.yaml").write_text(yaml.safe_dump(config))
    (tmp / "rules.yaml").write_text((REPO / "config" / "routing_rules.yaml").read_text())
    return Settings(
        _env_file=None,
        litellm_base_url=upstream_url,
        litellm_master_key=MASTER_KEY,
        litellm_config=tmp / "litellm.yaml",
        routing_rules=tmp / "rules.yaml",
        upstream_connect_timeout_s=1.0,
        upstream_read_timeout_s=1.0,
        probe_interval_s=0.2,
        probe_timeout_s=0.5,
        ledger_path=tmp / "ledger.sqlite3",
        load_interval_s=0.2,
    )


def make_app(settings: Settings) -> FastAPI:
    return create_app(settings, environ=lambda: {})


@contextlib.asynccontextmanager
async def in_process(app: FastAPI, *, client_timeout_s: float = 5.0) -> AsyncIterator[httpx.AsyncClient]:
    """A client for the app in this process, its lifespan run (ASGITransport alone does not)."""
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://r", timeout=client_timeout_s
        ) as client,
    ):
        yield client


@contextlib.asynccontextmanager
async def running_router(app: FastAPI) -> AsyncIterator[str]:
    """Serve the app on a free loopback port in this event loop (real sockets, real streaming)."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110  (uvicorn exposes a flag, not an event)
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
