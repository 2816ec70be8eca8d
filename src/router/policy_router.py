"""The policy router's entry point: `create_app(settings)` wires the parts together.

    uvicorn src.router.policy_router:app --port 5000        (settings from the environment)
    uvicorn src.router.policy_router:create_app --factory   (the same, explicitly)

`app` is built on first access (module `__getattr__`), so importing this module does no I/O
and reads no environment. The collaborators are built in `lifespan.py`; the routes live in
`openai_routes.py`, `anthropic_routes.py` and `ops_routes.py`; errors are rendered by
`error_handlers.py`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from src.router.api import anthropic_routes, error_handlers, openai_routes, ops_routes
from src.router.api.app_state import RouterState
from src.router.api.lifespan import Overrides, lifespan
from src.router.core.auth import Authenticator
from src.router.core.classifier import Classifier
from src.router.settings import Settings
from src.router.state.load import GpuSampler
from src.router.state.metrics import Metrics
from src.router.upstream.client import Upstream


def create_app(
    settings: Settings | None = None,
    *,
    upstream: Upstream | None = None,
    classifier: Classifier | None = None,
    gpu_sampler: GpuSampler | None = None,
    registry: CollectorRegistry | None = None,
    environ: Callable[[], Mapping[str, str]] | None = None,
) -> FastAPI:
    """Build the router. `environ` supplies the variables that say which cloud keys are set
    (default: `.env` overlaid by the process environment, as LiteLLM sees them)."""
    settings = settings or Settings.load(os.environ)
    state = RouterState(
        settings,
        Authenticator(settings.api_keys(), settings.admin_key_value()),
        Metrics(registry if registry is not None else CollectorRegistry()),
    )
    app = FastAPI(
        title="Multi-LLM policy router",
        version="0.1.0",
        lifespan=lifespan(state, Overrides(upstream, classifier, gpu_sampler, environ)),
        docs_url=None,  # /docs and /openapi.json are ops_routes', behind the key check
        redoc_url=None,
        openapi_url=None,
    )
    app.state.router = state
    error_handlers.install(app)
    for surface in (ops_routes, openai_routes, anthropic_routes):
        app.include_router(surface.routes)
    return app


def __getattr__(name: str) -> Any:
    # `uvicorn src.router.policy_router:app` looks up `app`; build it then, not at import.
    if name == "app":
        return create_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
