"""The router's layers hold: the pure core and the wire formats import no web framework, HTTP
client, Prometheus or SQLite, and no layer above them (checked in a fresh interpreter, so what
other tests imported does not count)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROUTER = Path(__file__).resolve().parents[2] / "src" / "router"
# Modules that do I/O or serve HTTP; the pure layers must not pull in any of them.
FORBIDDEN = ("fastapi", "starlette", "uvicorn", "aiohttp", "httpx", "prometheus_client", "sqlite3", "psutil", "pynvml")
LAYERS_ABOVE = (
    "src.router.state",
    "src.router.upstream",
    "src.router.flow",
    "src.router.api",
    "src.router.policy_router",
)


def _imported_by(modules: list[str]) -> set[str]:
    code = (
        f"import importlib, json, sys\nfor m in {modules!r}: importlib.import_module(m)\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROUTER.parents[1]
    )
    return set(json.loads(out.stdout))


@pytest.mark.parametrize("layer", ["core", "wire"])
def test_a_pure_layer_imports_no_web_http_prometheus_or_sqlite_module(layer: str) -> None:
    modules = sorted(f"src.router.{layer}.{p.stem}" for p in (ROUTER / layer).glob("*.py") if p.stem != "__init__")
    assert modules, f"no modules found under src/router/{layer}"
    loaded = _imported_by(modules)
    assert not {m for m in loaded if m.split(".")[0] in FORBIDDEN}
    assert not {m for m in loaded if m.startswith(LAYERS_ABOVE)}


def test_the_check_sees_a_forbidden_import() -> None:
    # The check itself can fail: importing the HTTP layer pulls in the web framework.
    assert "fastapi" in _imported_by(["src.router.api.openai_routes"])
