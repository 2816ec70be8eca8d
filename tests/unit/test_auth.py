"""Router keys: 401 without a valid key, 403 on admin endpoints without the admin key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from src.router.core.task_keys import mint
from src.router.settings import Settings
from tests.support.router_harness import in_process, make_app

CLIENT_KEY, ADMIN_KEY = "sk-client-0123456789abcdef", "sk-admin-fedcba9876543210"
BODY = {"model": "auto", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
async def locked(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    s = settings.model_copy(
        update={
            "router_api_keys": SecretStr(CLIENT_KEY + ", sk-second-key-0000000000"),
            "admin_api_key": SecretStr(ADMIN_KEY),
        }
    )
    app = make_app(s)
    async with (
        in_process(app) as c,
    ):
        yield c


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_requests_without_a_valid_key_get_401(locked: httpx.AsyncClient) -> None:
    for headers in ({}, bearer("sk-wrong"), bearer(CLIENT_KEY + "x"), {"Authorization": CLIENT_KEY}):
        resp = await locked.post("/v1/chat/completions", json=BODY, headers=headers)
        assert resp.status_code == 401
        assert resp.json()["error"]["code"] == "invalid_api_key"
    assert (await locked.get("/v1/models")).status_code == 401
    assert (await locked.get("/health")).status_code == 200  # liveness stays open


async def test_either_configured_key_and_a_signed_task_key_are_accepted(locked: httpx.AsyncClient) -> None:
    for key in (CLIENT_KEY, "sk-second-key-0000000000", mint(CLIENT_KEY, "t1", "plan")):
        assert (await locked.post("/v1/chat/completions", json=BODY, headers=bearer(key))).status_code == 200
    forged = mint("sk-not-a-router-key", "t1", "plan")
    assert (await locked.post("/v1/chat/completions", json=BODY, headers=bearer(forged))).status_code == 401
    assert (await locked.post("/v1/chat/completions", json=BODY, headers=bearer("sk-task-t1--plan"))).status_code == 401


async def test_admin_endpoints_need_the_admin_key(locked: httpx.AsyncClient) -> None:
    assert (await locked.post("/admin/reload", headers=bearer(CLIENT_KEY))).status_code == 403
    assert (await locked.post("/admin/reload")).status_code == 403
    ok = await locked.post("/admin/reload", headers=bearer(ADMIN_KEY))
    assert ok.status_code == 200 and ok.json()["reloaded"] is True


async def test_without_keys_configured_local_clients_may_use_any_key(client: httpx.AsyncClient) -> None:
    assert (await client.post("/v1/chat/completions", json=BODY, headers=bearer("anything"))).status_code == 200
    assert (await client.post("/admin/reload")).status_code == 200


def test_empty_key_settings_from_env_example_mean_no_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTER_API_KEYS", "")
    monkeypatch.setenv("ADMIN_API_KEY", "")
    s = Settings(_env_file=None)
    assert s.api_keys() == ()
    assert s.admin_key_value() is None


def test_the_env_file_is_the_one_router_env_file_names_or_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLASSIFIER", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("CLASSIFIER=heuristic\n")
    (tmp_path / "other.env").write_text("CLASSIFIER=embedding\n")
    assert Settings.load({}).classifier == "heuristic"  # ./.env, as a user starts it
    assert Settings.load({"ROUTER_ENV_FILE": "other.env"}).classifier == "embedding"
    assert Settings.load({"ROUTER_ENV_FILE": ""}).classifier == "learned"  # no file: the default


@pytest.mark.parametrize("path", ["/metrics", "/ready", "/docs", "/openapi.json"])
async def test_with_keys_configured_what_shows_spend_or_backends_needs_a_key(
    locked: httpx.AsyncClient, path: str
) -> None:
    resp = await locked.get(path)
    assert resp.status_code == 401, resp.text
    assert resp.json()["error"]["code"] == "invalid_api_key"
    assert (await locked.get(path, headers=bearer(CLIENT_KEY))).status_code in (200, 503)  # 503: not ready yet


async def test_metrics_public_opens_only_the_metrics(settings: Settings) -> None:
    s = settings.model_copy(update={"router_api_keys": SecretStr(CLIENT_KEY), "metrics_public": True})
    async with in_process(make_app(s)) as c:
        assert (await c.get("/metrics")).status_code == 200
        assert (await c.get("/ready")).status_code == 401
        assert (await c.get("/openapi.json")).status_code == 401


async def test_without_keys_the_documentation_stays_open(client: httpx.AsyncClient) -> None:
    assert "/v1/chat/completions" in (await client.get("/openapi.json")).json()["paths"]
    assert (await client.get("/docs")).status_code == 200
