"""The router's one error tree, rendered at the boundary as the OpenAI error envelope.

    RouterError                      (500, server_error)
    ├── InvalidRequest               (400, invalid_request_error)
    │   ├── InvalidJSON              (400, code=invalid_json)
    │   └── BodyTooLarge             (413, code=request_too_large)
    ├── ModelNotFound                (404, code=model_not_found)
    ├── NoModelAvailable             (503, code=no_model_available)
    │   └── SpendStoreUnreachable    (503, code=spend_store_unreachable)
    ├── LedgerWriteFailed            (500, code=ledger_write_failed)
    └── UpstreamError                (502, upstream_error)
        ├── UpstreamUnreachable      (502, code=upstream_unreachable)
        ├── UpstreamUnavailable      (503, code=upstream_unavailable)
        └── UpstreamTimeout          (504, code=upstream_timeout)

Upstream 4xx/5xx responses that arrive with a body are not exceptions: their message is passed
on in the envelope, with every address in it (URLs, host:port) redacted (`upstream_error_body`).
These classes are for failures the router itself observes.
"""

from __future__ import annotations

import re
from typing import Any

import orjson


class RouterError(Exception):
    status_code = 500
    error_type = "server_error"
    code: str | None = "internal_error"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code

    def envelope(self) -> dict[str, Any]:
        return error_envelope(self.message, self.error_type, param=self.param, code=self.code)


class InvalidRequest(RouterError):
    status_code = 400
    error_type = "invalid_request_error"
    code = "invalid_request"


class InvalidJSON(InvalidRequest):
    code = "invalid_json"


class BodyTooLarge(InvalidRequest):
    status_code = 413
    code = "request_too_large"


class ModelNotFound(RouterError):
    status_code = 404
    error_type = "invalid_request_error"
    code = "model_not_found"


class NoModelAvailable(RouterError):
    status_code = 503
    error_type = "service_unavailable"
    code = "no_model_available"


class SpendStoreUnreachable(NoModelAvailable):
    """Paid models are refused: the shared budget state (Redis) cannot be reached."""

    code = "spend_store_unreachable"


class LedgerWriteFailed(RouterError):
    code = "ledger_write_failed"


class UpstreamError(RouterError):
    status_code = 502
    error_type = "upstream_error"
    code = "upstream_error"


class UpstreamUnreachable(UpstreamError):
    code = "upstream_unreachable"


class UpstreamUnavailable(UpstreamError):
    status_code = 503
    code = "upstream_unavailable"


class UpstreamTimeout(UpstreamError):
    status_code = 504
    code = "upstream_timeout"


def error_envelope(
    message: str, error_type: str, *, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


def error_bytes(exc: RouterError) -> bytes:
    return orjson.dumps(exc.envelope())


def sse_error_event(exc: RouterError) -> bytes:
    """The event that ends a stream which failed after its first byte was sent."""
    return b"data: " + error_bytes(exc) + b"\n\ndata: [DONE]\n\n"


_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>()\[\]{},]+", re.IGNORECASE)
_HOST_PORT = re.compile(r"\b(?:\d{1,3}(?:\.\d{1,3}){3}|localhost)(?::\d{1,5})?\b", re.IGNORECASE)
MAX_UPSTREAM_MESSAGE = 1000


def redact_addresses(text: str) -> str:
    return _HOST_PORT.sub("[address]", _URL.sub("[address]", text))


def upstream_error_body(raw: bytes) -> bytes:
    """An upstream's error response as the envelope, its message kept without addresses."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        data = None
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, dict):
        message = str(err.get("message") or "")
        given_type, given_param = err.get("type"), err.get("param")
        kind = given_type if isinstance(given_type, str) else "upstream_error"
        param = given_param if isinstance(given_param, str) else None
        code = str(err["code"]) if err.get("code") is not None else None
    else:
        message = str(err) if isinstance(err, str) else raw[:MAX_UPSTREAM_MESSAGE].decode("utf-8", "replace")
        kind, param, code = "upstream_error", None, None
    clean = redact_addresses(message)[:MAX_UPSTREAM_MESSAGE] or "The upstream answered with an error."
    return orjson.dumps(error_envelope(clean, kind, param=param, code=code))
