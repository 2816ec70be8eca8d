"""Every error a route can raise, rendered once: the router's own tree (`errors.py`),
FastAPI's validation errors, Starlette's HTTP errors and anything unforeseen — in the
envelope of the API the client called."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from src.router.api.responses import MESSAGES_PATH, error_response, json_response
from src.router.core.errors import InvalidRequest, RouterError, error_envelope
from src.router.wire.anthropic_api import error_envelope as anthropic_error_envelope


async def _router_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RouterError)
    return error_response(exc, request)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    param = ".".join(str(p) for p in first.get("loc", ())[1:]) or None
    return error_response(InvalidRequest(f"Invalid request: {first.get('msg', 'bad input')}", param=param), request)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if request.url.path.startswith(MESSAGES_PATH):
        return json_response(anthropic_error_envelope(exc.status_code, str(exc.detail)), exc.status_code)
    kind = "invalid_request_error" if exc.status_code < 500 else "server_error"
    return json_response(error_envelope(str(exc.detail), kind, code=str(exc.status_code)), exc.status_code)


async def _unexpected(request: Request, exc: Exception) -> Response:
    return error_response(RouterError("Internal router error."), request)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RouterError, _router_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
