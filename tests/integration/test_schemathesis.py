"""Schemathesis drives the running router from its own OpenAPI document: no input it generates
gets a 5xx, and every 4xx is an OpenAI error envelope."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.integration.conftest import Stack

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def router_schema(stack: Stack) -> object:
    return schemathesis.openapi.from_url(stack.router_url + "/openapi.json")


schema = schemathesis.pytest.from_fixture("router_schema")


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_gets_a_5xx_and_every_4xx_is_an_openai_envelope(case: schemathesis.Case) -> None:
    if case.path == "/v1/chat/completions" and isinstance(case.body, dict):
        case.body["max_tokens"] = 4  # keep the real model's answers short
    response = case.call(timeout=120)
    assert response.status_code < 500, f"{case.method} {case.path} -> {response.status_code}: {response.text[:300]}"
    if 400 <= response.status_code < 500:
        error = response.json()["error"]
        assert set(error) == {"message", "type", "param", "code"} and error["message"]
