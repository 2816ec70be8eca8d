"""The OpenAI surface: `/v1/chat/completions`, `/v1/models`, and `/v1/route` (the decision a
chat request would get, explained, without calling a model)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from src.router.api.app_state import router_state, services
from src.router.api.disconnect import unless_disconnected
from src.router.api.responses import json_response, read_body, result_response
from src.router.core.features import parse_body

routes = APIRouter()

# The body is read raw (parsed once with orjson, forwarded as sent); this documents its shape
# for clients and for schemathesis, which exercises the router from this document.
CHAT_REQUEST_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["model", "messages"],
                    "properties": {
                        "model": {"type": "string", "description": "auto, task/<type>, or a LiteLLM model name"},
                        "messages": {
                            "type": "array",
                            "minItems": 1,
                            "items": {
                                "type": "object",
                                "required": ["role"],
                                "properties": {"role": {"type": "string"}, "content": {"type": "string"}},
                            },
                        },
                        "stream": {"type": "boolean"},
                        "max_tokens": {"type": "integer", "minimum": 1},
                    },
                }
            }
        },
    },
}


@routes.post("/v1/chat/completions", openapi_extra=CHAT_REQUEST_DOC)
async def chat_completions(request: Request) -> Response:
    state = router_state(request)
    claims = state.auth.check(request.headers)
    raw = await read_body(request, state.settings.max_body_bytes)
    result = await unless_disconnected(request.receive, services(request).chat.complete(raw, request.headers, claims))
    if result is None:
        return Response(status_code=499)  # the client is gone; nobody reads this
    return result_response(result)


@routes.get("/v1/models")
async def list_models(request: Request) -> Response:
    router_state(request).auth.check(request.headers)
    return json_response(await services(request).chat.models())


@routes.post("/v1/route", openapi_extra=CHAT_REQUEST_DOC)
async def explain_route(request: Request) -> Response:
    state = router_state(request)
    state.auth.check(request.headers)
    body = parse_body(await read_body(request, state.settings.max_body_bytes))
    routed = await services(request).chat.route(body, request.headers)
    return json_response(routed.decision.explain())
