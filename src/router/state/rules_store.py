"""The rules in force, and replacing them safely: validate first, keep the old on failure."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import structlog

from src.router.core.config_errors import ConfigError
from src.router.core.rules import RulesFile, load_rules

log = structlog.get_logger(__name__)


class RulesStore:
    def __init__(self, path: Path, known_models: Collection[str], known_providers: Collection[str]) -> None:
        self.path = path
        self._known = known_models
        self._providers = known_providers
        self._rules = load_rules(path, known_models=known_models, known_providers=known_providers)

    def current(self) -> RulesFile:
        return self._rules

    def reload(self) -> RulesFile:
        """Load the file again; on a bad file raise ConfigError and keep serving the old rules."""
        try:
            new = load_rules(self.path, known_models=self._known, known_providers=self._providers)
        except ConfigError as exc:
            log.warning("rules_reload_rejected", path=str(self.path), error=str(exc))
            raise
        self._rules = new
        log.info("rules_reloaded", path=str(self.path), rules=len(new.rules))
        return new
