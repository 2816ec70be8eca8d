"""The practical limit of one Python process: the router's web stack and HTTP client, no routing.

FastAPI + uvicorn (uvloop, httptools) receiving, one pooled aiohttp session forwarding the body
unchanged and relaying the answer (streams chunk by chunk).

    UPSTREAM=http://127.0.0.1:9100/v1 uvicorn benchmarks.passthrough:app --port 9101
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from fastapi import FastAPI, Request
from starlette.responses import Response, StreamingResponse


def create_app(upstream: str) -> FastAPI:
    state: dict[str, aiohttp.ClientSession] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state["session"] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        yield
        await state["session"].close()

    app = FastAPI(lifespan=lifespan)

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        body = await request.body()
        resp = await state["session"].post(
            upstream + "/chat/completions", data=body, headers={"Content-Type": "application/json"}
        )
        if resp.headers.get("Content-Type", "").startswith("text/event-stream"):

            async def relay() -> AsyncIterator[bytes]:
                try:
                    async for chunk in resp.content.iter_any():
                        yield chunk
                finally:
                    resp.close()

            return StreamingResponse(relay(), media_type="text/event-stream")
        data = await resp.read()
        resp.release()
        return Response(data, status_code=resp.status, media_type="application/json")

    return app


def __getattr__(name: str) -> object:
    if name == "app":
        return create_app(os.environ["UPSTREAM"])
    raise AttributeError(name)
