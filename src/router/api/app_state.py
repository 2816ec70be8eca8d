"""What the HTTP handlers may reach, typed: `RouterState` (built by `create_app`) and the
`Services` its lifespan opens. Handlers get them from the request with `router_state()` and
`services()` instead of reading untyped `app.state.*` attributes."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from src.router.core.auth import Authenticator
from src.router.core.errors import RouterError
from src.router.flow.chat import ChatService
from src.router.settings import Settings
from src.router.state.availability import AvailabilityMonitor
from src.router.state.breaker import CircuitBreaker
from src.router.state.budget import BudgetTracker
from src.router.state.load import LoadMonitor
from src.router.state.metrics import Metrics, StateCollector
from src.router.state.rules_store import RulesStore


@dataclass(frozen=True, slots=True)
class Services:
    """The collaborators the lifespan opens (and closes)."""

    rules: RulesStore
    availability: AvailabilityMonitor
    load: LoadMonitor
    chat: ChatService
    budget: BudgetTracker
    breaker: CircuitBreaker
    state_collector: StateCollector


@dataclass(slots=True)
class RouterState:
    settings: Settings
    auth: Authenticator
    metrics: Metrics
    services: Services | None = None  # set while the lifespan runs


def router_state(request: Request) -> RouterState:
    state = request.app.state.router
    assert isinstance(state, RouterState)
    return state


def services(request: Request) -> Services:
    opened = router_state(request).services
    if opened is None:  # a request before startup finished (or after shutdown began)
        raise RouterError("The router is not started.")
    return opened
