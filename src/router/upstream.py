"""Forwarding a request to an upstream: the one network edge of the hot path.

`Upstream` is the narrow interface the router depends on; `AiohttpUpstream` implements it
with one pooled aiohttp session (measured here: aiohttp's client sustains ~10x the request
rate of httpx's in a pass-through). Connection failures and timeouts are mapped once, here,
to the router's error tree.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import aiohttp
import structlog

from src.router.errors import UpstreamTimeout, UpstreamUnreachable

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Target:
    """Where a model is reached: a base URL ending in /v1, its bearer key, the model to send."""

    base_url: str
    api_key: str | None
    model: str


# Upstream response headers that mean something to a client (rate limits, LiteLLM's cost and
# call id); hop-by-hop and framing headers are the router's own business. Never passed on:
# where a backend lives, and the master key's total spend (every client's, not this one's).
PASSTHROUGH_PREFIXES = ("x-litellm-", "x-ratelimit-", "retry-after", "openai-", "x-request-id", "anthropic-")
WITHHELD_HEADERS = frozenset({"x-litellm-model-api-base", "x-litellm-key-spend"})


class UpstreamResponse(Protocol):
    status: int
    content_type: str
    passthrough_headers: dict[str, str]

    async def read(self) -> bytes: ...

    def iter_chunks(self) -> AsyncIterator[bytes]: ...

    def close(self) -> None:
        """Drop the connection: the upstream sees the client go away."""


class Upstream(Protocol):
    async def post(
        self, target: Target, path: str, body: bytes, headers: Mapping[str, str] | None = None
    ) -> UpstreamResponse:
        """POST the body to `target.base_url + path` (`/chat/completions`, `/messages`, ...) with
        the target's key and the given extra headers; return once the status line and headers
        have arrived."""

    async def get_json(self, url: str, api_key: str | None, timeout_s: float) -> tuple[int, object]:
        """A small GET for probes and listings (never a billed call)."""

    async def get_text(self, url: str, timeout_s: float) -> tuple[int, str]:
        """A small GET whose body is text (Prometheus metrics)."""


def _path(url: str) -> str:
    """A URL without its host: probe failures end up in messages that clients can read."""
    return urlsplit(url).path or "/"


class _AiohttpResponse:
    def __init__(self, resp: aiohttp.ClientResponse) -> None:
        self._resp = resp
        self.status = resp.status
        self.content_type = resp.headers.get("Content-Type", "application/json")
        self.passthrough_headers = {
            k.lower(): v
            for k, v in resp.headers.items()
            if k.lower().startswith(PASSTHROUGH_PREFIXES) and k.lower() not in WITHHELD_HEADERS
        }

    async def read(self) -> bytes:
        try:
            return await self._resp.read()
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise UpstreamTimeout("The upstream stopped sending before the response was complete.") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamUnreachable(f"The upstream connection failed mid-response ({type(exc).__name__}).") from exc
        finally:
            self._resp.release()

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._resp.content.iter_any():
                yield chunk
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise UpstreamTimeout("The upstream stopped sending mid-stream.") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamUnreachable(f"The upstream connection failed mid-stream ({type(exc).__name__}).") from exc
        finally:
            self._resp.close()

    def close(self) -> None:
        self._resp.close()


class AiohttpUpstream:
    def __init__(self, session: aiohttp.ClientSession, *, connect_timeout_s: float, read_timeout_s: float) -> None:
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout_s, sock_read=read_timeout_s)

    @staticmethod
    def new_session() -> aiohttp.ClientSession:
        # One pool for every upstream; limit 0 = no artificial cap on concurrent connections.
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300),
            skip_auto_headers=("User-Agent",),
        )

    async def post(
        self, target: Target, path: str, body: bytes, headers: Mapping[str, str] | None = None
    ) -> UpstreamResponse:
        sent: dict[str, str] = {**(headers or {}), "Content-Type": "application/json"}
        if target.api_key:
            sent["Authorization"] = f"Bearer {target.api_key}"
        url = target.base_url.rstrip("/") + path
        try:
            resp = await self._session.post(url, data=body, headers=sent, timeout=self._timeout)
        # Error messages reach clients: they name the model, never the address (logged instead).
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            log.warning("upstream_timeout", url=url)
            raise UpstreamTimeout(f"The upstream for {target.model!r} did not answer in time.") from exc
        except aiohttp.ClientError as exc:
            log.warning("upstream_unreachable", url=url, error=str(exc))
            raise UpstreamUnreachable(
                f"The upstream for {target.model!r} is unreachable ({type(exc).__name__})."
            ) from exc
        return _AiohttpResponse(resp)

    async def get_json(self, url: str, api_key: str | None, timeout_s: float) -> tuple[int, object]:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        try:
            async with self._session.get(url, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout_s)) as resp:
                try:
                    data: object = await resp.json(content_type=None)
                except ValueError:
                    data = None
                return resp.status, data
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise UpstreamTimeout(f"GET {_path(url)} did not answer within {timeout_s:g}s") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamUnreachable(f"GET {_path(url)}: unreachable ({type(exc).__name__})") from exc

    async def get_text(self, url: str, timeout_s: float) -> tuple[int, str]:
        try:
            async with self._session.get(url, timeout=aiohttp.ClientTimeout(total=timeout_s)) as resp:
                return resp.status, await resp.text(errors="replace")
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise UpstreamTimeout(f"GET {_path(url)} did not answer within {timeout_s:g}s") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamUnreachable(f"GET {_path(url)}: unreachable ({type(exc).__name__})") from exc
