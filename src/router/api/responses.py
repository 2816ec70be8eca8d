"""What every route shares: reading a bounded body, rendering JSON, a flow's result and an
error in the envelope of the API the client called."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from src.router.api.disconnect import RelayResponse
from src.router.core.errors import BodyTooLarge, RouterError
from src.router.flow.chat import ChatResult
from src.router.wire.anthropic_api import ANTHROPIC

MESSAGES_PATH = "/v1/messages"


def json_response(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json", headers=headers)


def error_response(exc: RouterError, request: Request | None = None) -> Response:
    """The error in the envelope of the API the client called (Anthropic's on /v1/messages)."""
    if request is not None and request.url.path.startswith(MESSAGES_PATH):
        return Response(ANTHROPIC.error_body(exc), status_code=exc.status_code, media_type="application/json")
    return json_response(exc.envelope(), exc.status_code)


def result_response(result: ChatResult) -> Response:
    if result.stream is not None:
        return RelayResponse(
            result.stream,
            status_code=result.status,
            media_type=result.content_type,
            headers={**result.headers, "Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    return Response(result.body, status_code=result.status, media_type=result.content_type, headers=result.headers)


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"Request body of {declared} bytes is over the {limit}-byte limit.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"Request body is over the {limit}-byte limit.")
        chunks.append(chunk)
    return b"".join(chunks)
