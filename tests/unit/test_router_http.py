"""The router's HTTP surface, in process, against a stub upstream that speaks OpenAI's format."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import orjson
import pytest

from src.router.errors import upstream_error_body
from src.router.settings import Settings
from tests.support.openai_stub import StubUpstream, recorded_sse_events
from tests.support.router_harness import MASTER_KEY, in_process, make_app, running_router, write_configs

CHAT = "/v1/chat/completions"


def assert_envelope(resp: httpx.Response, status: int, code: str | None = None) -> dict[str, object]:
    assert resp.status_code == status, resp.text
    err = resp.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert err["message"]
    if code is not None:
        assert err["code"] == code
    return err  # type: ignore[no-any-return]


async def test_health_answers_without_any_upstream(tmp_path: Path) -> None:

    settings = write_configs(tmp_path, "http://127.0.0.1:9")  # nothing listens there
    app = make_app(settings)
    async with (
        in_process(app) as c,
    ):
        assert (await c.get("/health")).json() == {"status": "ok"}


async def test_auto_request_is_forwarded_with_only_the_model_changed_and_unknown_fields_dropped(
    client: httpx.AsyncClient, stub: tuple[StubUpstream, str]
) -> None:
    upstream, _ = stub
    body = {
        "model": "auto",
        "messages": [{"role": "user", "content": "Hi there"}],
        "temperature": 0.3,
        "stop": ["\n\n"],
        "n": 1,
        "seed": 7,
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
        "tool_choice": "auto",
        "response_format": {"type": "json_object"},
        "x_vendor_field": {"a": [1, 2]},
    }
    resp = await client.post(CHAT, json=body, headers={"Authorization": "Bearer client-own-key"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["choices"][0]["message"]["content"] == "Hello from the stub."
    sent = upstream.requests[-1]
    assert sent.pop("model") == "local-small"
    assert sent == {k: v for k, v in body.items() if k not in ("model", "x_vendor_field")}
    assert resp.headers["x-router-dropped-fields"] == "x_vendor_field"
    # The router holds the master key; the client's key never reaches the upstream.
    assert upstream.headers[-1]["Authorization"] == f"Bearer {MASTER_KEY}"
    assert resp.headers["x-router-model"] == "local-small"
    assert resp.headers["x-router-rule"] == "default"
    assert float(resp.headers["x-router-overhead-ms"]) >= 0


async def test_invalid_json_is_a_400_envelope(client: httpx.AsyncClient) -> None:
    resp = await client.post(CHAT, content=b"{not json", headers={"content-type": "application/json"})
    assert_envelope(resp, 400, "invalid_json")


@pytest.mark.parametrize(
    ("body", "param"),
    [([1, 2], None), ({"messages": [{"role": "user", "content": "x"}]}, "model"), ({"model": "auto"}, "messages")],
)
async def test_structurally_bad_bodies_are_400_naming_the_field(
    client: httpx.AsyncClient, body: object, param: str | None
) -> None:
    err = assert_envelope(await client.post(CHAT, json=body), 400)
    assert err["param"] == param


async def test_unknown_model_is_404_naming_the_available_models(client: httpx.AsyncClient) -> None:
    resp = await client.post(CHAT, json={"model": "gpt-9", "messages": [{"role": "user", "content": "x"}]})
    err = assert_envelope(resp, 404, "model_not_found")
    assert "local-small" in str(err["message"]) and "auto" in str(err["message"])
    assert err["param"] == "model"


async def test_unknown_task_type_is_400_listing_the_allowed_ones(client: httpx.AsyncClient) -> None:
    resp = await client.post(CHAT, json={"model": "task/poetry", "messages": [{"role": "user", "content": "x"}]})
    err = assert_envelope(resp, 400, "invalid_task_type")
    assert "creative_writing" in str(err["message"])


async def test_models_lists_litellm_models_and_the_virtual_ones(client: httpx.AsyncClient) -> None:
    ids = [m["id"] for m in (await client.get("/v1/models")).json()["data"]]
    assert "local-small" in ids and "auto" in ids and "task/code_review" in ids


async def test_upstream_4xx_body_is_passed_through(client: httpx.AsyncClient, stub: tuple[StubUpstream, str]) -> None:
    stub[0].mode = "status:400"
    resp = await client.post(CHAT, json={"model": "local-small", "messages": [{"role": "user", "content": "x"}]})
    assert resp.status_code == 400
    assert resp.json()["error"]["message"] == "stub says 400"


async def test_unreachable_upstream_is_502(tmp_path: Path, stub: tuple[StubUpstream, str]) -> None:

    settings = write_configs(tmp_path, stub[1])
    settings = settings.model_copy(update={"litellm_base_url": "http://127.0.0.1:9"})
    app = make_app(settings)
    async with (
        in_process(app) as c,
    ):
        resp = await c.post(CHAT, json={"model": "local-small", "messages": [{"role": "user", "content": "x"}]})
    assert_envelope(resp, 502, "upstream_unreachable")


async def test_upstream_that_hangs_is_504_after_the_read_timeout(
    client: httpx.AsyncClient, stub: tuple[StubUpstream, str]
) -> None:
    stub[0].mode = "hang"
    resp = await client.post(CHAT, json={"model": "local-small", "messages": [{"role": "user", "content": "x"}]})
    assert_envelope(resp, 504, "upstream_timeout")


async def test_no_available_model_is_503(tmp_path: Path, stub: tuple[StubUpstream, str]) -> None:

    settings = write_configs(tmp_path, "http://127.0.0.1:9")
    app = make_app(settings)
    async with (
        in_process(app) as c,
    ):
        resp = await c.post(CHAT, json={"model": "auto", "messages": [{"role": "user", "content": "x"}]})
        ready = await c.get("/ready")
    assert_envelope(resp, 503, "no_model_available")
    assert ready.status_code == 503 and ready.json()["ready"] is False


async def test_stream_is_forwarded_chunk_by_chunk_not_buffered(
    settings: Settings, stub: tuple[StubUpstream, str]
) -> None:
    upstream, _ = stub
    upstream.mode = "slow_stream"
    events = recorded_sse_events()
    async with running_router(make_app(settings)) as base, httpx.AsyncClient(base_url=base) as c:
        body = {"model": "auto", "stream": True, "messages": [{"role": "user", "content": "Hi"}]}
        async with c.stream("POST", CHAT, json=body) as resp:
            assert resp.status_code == 200
            assert resp.headers["content-type"].startswith("text/event-stream")
            chunks = resp.aiter_raw()
            first = await asyncio.wait_for(chunks.__anext__(), timeout=5)
            # The upstream is still holding every later event: this one came through alone.
            assert first == events[0]
            upstream.release.set()
            rest = b"".join([c async for c in chunks])
    # The router asked for usage (to know the cost) and dropped the usage-only chunk that the
    # client did not ask for; everything else arrived byte for byte.
    assert upstream.requests[-1]["stream_options"] == {"include_usage": True}
    assert first + rest == b"".join(e for e in events if b'"choices":[]' not in e)


async def test_a_client_that_asks_for_usage_gets_the_usage_chunk(
    settings: Settings, stub: tuple[StubUpstream, str]
) -> None:
    body = {
        "model": "auto",
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": "Hi"}],
    }
    async with (
        running_router(make_app(settings)) as base,
        httpx.AsyncClient(base_url=base) as c,
        c.stream("POST", CHAT, json=body) as resp,
    ):
        raw = b"".join([c async for c in resp.aiter_raw()])
    assert raw == b"".join(recorded_sse_events())


async def test_stream_cut_by_the_upstream_ends_with_an_error_event(
    settings: Settings, stub: tuple[StubUpstream, str]
) -> None:
    stub[0].mode = "cut"
    async with running_router(make_app(settings)) as base, httpx.AsyncClient(base_url=base) as c:
        body = {"model": "auto", "stream": True, "messages": [{"role": "user", "content": "Hi"}]}
        async with c.stream("POST", CHAT, json=body) as resp:
            raw = b"".join([c async for c in resp.aiter_raw()])
    events = [e for e in raw.split(b"\n\n") if e]
    assert events[-1] == b"data: [DONE]"
    error = orjson.loads(events[-2].removeprefix(b"data: "))
    assert error["error"]["code"] in {"upstream_unreachable", "upstream_timeout"}


async def test_body_over_the_limit_is_413(tmp_path: Path, stub: tuple[StubUpstream, str]) -> None:

    settings = write_configs(tmp_path, stub[1]).model_copy(update={"max_body_bytes": 1000})
    app = make_app(settings)
    async with (
        in_process(app) as c,
    ):
        resp = await c.post(CHAT, json={"model": "auto", "messages": [{"role": "user", "content": "x" * 2000}]})
    assert_envelope(resp, 413, "request_too_large")


async def test_unknown_route_uses_the_openai_envelope(client: httpx.AsyncClient) -> None:
    assert_envelope(await client.get("/v1/nope"), 404)


async def test_a_router_direct_model_skips_litellm_and_falls_back_to_it(
    tmp_path: Path, stub: tuple[StubUpstream, str]
) -> None:
    import yaml

    upstream, url = stub
    settings = write_configs(tmp_path, url)
    config = yaml.safe_load(settings.litellm_config.read_text())
    for entry in config["model_list"]:
        if entry["model_name"] == "local-small":
            entry["model_info"]["router_direct"] = True
    settings.litellm_config.write_text(yaml.safe_dump(config))
    body = {"model": "local-small", "messages": [{"role": "user", "content": "x"}]}
    async with (
        in_process(make_app(settings)) as c,
    ):
        assert (await c.post(CHAT, json=body)).status_code == 200
    # Straight to the backend: the backend's own model name and key, not LiteLLM's master key.
    assert upstream.requests[-1]["model"] == "local-small"
    assert upstream.headers[-1]["Authorization"] == "Bearer sk-local-no-key"

    # The backend's direct address is down: the same model is reached through LiteLLM.
    for entry in config["model_list"]:
        if entry["model_name"] == "local-small":
            entry["litellm_params"]["api_base"] = "http://127.0.0.1:9/v1"
    settings.litellm_config.write_text(yaml.safe_dump(config))
    settings = settings.model_copy(update={"probe_interval_s": 3600})
    app = make_app(settings)
    async with (
        in_process(app) as c,
    ):
        from src.router.availability import AvailabilitySnapshot
        from src.router.policy import ModelState

        # The backend went down after the last probe, which still says it is up.
        snap = await app.state.monitor.current()
        app.state.monitor._snapshot = AvailabilitySnapshot(
            True, "ok", {**snap.models, "local-small": ModelState(True, "probed up")}, snap.taken_at
        )
        resp = await c.post(CHAT, json=body)
    assert resp.status_code == 200
    assert upstream.headers[-1]["Authorization"] == f"Bearer {MASTER_KEY}"


def test_router_direct_is_refused_for_a_provider_that_needs_translation() -> None:
    from src.router.catalog import parse_catalog
    from src.router.config_errors import ConfigError

    with pytest.raises(ConfigError, match="router_direct"):
        parse_catalog(
            {
                "model_list": [
                    {
                        "model_name": "c",
                        "litellm_params": {"model": "anthropic/claude"},
                        "model_info": {"router_direct": True},
                    }
                ]
            },
            source="x.yaml",
        )


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"[" * 5000 + b"]" * 5000, "invalid_json"),  # nesting deeper than the parser allows
        (b'{"model": "auto", "messages": [{"role": "user", "content": "\xff\xfe"}]}', "invalid_json"),  # not UTF-8
        (b'{"model": 7, "messages": [{"role": "user", "content": "x"}]}', "invalid_request"),
        (b'{"model": "auto", "messages": "hello"}', "invalid_request"),
        (b'{"model": "auto", "messages": [1, 2]}', "invalid_request"),
        (b'{"model": "auto", "messages": [{"role": "user", "content": 5}]}', "invalid_request"),
        (b'{"model": "auto", "stream": "yes", "messages": [{"role": "user", "content": "x"}]}', "invalid_request"),
        (
            b'{"model": "auto", "messages": [' + b",".join([b'{"role":"user","content":"x"}'] * 10_001) + b"]}",
            "invalid_request",
        ),
    ],
)
async def test_hostile_bodies_get_a_clear_4xx(client: httpx.AsyncClient, raw: bytes, code: str) -> None:
    resp = await client.post(CHAT, content=raw, headers={"content-type": "application/json"})
    assert_envelope(resp, 400, code)


async def test_a_client_that_disconnects_cancels_the_upstream_request(
    settings: Settings, stub: tuple[StubUpstream, str]
) -> None:
    upstream, _ = stub
    upstream.mode = "hang"
    slow = settings.model_copy(update={"upstream_read_timeout_s": 60.0})
    async with running_router(make_app(slow)) as base, httpx.AsyncClient(base_url=base, timeout=0.5) as c:
        with pytest.raises(httpx.ReadTimeout):
            await c.post(CHAT, json={"model": "auto", "messages": [{"role": "user", "content": "x"}]})
        await asyncio.wait_for(upstream.disconnected.wait(), timeout=5)


async def test_a_client_that_leaves_a_stream_cancels_the_upstream_stream(
    settings: Settings, stub: tuple[StubUpstream, str]
) -> None:
    upstream, _ = stub
    upstream.mode = "slow_stream"
    async with running_router(make_app(settings)) as base, httpx.AsyncClient(base_url=base) as c:
        body = {"model": "auto", "stream": True, "messages": [{"role": "user", "content": "Hi"}]}
        async with c.stream("POST", CHAT, json=body) as resp:
            await resp.aiter_raw().__anext__()  # read one event, then hang up
        # The upstream is still holding the rest of its stream: it sees the router hang up too.
        await asyncio.wait_for(upstream.disconnected.wait(), timeout=5)


async def test_malformed_sse_from_upstream_is_relayed_without_breaking_the_router(
    settings: Settings, stub: tuple[StubUpstream, str]
) -> None:
    stub[0].mode = "garbage"
    async with running_router(make_app(settings)) as base, httpx.AsyncClient(base_url=base) as c:
        body = {"model": "auto", "stream": True, "messages": [{"role": "user", "content": "Hi"}]}
        async with c.stream("POST", CHAT, json=body) as resp:
            raw = b"".join([chunk async for chunk in resp.aiter_raw()])
        assert b"data: {this is not json" in raw and raw.endswith(b"data: [DONE]\n\n")
        stub[0].mode = "ok"
        again = await c.post(CHAT, json={"model": "auto", "messages": [{"role": "user", "content": "x"}]})
        assert again.status_code == 200


async def test_unknown_fields_are_dropped_by_default_and_refused_in_strict_mode(
    tmp_path: Path, stub: tuple[StubUpstream, str]
) -> None:

    body = {"model": "auto", "messages": [{"role": "user", "content": "x"}], "frobnicate": 1}
    for strict, expected in ((False, 200), (True, 400)):
        settings = write_configs(tmp_path, stub[1]).model_copy(update={"strict_request_fields": strict})
        async with (
            in_process(make_app(settings)) as c,
        ):
            resp = await c.post(CHAT, json=body)
        assert resp.status_code == expected
    err = assert_envelope(resp, 400, "unknown_field")
    assert err["param"] == "frobnicate" and "temperature" in str(err["message"])


async def test_count_tokens_forwards_for_the_routed_model_and_never_answers_zero(
    client: httpx.AsyncClient, stub: tuple[StubUpstream, str]
) -> None:
    upstream, _ = stub
    body = {"model": "claude-opus-5-5", "messages": [{"role": "user", "content": "Hi"}], "thinking": {"type": "x"}}
    headers = {"anthropic-version": "2023-06-01", "anthropic-beta": "claude-code-20250219"}
    ok = await client.post("/v1/messages/count_tokens", json=body, headers={**headers, "x-api-key": "client-own"})
    assert ok.status_code == 200 and ok.json() == {"input_tokens": 42}
    sent = upstream.requests[-1]
    assert sent["model"] == "local-small" and "thinking" not in sent  # routed, and adapted for that model
    assert upstream.headers[-1]["anthropic-beta"] == "claude-code-20250219"
    assert "x-api-key" not in {h.lower() for h in upstream.headers[-1]}
    assert upstream.headers[-1]["Authorization"] == f"Bearer {MASTER_KEY}"
    upstream.mode = "zero_count"
    zero = await client.post("/v1/messages/count_tokens", json=body, headers=headers)
    assert zero.status_code == 502
    assert zero.json()["type"] == "error" and zero.json()["error"]["type"] == "api_error"
    assert "could not count" in zero.json()["error"]["message"]


async def test_a_request_too_large_for_a_named_model_is_refused_before_sending(
    client: httpx.AsyncClient, stub: tuple[StubUpstream, str]
) -> None:
    upstream, _ = stub
    big = {"model": "local-small", "max_tokens": 5, "messages": [{"role": "user", "content": "word " * 8000}]}
    resp = await client.post("/v1/messages", json=big)
    assert resp.status_code == 400
    assert resp.json()["error"]["message"].startswith("prompt is too long: ~10000 tokens")
    assert upstream.requests == []


async def test_an_unreachable_litellm_is_reported_without_its_address(tmp_path: Path) -> None:
    settings = write_configs(tmp_path, "http://127.0.0.1:9")  # nothing listens there
    async with in_process(make_app(settings)) as c:
        resp = await c.post(CHAT, json={"model": "local-small", "messages": [{"role": "user", "content": "x"}]})
    assert resp.status_code in (502, 503), resp.text
    assert "127.0.0.1" not in resp.text and ":9" not in resp.text


def test_upstream_error_messages_keep_their_words_but_not_their_addresses() -> None:
    raw = orjson.dumps(
        {
            "error": {
                "message": "Connection error to http://10.1.2.3:8000/v1/chat/completions (host 10.1.2.3:8000)",
                "type": "internal_server_error",
                "param": None,
                "code": "500",
            }
        }
    )
    err = orjson.loads(upstream_error_body(raw))["error"]
    assert err == {
        "message": "Connection error to [address] (host [address])",
        "type": "internal_server_error",
        "param": None,
        "code": "500",
    }
    assert (
        "10.1.2.3"
        not in orjson.loads(upstream_error_body(b"<html>bad gateway at 10.1.2.3:80</html>"))["error"]["message"]
    )
