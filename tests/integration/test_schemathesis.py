"""Schemathesis drives the running router from its own OpenAPI document: no input it generates
gets a 5xx, and every 4xx is the API's error envelope (OpenAI's; Anthropic's on /v1/messages).

(Schemathesis' own pytest plugin does not run under pytest 9; its strategies are driven here
with Hypothesis directly, one operation at a time.)
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.integration.conftest import Stack

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(900)]


def exercise(op: Any, base_url: str, seen: list[str]) -> None:
    path = op.path

    @given(case=op.as_strategy())
    @settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def run(case: schemathesis.Case) -> None:
        if isinstance(case.body, dict) and path in ("/v1/chat/completions", "/v1/messages"):
            case.body["max_tokens"] = 4  # keep the real model's answers short
        response = case.call(base_url=base_url, timeout=120)
        seen.append(f"{case.method} {path} {response.status_code}")
        assert response.status_code < 500, f"{case.method} {path} -> {response.status_code}: {response.text[:300]}"
        if 400 <= response.status_code < 500 and path.startswith("/v1/messages"):
            body = response.json()  # Anthropic's envelope on Anthropic's API
            assert body["type"] == "error" and set(body["error"]) == {"type", "message"} and body["error"]["message"]
        elif 400 <= response.status_code < 500:
            error = response.json()["error"]
            assert set(error) == {"message", "type", "param", "code"} and error["message"]

    run()


def test_no_input_gets_a_5xx_and_every_4xx_is_an_openai_envelope(stack: Stack) -> None:
    schema = schemathesis.openapi.from_url(stack.router_url + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {
        "/v1/chat/completions",
        "/v1/messages",
        "/v1/messages/count_tokens",
        "/v1/route",
        "/v1/models",
        "/admin/reload",
    }
    seen: list[str] = []
    for op in operations:
        exercise(op, stack.router_url, seen)
    print("schemathesis:", dict(Counter(seen)))
    assert len(seen) >= 4 * len(operations)
    # The chat endpoint was really exercised: generated bodies were refused, and some answered.
    chat = Counter(s.rsplit(" ", 1)[1][0] for s in seen if s.startswith("POST /v1/chat/completions "))
    assert chat["4"] > 0
