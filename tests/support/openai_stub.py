"""An OpenAI-compatible upstream for in-process tests, speaking the recorded real formats.

Streams replay `tests/fixtures/openai_sse_1.txt` (a real OpenAI stream, copied from
shared/fixtures with its source header); JSON answers have the real chat.completion shape.
The stub records every request it gets, and its behaviour is switched per test:

    ok | status:<code> | hang | cut | slow_stream | garbage
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def recorded_sse_events(name: str = "openai_sse_1.txt") -> list[bytes]:
    """The `data:` events of a recorded stream, each with its blank-line terminator."""
    lines = (FIXTURES / name).read_bytes().split(b"\n")
    return [line + b"\n\n" for line in lines if line.startswith(b"data: ")]


def completion(model: str, content: str = "Hello from the stub.") -> dict[str, Any]:
    return {
        "id": f"chatcmpl-stub-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": 1747148050,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
    }


@dataclass
class StubUpstream:
    mode: str = "ok"
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    disconnected: asyncio.Event = field(default_factory=asyncio.Event)
    models: list[str] = field(default_factory=lambda: ["local-small", "llama-cpp-7b"])
    fail_models: set[str] = field(default_factory=set)  # these answer 503, as an overloaded provider

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/messages/count_tokens", self._count_tokens)
        return app

    async def _count_tokens(self, request: web.Request) -> web.Response:
        """LiteLLM's count_tokens answer; mode `zero_count`: the `0` a broken counter gives."""
        body = orjson.loads(await request.read())
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        return web.json_response({"input_tokens": 0 if self.mode == "zero_count" else 42})

    async def _models(self, request: web.Request) -> web.Response:
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "stub"} for m in self.models]
        return web.json_response({"object": "list", "data": data})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = orjson.loads(await request.read())
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        mode = self.mode
        if body.get("model") in self.fail_models:
            mode = "status:503"
        if mode.startswith("status:"):
            code = int(mode.split(":", 1)[1])
            err = {"error": {"message": f"stub says {code}", "type": "stub_error", "param": None, "code": str(code)}}
            headers = {"Retry-After": "1"} if code == 429 else None
            return web.json_response(err, status=code, headers=headers)
        if mode == "hang":
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:  # the router closed the connection: the client left
                self.disconnected.set()
                raise
        if not body.get("stream"):
            return web.json_response(completion(body["model"]))
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        events = recorded_sse_events()
        if not (body.get("stream_options") or {}).get("include_usage"):
            events = [e for e in events if b'"choices":[]' not in e]  # as OpenAI: usage only on request
        try:
            for i, event in enumerate(events):
                await resp.write(event)
                if i == 0 and mode == "slow_stream":
                    # Hold the rest until the test has seen the first event through the router.
                    await asyncio.wait_for(self.release.wait(), timeout=10)
                if mode == "garbage" and i == 1:
                    await resp.write(b"data: {this is not json\n\nevent: nonsense\n\n: a comment\n\n")
                if mode == "cut" and i == 3:
                    request.transport.close()  # type: ignore[union-attr]  # cut the stream mid-way
                    return resp
        except (ConnectionResetError, asyncio.CancelledError):
            self.disconnected.set()
            raise
        await resp.write_eof()
        return resp


async def serve(stub: StubUpstream) -> tuple[web.AppRunner, str]:
    # handler_cancellation: a handler sees its client (the router) go away, as a real server does.
    runner = web.AppRunner(stub.app(), shutdown_timeout=0.5, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # aiohttp has no public accessor
    return runner, f"http://127.0.0.1:{port}"
