"""Schemathesis drives the running router from its own OpenAPI document: no input it generates
gets a 5xx, and every 4xx is an OpenAI error envelope.

(Schemathesis' own pytest plugin does not run under pytest 9; its strategies are driven here
with Hypothesis directly, one operation at a time.)
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.integration.conftest import Stack

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(900)]


def test_no_input_gets_a_5xx_and_every_4xx_is_an_openai_envelope(stack: Stack) -> None:
    schema = schemathesis.openapi.from_url(stack.router_url + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/v1/chat/completions", "/v1/route", "/v1/models", "/admin/reload"}
    seen: list[str] = []

    for op in operations:

        @given(case=op.as_strategy())
        @settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def exercise(case: schemathesis.Case) -> None:
            if isinstance(case.body, dict) and "max_tokens" in case.body:
                case.body["max_tokens"] = min(int(case.body["max_tokens"]), 4)  # short real answers
            elif isinstance(case.body, dict) and path == "/v1/chat/completions":
                case.body["max_tokens"] = 4
            response = case.call(base_url=stack.router_url, timeout=120)
            seen.append(f"{case.method} {path} {response.status_code}")
            assert response.status_code < 500, f"{case.method} {path} -> {response.status_code}: {response.text[:300]}"
            if 400 <= response.status_code < 500:
                error = response.json()["error"]
                assert set(error) == {"message", "type", "param", "code"} and error["message"]

        exercise()
    assert len(seen) >= 4 * len(operations)
