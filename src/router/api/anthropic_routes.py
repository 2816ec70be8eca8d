"""The Anthropic surface: `/v1/messages` (Claude Code) and `/v1/messages/count_tokens`; the
same flow as chat-completions, in Anthropic's format (`anthropic_api.ANTHROPIC`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from src.router.api.app_state import router_state, services
from src.router.api.disconnect import unless_disconnected
from src.router.api.responses import MESSAGES_PATH, read_body, result_response
from src.router.flow.token_count import count_tokens
from src.router.wire.anthropic_api import ANTHROPIC

routes = APIRouter()

MESSAGES_REQUEST_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["model", "messages", "max_tokens"],
                    "properties": {
                        "model": {"type": "string", "description": "auto, task/<type>, a model name, or claude-*"},
                        "messages": {
                            "type": "array",
                            "minItems": 1,
                            "items": {
                                "type": "object",
                                "required": ["role", "content"],
                                "properties": {
                                    "role": {"type": "string", "enum": ["user", "assistant"]},
                                    "content": {"type": "string"},
                                },
                            },
                        },
                        "system": {"type": "string"},
                        "max_tokens": {"type": "integer", "minimum": 1},
                        "stream": {"type": "boolean"},
                    },
                }
            }
        },
    },
}


@routes.post(MESSAGES_PATH, openapi_extra=MESSAGES_REQUEST_DOC)
async def messages(request: Request) -> Response:
    """Anthropic's Messages API (Claude Code): the same flow, Anthropic's format."""
    state = router_state(request)
    claims = state.auth.check(request.headers)
    raw = await read_body(request, state.settings.max_body_bytes)
    flow = services(request).chat.complete(raw, request.headers, claims, ANTHROPIC)
    result = await unless_disconnected(request.receive, flow)
    if result is None:
        return Response(status_code=499)
    return result_response(result)


@routes.post(MESSAGES_PATH + "/count_tokens", openapi_extra=MESSAGES_REQUEST_DOC)
async def messages_count_tokens(request: Request) -> Response:
    state = router_state(request)
    state.auth.check(request.headers)
    raw = await read_body(request, state.settings.max_body_bytes)
    status, body, model = await count_tokens(services(request).chat, raw, request.headers)
    return Response(body, status_code=status, media_type="application/json", headers={"x-router-model": model})
