from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from src.router.settings import Settings
from tests.support.openai_stub import StubUpstream, serve
from tests.support.router_harness import in_process, make_app, write_configs


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
    async with in_process(make_app(settings)) as c:
        yield c
