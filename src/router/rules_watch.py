"""Noticing that the rules file changed: a cheap mtime/size poll, plus SIGHUP where it exists.

Polling (one `stat` a second) needs no dependency and works on every filesystem, including
editors that replace the file instead of writing it in place.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import structlog

from src.router.background import cancel
from src.router.config_errors import ConfigError
from src.router.rules_store import RulesStore

log = structlog.get_logger(__name__)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


class RulesWatcher:
    def __init__(self, store: RulesStore, *, interval_s: float) -> None:
        self._store = store
        self._interval = interval_s
        self._task: asyncio.Task[None] | None = None
        self._sighup = False

    def reload(self) -> None:
        """Reload; whatever goes wrong, the old rules stay and the watcher keeps watching."""
        try:
            self._store.reload()
        except ConfigError:
            pass  # already logged by the store
        except Exception as exc:  # a bug or an OS failure must not end the watcher
            log.error("rules_reload_failed", path=str(self._store.path), error=f"{type(exc).__name__}: {exc}")

    async def _run(self) -> None:
        last = _stamp(self._store.path)
        while True:
            await asyncio.sleep(self._interval)
            now = _stamp(self._store.path)
            if now != last and now is not None:
                last = now
                self.reload()

    def start(self, *, sighup: bool) -> None:
        self._task = asyncio.create_task(self._run(), name="rules-watcher")
        if sighup and hasattr(signal, "SIGHUP"):
            try:
                asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self.reload)
                self._sighup = True
            except (RuntimeError, ValueError):  # not the main thread: no signal handlers there
                log.info("sighup_reload_unavailable")

    async def stop(self) -> None:
        if self._sighup:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
        await cancel(self._task)
