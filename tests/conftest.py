from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager

from src.router.settings import Settings
from tests.support.openai_stub import StubUpstream, serve
from tests.support.router_harness import make_app, write_configs


@pytest.fixture
async def stub() -> AsyncIterator[tuple[StubUpstream, str]]:
    upstream = StubUpstream()
    runner, url = await serve(upstream)
    try:
        yield upstream, url
    finally:
        await runner.cleanup()


@pytest.fixture
def settings(tmp_path: Path, stub: tuple[StubUpstream, str]) -> Settings:
    return write_configs(tmp_path, stub[1])


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = make_app(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://router") as c:
            yield c
