"""Editing the rules while the router runs: valid edits take effect, invalid ones are refused."""

from __future__ import annotations

import asyncio
import os
import signal

import httpx
import pytest

from src.router.settings import Settings
from tests.support.router_harness import in_process, make_app

SENTIMENT_TO_LOCAL = """\
default:
  model: local-small
rules:
  - task_type: sentiment
    model: local-small
    reason: "edited"
    name: edited-sentiment
"""


async def _rule_for_sentiment(c: httpx.AsyncClient) -> str:
    body = {"model": "task/sentiment", "messages": [{"role": "user", "content": "great!"}]}
    resp = await c.post("/v1/route", json=body)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["rule"])


async def _eventually(c: httpx.AsyncClient, expected: str) -> None:
    for _ in range(100):
        if await _rule_for_sentiment(c) == expected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"rule never became {expected!r}")


@pytest.fixture
def fast_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"rules_poll_interval_s": 0.05})


async def test_an_edit_to_the_file_is_picked_up_while_running(fast_settings: Settings) -> None:
    app = make_app(fast_settings)
    async with (
        in_process(app) as c,
    ):
        assert await _rule_for_sentiment(c) == "sentiment#0"
        fast_settings.routing_rules.write_text(SENTIMENT_TO_LOCAL)
        await _eventually(c, "edited-sentiment")


async def test_an_invalid_edit_is_refused_and_the_old_rules_keep_serving(fast_settings: Settings) -> None:
    app = make_app(fast_settings)
    async with (
        in_process(app) as c,
    ):
        fast_settings.routing_rules.write_text(
            SENTIMENT_TO_LOCAL.replace("model: local-small\n    reason", "model: gpt-5\n    reason")
        )
        resp = await c.post("/admin/reload")
        assert resp.status_code == 400
        message = resp.json()["error"]["message"]
        assert "rules[0].model" in message and "'gpt-5'" in message and "local-small" in message
        await asyncio.sleep(0.2)  # the watcher saw the bad file too, and refused it
        assert await _rule_for_sentiment(c) == "sentiment#0"
        chat = await c.post(
            "/v1/chat/completions", json={"model": "auto", "messages": [{"role": "user", "content": "hi"}]}
        )
        assert chat.status_code == 200


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this OS")
async def test_sighup_reloads_the_rules(settings: Settings) -> None:
    slow = settings.model_copy(update={"rules_poll_interval_s": 3600})  # only the signal can reload
    app = make_app(slow)
    async with (
        in_process(app) as c,
    ):
        slow.routing_rules.write_text(SENTIMENT_TO_LOCAL)
        assert await _rule_for_sentiment(c) == "sentiment#0"
        os.kill(os.getpid(), signal.SIGHUP)
        await _eventually(c, "edited-sentiment")


async def test_route_explains_what_chat_then_forwards(client: httpx.AsyncClient, stub: tuple[object, str]) -> None:
    body = {"model": "auto", "messages": [{"role": "user", "content": "Translate to French: good morning"}]}
    explained = (await client.post("/v1/route", json=body)).json()
    assert set(explained) == {"task_type", "confidence", "model", "rule", "reason", "fallbacks", "signals", "pinned"}
    assert explained["task_type"] == "translation"
    resp = await client.post("/v1/chat/completions", json=body)
    assert resp.headers["x-router-model"] == explained["model"]
    assert resp.headers["x-router-rule"] == explained["rule"]
    assert resp.headers["x-router-task-type"] == explained["task_type"]
    assert stub[0].requests[-1]["model"] == explained["model"]  # type: ignore[attr-defined]


async def test_the_watcher_survives_a_too_deep_file_and_an_unreadable_path(fast_settings: Settings) -> None:
    path = fast_settings.routing_rules
    app = make_app(fast_settings)
    async with (
        in_process(app) as c,
    ):
        path.write_text("rules: " + "[" * 5000 + "]" * 5000 + "\n")  # RecursionError in PyYAML
        await asyncio.sleep(0.3)
        resp = await c.post("/admin/reload")
        assert resp.status_code == 400 and "nested too deeply" in resp.json()["error"]["message"]
        path.unlink()
        path.mkdir()  # reading it fails with an OSError, as an unreadable file does
        await asyncio.sleep(0.3)
        resp = await c.post("/admin/reload")
        assert resp.status_code == 400 and "cannot be read" in resp.json()["error"]["message"]
        assert await _rule_for_sentiment(c) == "sentiment#0"  # the old rules kept serving
        path.rmdir()
        path.write_text(SENTIMENT_TO_LOCAL)
        await _eventually(c, "edited-sentiment")  # and the watcher is still watching
