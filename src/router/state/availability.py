"""Which models can be chosen right now, probed in the background for free.

A model is available when LiteLLM is up and
- its key, given as `os.environ/NAME` in the LiteLLM config, is set, and
- its local backend (an `api_base`) answers `GET {api_base}/models`.
Cloud models are never probed with a completion (that would be billed); a present key is
taken as available, and failures at request time are handled by fallbacks.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import structlog

from src.router.core.catalog import Catalog, CatalogModel
from src.router.core.errors import UpstreamError
from src.router.core.policy import ModelState
from src.router.state.background import cancel, every
from src.router.upstream.client import Upstream

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class AvailabilitySnapshot:
    litellm_up: bool
    litellm_detail: str
    models: Mapping[str, ModelState]
    taken_at: float  # time.monotonic()
    litellm_models: tuple[str, ...] = field(default=())


class AvailabilityMonitor:
    def __init__(
        self,
        catalog: Catalog,
        upstream: Upstream,
        *,
        litellm_base_url: str,
        litellm_key: str | None,
        environ: Callable[[], Mapping[str, str]],
        interval_s: float,
        timeout_s: float,
    ) -> None:
        self.catalog = catalog
        self._upstream = upstream
        self._litellm = litellm_base_url.rstrip("/")
        self._key = litellm_key
        self._environ = environ
        self._interval = interval_s
        self._timeout = timeout_s
        self._snapshot: AvailabilitySnapshot | None = None
        self._first = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def snapshot(self) -> AvailabilitySnapshot | None:
        return self._snapshot

    async def current(self) -> AvailabilitySnapshot:
        """The latest snapshot; waits for the very first probe if none has finished yet."""
        if self._snapshot is None:
            await self._first.wait()
        assert self._snapshot is not None
        return self._snapshot

    def start(self) -> None:
        self._task = asyncio.create_task(
            every(self._interval, self.refresh, what="availability_probe"), name="availability-monitor"
        )

    async def stop(self) -> None:
        await cancel(self._task)

    async def refresh(self) -> AvailabilitySnapshot:
        self._snapshot = await self.probe()
        self._first.set()
        return self._snapshot

    async def _probe_backend(self, model: CatalogModel) -> ModelState:
        assert model.api_base is not None
        url = model.api_base.rstrip("/") + "/models"
        try:
            status, data = await self._upstream.get_json(url, None, self._timeout)
        except UpstreamError as exc:
            return ModelState(False, f"backend down: {exc.message}")
        if status >= 500:
            return ModelState(False, f"backend unhealthy: GET /models -> {status}")
        # No address in the reason: clients see reasons.
        window, renders_tools = await self._backend_facts(model, data)
        return ModelState(True, f"backend up (GET /models -> {status})", window, renders_tools)

    async def _backend_facts(self, model: CatalogModel, models: object) -> tuple[int | None, bool]:
        """(context window, whether its chat template renders tool schemas), as the backend
        reports them: vLLM's `max_model_len` in its model list; llama-server's per-slot `n_ctx`
        and `chat_template_caps.supports_tools` from `GET /props` (free, like the probe). Unknown:
        (None, True) — no window check, tools counted."""
        if isinstance(models, dict) and isinstance(models.get("data"), list):
            lengths = [m.get("max_model_len") for m in models["data"] if isinstance(m, dict)]
            if lengths and isinstance(lengths[0], int):
                return lengths[0], True
        assert model.api_base is not None
        base = model.api_base.rstrip("/")
        props = (base[: -len("/v1")] if base.endswith("/v1") else base) + "/props"
        try:
            status, data = await self._upstream.get_json(props, None, self._timeout)
        except UpstreamError:
            return None, True
        if status != 200 or not isinstance(data, dict):
            return None, True
        settings = data.get("default_generation_settings")
        n_ctx = settings.get("n_ctx") if isinstance(settings, dict) else None
        caps = data.get("chat_template_caps")
        renders_tools = not (isinstance(caps, dict) and caps.get("supports_tools") is False)
        return (n_ctx if isinstance(n_ctx, int) and n_ctx > 0 else None), renders_tools

    async def probe(self) -> AvailabilitySnapshot:
        env = self._environ()
        litellm_models: tuple[str, ...] = ()
        try:
            status, data = await self._upstream.get_json(f"{self._litellm}/v1/models", self._key, self._timeout)
            litellm_up = status == 200
            detail = "ok" if litellm_up else f"GET /v1/models -> {status}"
            if litellm_up and isinstance(data, dict) and isinstance(data.get("data"), list):
                litellm_models = tuple(str(m.get("id")) for m in data["data"] if isinstance(m, dict) and m.get("id"))
        except UpstreamError as exc:
            litellm_up, detail = False, exc.message

        local = [m for m in self.catalog.models if m.api_base is not None]
        probed = dict(
            zip([m.name for m in local], await asyncio.gather(*(self._probe_backend(m) for m in local)), strict=True)
        )
        states: dict[str, ModelState] = {}
        for model in self.catalog.models:
            missing = model.missing_key(env)
            if missing:
                states[model.name] = ModelState(False, f"no key: {missing} is not set")
            elif not litellm_up:
                states[model.name] = ModelState(False, f"LiteLLM proxy unavailable: {detail}")
            elif model.name in probed:
                states[model.name] = probed[model.name]
            else:
                states[model.name] = ModelState(True, "key present (cloud models are not probed: probes must be free)")
        return AvailabilitySnapshot(litellm_up, detail, states, time.monotonic(), litellm_models)
