"""Which request fields reach LiteLLM: the API's own fields plus a short, documented allow-list.

LiteLLM's proxy reads more than the OpenAI/Anthropic request body defines: `fallbacks`,
`context_window_fallbacks`, `router_settings_override`, `mock_response`, `api_base`, per-request
prices (`input_cost_per_token`) and many more. Forwarded as sent, they let a client pick a
model the router did not choose (`{"model": "local-small", "fallbacks": ["claude-opus"]}` is
answered by Opus when the local model fails) or change what an answer costs. So:

- a known LiteLLM control field is refused with a 400 (`code: "litellm_control_field"`),
  naming the field;
- any other field that is neither the API's own nor in `EXTENSIONS` is not forwarded (it is
  dropped, and named in the `x-router-dropped-fields` response header), or refused with a 400
  when STRICT_REQUEST_FIELDS is on.

`EXTENSIONS` holds sampling parameters that OpenAI-compatible local servers (llama.cpp, vLLM)
read and that cannot change the model, its price or its route. Each API surface has its own
`FieldPolicy`; the check is a pure function of the body.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from src.router.errors import InvalidRequest
from src.router.features import OPENAI_CHAT_FIELDS

# LiteLLM request keys that choose models, endpoints, retries, prices or mocked answers.
# Not exhaustive (LiteLLM reads hundreds of keyword arguments): the allow-list is the boundary,
# this list only turns the dangerous ones into a clear refusal instead of a silent drop.
LITELLM_CONTROL_FIELDS = frozenset(
    {
        "fallbacks",
        "context_window_fallbacks",
        "content_policy_fallbacks",
        "disable_fallbacks",
        "router_settings_override",
        "model_list",
        "num_retries",
        "max_retries",
        "retry_policy",
        "mock_response",
        "mock_testing_fallbacks",
        "mock_testing_context_fallbacks",
        "mock_testing_content_policy_fallbacks",
        "mock_timeout",
        "mock_tool_calls",
        "api_base",
        "base_url",
        "api_key",
        "api_version",
        "custom_llm_provider",
        "deployment_id",
        "specific_deployment",
        "model_info",
        "input_cost_per_token",
        "output_cost_per_token",
        "input_cost_per_second",
        "output_cost_per_second",
        "extra_body",
        "extra_headers",
        "litellm_metadata",
        "litellm_params",
        "user_config",
        "proxy_server_request",
        "secret_fields",
        "timeout",
        "stream_timeout",
        "caching",
        "cache",
        "no-log",
        "guardrails",
        "tags",
    }
)

# Sampling extensions of OpenAI-compatible local servers: forwarded.
EXTENSIONS = frozenset({"top_k", "min_p", "repeat_penalty", "repetition_penalty", "typical_p", "mirostat"})

ANTHROPIC_MESSAGES_FIELDS = frozenset(
    {
        "model",
        "messages",
        "max_tokens",
        "system",
        "metadata",
        "stop_sequences",
        "stream",
        "temperature",
        "top_k",
        "top_p",
        "tools",
        "tool_choice",
        "thinking",
        "service_tier",
        "container",
        "mcp_servers",
        "context_management",
        "output_config",
    }
)


@dataclass(frozen=True, slots=True)
class FieldPolicy:
    api: str  # named in error messages
    fields: frozenset[str]  # the API's own request fields
    extensions: frozenset[str] = EXTENSIONS

    def allows(self, name: str) -> bool:
        return (name in self.fields or name in self.extensions) and name not in LITELLM_CONTROL_FIELDS


OPENAI_CHAT = FieldPolicy("OpenAI chat-completions", OPENAI_CHAT_FIELDS)
ANTHROPIC_MESSAGES = FieldPolicy("Anthropic Messages", ANTHROPIC_MESSAGES_FIELDS)


def sanitize_fields(body: dict[str, Any], policy: FieldPolicy, *, strict: bool) -> list[str]:
    """Refuse LiteLLM control fields; remove (or, strict, refuse) other unknown fields, in place.
    Returns the names removed."""
    control = sorted(k for k in body if k in LITELLM_CONTROL_FIELDS)
    if control:
        raise InvalidRequest(
            f"Field(s) {', '.join(map(repr, control))} are LiteLLM controls, not {policy.api} request fields; "
            "the router chooses models, fallbacks and prices itself. Remove them.",
            param=control[0],
            code="litellm_control_field",
        )
    unknown = sorted(k for k in body if not policy.allows(k))
    if unknown and strict:
        raise InvalidRequest(
            f"Unknown field(s) {', '.join(map(repr, unknown))}; this router accepts {policy.api} fields only "
            f"(STRICT_REQUEST_FIELDS is on): {', '.join(sorted(policy.fields | policy.extensions))}.",
            param=unknown[0],
            code="unknown_field",
        )
    for k in unknown:
        del body[k]
    return unknown
