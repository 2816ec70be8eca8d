"""Who may call the router.

With no keys configured (the default: the router listens on 127.0.0.1 only) every local client
is welcome and may send any key of its own. With `ROUTER_API_KEYS` set, a request needs one of
those keys — or a task key the coordinator signed with one (`src/router/task_keys.py` owns that
format: expiry, task, allowed models, spend ceiling) — and admin endpoints need `ADMIN_API_KEY`.
Keys are compared in constant time and never logged.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from src.router.errors import RouterError
from src.router.task_keys import TaskClaims, TaskKeyError, verify


class Unauthorized(RouterError):
    status_code = 401
    error_type = "invalid_request_error"
    code = "invalid_api_key"


class Forbidden(RouterError):
    status_code = 403
    error_type = "permission_error"
    code = "forbidden"


def bearer(headers: Mapping[str, str]) -> str | None:
    auth = headers.get("authorization", "")
    return auth[7:].strip() if auth[:7].lower() == "bearer " else None


def presented_key(headers: Mapping[str, str]) -> str | None:
    """The client's key: `Authorization: Bearer`, or `x-api-key` as Anthropic's clients send it."""
    return bearer(headers) or (headers.get("x-api-key") or "").strip() or None


def _matches_any(token: str, keys: tuple[str, ...]) -> bool:
    ok = False
    for key in keys:  # no early exit: the time taken does not say which key was close
        ok |= hmac.compare_digest(token.encode(), key.encode())
    return ok


class Authenticator:
    def __init__(self, api_keys: tuple[str, ...], admin_key: str | None) -> None:
        self.api_keys = api_keys
        self.admin_key = admin_key

    def check(self, headers: Mapping[str, str]) -> TaskClaims | None:
        """Refuse a caller without a valid key; return the claims of a task key (None for others)."""
        token = presented_key(headers)
        if token is not None:
            try:
                claims = verify(token, self.api_keys)
            except TaskKeyError as exc:
                raise Unauthorized(str(exc)) from None
            if claims is not None:
                return claims
        if not self.api_keys:
            return None
        if token is None:
            raise Unauthorized("Missing API key: send `Authorization: Bearer <key>` (or `x-api-key: <key>`).")
        if _matches_any(token, self.api_keys):
            return None
        raise Unauthorized("Invalid API key.")

    def check_admin(self, headers: Mapping[str, str]) -> None:
        if not self.api_keys and self.admin_key is None:
            return  # a local router with no keys at all: the loopback bind is the boundary
        token = bearer(headers)
        if self.admin_key is None or token is None or not hmac.compare_digest(token.encode(), self.admin_key.encode()):
            raise Forbidden("This endpoint needs the admin key (ADMIN_API_KEY).")
