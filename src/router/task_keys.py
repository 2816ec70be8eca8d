"""Task keys: the one owner of their format, for the coordinator that mints them and the router
that checks them.

    sk-task-v1.<claims>.<signature>

`claims` is base64url (no padding) of a compact JSON object:

    {"t": task id, "s": step (role) or absent, "exp": unix seconds,
     "m": [allowed models] or absent (any), "c": spend ceiling in USD or absent (none)}

and `signature` is HMAC-SHA256(router key, "v1." + claims), hex, first 32 characters. Base64url
has no ".", so task ids may contain any character, dots included. When the router requires
keys (`ROUTER_API_KEYS`), a task key must be signed with one of them, unexpired; its usage is
attributed to `<task>--<step>`; it may call only its models; the router refuses a paid request
that could take the task's spend (all its steps) past the ceiling — the task card's
`max_cost_usd` — and it may read only its own task's `/v1/usage`.

With no router keys (a loopback-only router), any key is accepted, the signature is absent, and
the claims only attribute usage (and are still honoured, expiry included).

The router key's environment variable is `ROUTER_API_KEYS` (comma-separated; the coordinator
signs with the first). `ROUTER_API_KEY`, the coordinator's old name, is read when
`ROUTER_API_KEYS` is unset, and deprecated.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import orjson

PREFIX = "sk-task-"
VERSION = "v1"
DEFAULT_TTL_S = 24 * 3600  # longer than any step's deadline
MAX_KEY_CHARS = 4096
ENV_NAME = "ROUTER_API_KEYS"
DEPRECATED_ENV_NAME = "ROUTER_API_KEY"


class TaskKeyError(ValueError):
    """A task key that is malformed, forged or expired; the message says which (never the key)."""


@dataclass(frozen=True, slots=True)
class TaskClaims:
    task: str
    step: str | None = None
    expires_at: float | None = None  # None: a key of the old format, accepted only without router keys
    models: tuple[str, ...] | None = None  # None: any model
    max_cost_usd: float | None = None

    @property
    def attribution(self) -> str:
        """The ledger's task_key for this key's usage."""
        return f"{self.task}--{self.step}" if self.step else self.task

    def allows_model(self, model: str) -> bool:
        return self.models is None or model in self.models

    def owns_usage(self, task_key: str) -> bool:
        """Whether this key may read the usage recorded under `task_key` (its own task's only)."""
        return task_key in (self.attribution, self.task) or task_key.startswith(self.task + "--")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(router_key: str, signed: str) -> str:
    return hmac.new(router_key.encode(), signed.encode(), hashlib.sha256).hexdigest()[:32]


def mint(
    router_key: str | None,
    task: str,
    step: str | None = None,
    *,
    models: tuple[str, ...] | None = None,
    max_cost_usd: float | None = None,
    ttl_s: float = DEFAULT_TTL_S,
    now: float | None = None,
) -> str:
    """A task key, signed when a router key is given."""
    if not task:
        raise ValueError("a task key needs a task id")
    claims: dict[str, object] = {"t": task, "exp": math.ceil((time.time() if now is None else now) + ttl_s)}
    if step:
        claims["s"] = step
    if models is not None:
        claims["m"] = list(models)
    if max_cost_usd is not None:
        claims["c"] = max_cost_usd
    body = f"{VERSION}.{_b64(orjson.dumps(claims))}"
    return PREFIX + (f"{body}.{_signature(router_key, body)}" if router_key else body)


def _decode(payload: str) -> TaskClaims:
    try:
        data = orjson.loads(_unb64(payload))
    except (binascii.Error, ValueError) as exc:
        raise TaskKeyError("Malformed task key.") from exc
    if not isinstance(data, dict):
        raise TaskKeyError("Malformed task key.")
    task, step, exp, models, ceiling = (data.get(k) for k in ("t", "s", "exp", "m", "c"))
    if (
        not isinstance(task, str)
        or not task
        or (step is not None and not isinstance(step, str))
        or isinstance(exp, bool)
        or not isinstance(exp, int | float)
        or (models is not None and not (isinstance(models, list) and all(isinstance(m, str) for m in models)))
        or (ceiling is not None and (isinstance(ceiling, bool) or not isinstance(ceiling, int | float) or ceiling < 0))
    ):
        raise TaskKeyError("Malformed task key.")
    return TaskClaims(
        task,
        step or None,
        float(exp),
        tuple(models) if models is not None else None,
        float(ceiling) if ceiling is not None else None,
    )


def read(token: str) -> TaskClaims | None:
    """The claims of a task key, unverified (the coordinator reading its own keys); None if the
    token is not a task key."""
    if not token.startswith(PREFIX) or len(token) > MAX_KEY_CHARS:
        return None
    rest = token[len(PREFIX) :]
    if rest.startswith(VERSION + "."):
        try:
            return _decode(rest.split(".")[1])
        except TaskKeyError:
            return None
    task = rest.rpartition(".")[0] if "." in rest else rest  # the old `sk-task-<id>[.<sig>]`
    return TaskClaims(task) if task and task.isprintable() else None


def verify(token: str, router_keys: tuple[str, ...], *, now: float | None = None) -> TaskClaims | None:
    """The claims of a task key the router may honour; None if the token is not a task key.
    TaskKeyError when it is one but malformed, unsigned or forged (router keys configured), or expired."""
    if not token.startswith(PREFIX):
        return None
    if len(token) > MAX_KEY_CHARS:
        raise TaskKeyError("Malformed task key.")
    rest = token[len(PREFIX) :]
    if not rest.startswith(VERSION + "."):
        if router_keys:
            raise TaskKeyError("Task key of an old format (no expiry, no scope): have the coordinator mint a new one.")
        return read(token)
    parts = rest.split(".")
    if len(parts) not in (2, 3):
        raise TaskKeyError("Malformed task key.")
    claims = _decode(parts[1])
    if router_keys:
        given = parts[2] if len(parts) == 3 else ""
        signed = f"{parts[0]}.{parts[1]}"
        ok = False
        for key in router_keys:  # no early exit: the time taken does not say which key was close
            ok |= hmac.compare_digest(given.encode(), _signature(key, signed).encode())
        if not ok:
            raise TaskKeyError("Invalid task key: its signature matches no router key.")
    assert claims.expires_at is not None
    if (time.time() if now is None else now) >= claims.expires_at:
        raise TaskKeyError(f"Task key for task {claims.task!r} has expired: mint a new one.")
    return claims


def router_key_from_env(environ: Mapping[str, str]) -> str | None:
    """The key the coordinator signs task keys and reads usage with: the first of ROUTER_API_KEYS,
    else the deprecated ROUTER_API_KEY."""
    keys = [k.strip() for k in environ.get(ENV_NAME, "").split(",") if k.strip()]
    if keys:
        return keys[0]
    old = environ.get(DEPRECATED_ENV_NAME, "").strip()
    if old:
        warnings.warn(
            f"{DEPRECATED_ENV_NAME} is deprecated: set {ENV_NAME} (the router's own name for its keys)",
            DeprecationWarning,
            stacklevel=2,
        )
        return old
    return None
