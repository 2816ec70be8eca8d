"""Reading YAML config files and turning validation failures into precise messages.

A message names the file, the key path, the bad value and what is allowed, in the manner of
starlette's `Config 'X' has value 'Y'. Not a valid bool.`
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

# A YAML bomb expands aliases exponentially; real config files are a few kB.
MAX_CONFIG_BYTES = 1024 * 1024


class ConfigError(ValueError):
    """A config file that cannot be used; the message says exactly why."""


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def format_validation_error(exc: ValidationError, *, source: str) -> str:
    lines = [f"{source}: {exc.error_count()} error(s)"]
    for err in exc.errors(include_url=False):
        value = err.get("input")
        shown = repr(value) if not isinstance(value, dict | list) else type(value).__name__
        if len(shown) > 80:
            shown = shown[:77] + "..."
        lines.append(f"  {_loc(tuple(err['loc']))}: {err['msg']} (got {shown})")
    return "\n".join(lines)


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors and aliases: a "billion laughs" YAML bomb is made of
    them, and no config file of ours needs them."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]  # PyYAML stubs leave it untyped
            raise yaml.composer.ComposerError(None, None, "aliases are not allowed in this file", event.start_mark)
        return super().compose_node(parent, index)


def load_yaml_file(path: Path) -> Any:
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found") from exc
    except OSError as exc:  # unreadable (permissions), a directory, an I/O error
        raise ConfigError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: {len(raw)} bytes, larger than the {MAX_CONFIG_BYTES} allowed")
    try:
        return yaml.load(raw, Loader=_NoAliasLoader)  # noqa: S506  (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    except RecursionError as exc:  # PyYAML composes nested collections recursively
        raise ConfigError(f"{path}: nested too deeply to be a config file") from exc
