"""The models the router may choose, read from LiteLLM's own config file.

LiteLLM owns `config/litellm.yaml`, so unknown keys there are LiteLLM's business and are
ignored; the few fields the router relies on are typed and checked. Each model becomes a
`CatalogModel`: its name, provider, where a free liveness probe can reach it, which
environment variable holds its key, and its price per token.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from src.router.config_errors import ConfigError, format_validation_error, load_yaml_file

ENV_PREFIX = "os.environ/"
# Anthropic Messages fields a model may be declared unable to take (model_info.router_drop_params).
ANTHROPIC_DROPPABLE = Literal[
    "thinking", "output_config", "context_management", "metadata", "service_tier", "top_k", "mcp_servers", "container"
]
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "0.0.0.0"})  # noqa: S104  (compared, never bound)


class _LiteLLMParams(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str = Field(min_length=1)
    api_base: str | None = None
    api_key: str | None = None


class _ModelInfo(BaseModel):
    model_config = ConfigDict(extra="allow")
    input_cost_per_token: float = Field(default=0.0, ge=0)
    output_cost_per_token: float = Field(default=0.0, ge=0)
    # What LiteLLM lets the model write when a request sets no max_tokens: the router reserves it,
    # and lowers a larger `max_tokens` on /v1/messages to it.
    max_output_tokens: int | None = Field(default=None, ge=1)
    # The router's own key: send this model's requests straight to its OpenAI-compatible
    # api_base (vLLM, llama-server), skipping LiteLLM's hop; LiteLLM stays the fallback.
    router_direct: bool = False
    # LiteLLM's own key for the context window: the router never sends a prompt that cannot fit.
    max_input_tokens: int | None = Field(default=None, gt=0)
    # The router's own key: Anthropic Messages request fields this model cannot take (LiteLLM
    # refuses them with UnsupportedParamsError), removed before the request is forwarded to it.
    # Unset: `LOCAL_DROP_PARAMS` for an OpenAI-compatible backend (openai/, hosted_vllm/), none
    # for other providers; `[]` forwards everything.
    router_drop_params: list[ANTHROPIC_DROPPABLE] | None = None


class _ModelEntry(BaseModel):
    model_config = ConfigDict(extra="allow")
    model_name: str = Field(min_length=1)
    litellm_params: _LiteLLMParams
    model_info: _ModelInfo = Field(default_factory=_ModelInfo)


class _LiteLLMFile(BaseModel):
    model_config = ConfigDict(extra="allow")
    model_list: list[_ModelEntry] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class CatalogModel:
    name: str
    upstream_model: str  # LiteLLM's provider/model string, e.g. "anthropic/claude-sonnet-4-5"
    provider: str  # "openai", "anthropic", "hosted_vllm", ...
    api_base: str | None
    api_key_env: str | None  # NAME when the key is given as os.environ/NAME
    input_cost_per_token: float
    output_cost_per_token: float
    direct: bool = False  # model_info.router_direct
    backend_model: str = ""  # the name the backend itself knows (provider prefix removed)
    api_key: str | None = None  # a literal key from the config (never an os.environ/ reference)
    max_output_tokens: int | None = None  # model_info.max_output_tokens
    max_input_tokens: int | None = None  # the context window, when known
    drop_params: tuple[str, ...] = ()  # Anthropic request fields this model cannot take

    @property
    def priced(self) -> bool:
        return self.input_cost_per_token > 0 or self.output_cost_per_token > 0

    @property
    def is_local(self) -> bool:
        if self.api_base is None:
            return False
        return (urlsplit(self.api_base).hostname or "") in LOOPBACK_HOSTS

    def missing_key(self, environ: Mapping[str, str]) -> str | None:
        """The name of the environment variable this model needs and does not have."""
        if self.api_key_env and not environ.get(self.api_key_env):
            return self.api_key_env
        return None


@dataclass(frozen=True, slots=True)
class Catalog:
    models: tuple[CatalogModel, ...]

    def names(self) -> list[str]:
        return [m.name for m in self.models]

    def get(self, name: str) -> CatalogModel | None:
        for m in self.models:
            if m.name == name:
                return m
        return None

    def windows(self) -> dict[str, int]:
        """Each model's context window, where the config states it."""
        return {m.name: m.max_input_tokens for m in self.models if m.max_input_tokens is not None}


DIRECT_PROVIDERS = frozenset({"openai", "hosted_vllm"})
# What LiteLLM 1.106 refuses on /v1/messages for an OpenAI-compatible backend (llama-server,
# vLLM): Claude Code sends all three on every request.
LOCAL_DROP_PARAMS = ("thinking", "output_config", "context_management")


def _provider(upstream_model: str) -> str:
    head, sep, _ = upstream_model.partition("/")
    return head if sep else "openai"


def parse_catalog(data: object, *, source: str) -> Catalog:
    try:
        parsed = _LiteLLMFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source=source)) from exc
    models = []
    seen: set[str] = set()
    for entry in parsed.model_list:
        if entry.model_name in seen:
            # LiteLLM allows repeated names for load balancing; the router treats them as one model.
            continue
        seen.add(entry.model_name)
        key = entry.litellm_params.api_key
        provider = _provider(entry.litellm_params.model)
        if entry.model_info.router_direct and (provider not in DIRECT_PROVIDERS or not entry.litellm_params.api_base):
            raise ConfigError(
                f"{source}: model_list[{entry.model_name}].model_info.router_direct: true needs an OpenAI-compatible "
                f"backend with api_base (provider one of {', '.join(sorted(DIRECT_PROVIDERS))}); "
                f"got provider {provider!r}, api_base {entry.litellm_params.api_base!r}"
            )
        models.append(
            CatalogModel(
                name=entry.model_name,
                upstream_model=entry.litellm_params.model,
                provider=provider,
                api_base=entry.litellm_params.api_base,
                api_key_env=key[len(ENV_PREFIX) :] if key and key.startswith(ENV_PREFIX) else None,
                input_cost_per_token=entry.model_info.input_cost_per_token,
                output_cost_per_token=entry.model_info.output_cost_per_token,
                direct=entry.model_info.router_direct,
                backend_model=entry.litellm_params.model.partition("/")[2] or entry.litellm_params.model,
                api_key=key if key and not key.startswith(ENV_PREFIX) else None,
                max_output_tokens=entry.model_info.max_output_tokens,
                max_input_tokens=entry.model_info.max_input_tokens,
                drop_params=(
                    tuple(entry.model_info.router_drop_params)
                    if entry.model_info.router_drop_params is not None
                    else LOCAL_DROP_PARAMS
                    if provider in DIRECT_PROVIDERS
                    else ()
                ),
            )
        )
    return Catalog(models=tuple(models))


def load_catalog(path: Path) -> Catalog:
    return parse_catalog(load_yaml_file(path), source=str(path))
