"""Planning and review: a strong model asked through the router (no agent CLI).

The planner's answer is the specification the implementers get; the reviewer's answer is read
for a verdict with a fixed rule, stated here so it can be checked: the first of the words
APPROVE, REQUEST_CHANGES or REJECT (any case, also "request changes") in the answer decides;
an answer with none of them is `request_changes` — silence is not approval.
"""

from __future__ import annotations

import re
import time

import httpx

from src.agents.drivers.base import AgentOutcome, StepContext
from src.agents.process import ProcessRunner

_VERDICT = re.compile(r"\b(approve[sd]?|request[ _-]?changes|reject(?:ed)?)\b", re.IGNORECASE)


def read_verdict(text: str) -> str:
    m = _VERDICT.search(text)
    if m is None:
        return "request_changes"
    word = m.group(1).lower()
    return "approve" if word.startswith("approve") else "reject" if word.startswith("reject") else "request_changes"


class RouterLLMDriver:
    """`role` decides the prompt: "plan" or "review"."""

    name = "router"

    def __init__(self, *, max_tokens: int = 512) -> None:
        self.max_tokens = max_tokens

    def missing(self) -> str | None:
        return None

    def run(self, ctx: StepContext, runner: ProcessRunner) -> AgentOutcome:
        if ctx.role == "review":
            system = (
                "You are a senior engineer reviewing a change. Point out bugs and risks briefly, then end with "
                "one line: VERDICT: APPROVE, VERDICT: REQUEST_CHANGES or VERDICT: REJECT."
            )
            user = f"Task:\n{ctx.instruction}\n\nThe change (unified diff):\n{ctx.diff or '(empty diff)'}"
        else:
            system = (
                "You are a software architect. Write a short implementation plan: the files to change, "
                "the functions to add, and how to test them. Be concrete and brief."
            )
            user = ctx.instruction
        body = {
            "model": ctx.model,
            "max_tokens": self.max_tokens,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
        }
        started = time.monotonic()
        try:
            resp = httpx.post(
                f"{ctx.router_base}/chat/completions",
                json=body,
                timeout=ctx.timeout_s,
                headers={"Authorization": f"Bearer {ctx.api_key}"},
            )
        except httpx.HTTPError as exc:
            return AgentOutcome(False, f"router unreachable: {exc}", "", duration_s=time.monotonic() - started)
        log = resp.text
        if resp.status_code != 200:
            return AgentOutcome(
                False,
                f"router answered {resp.status_code}",
                log,
                resp.status_code,
                duration_s=time.monotonic() - started,
            )
        text = resp.json()["choices"][0]["message"].get("content") or ""
        model = resp.headers.get("x-router-model", "?")
        verdict = read_verdict(text) if ctx.role == "review" else None
        summary = f"{ctx.role} by {model}: {len(text)} characters" + (f", verdict {verdict}" if verdict else "")
        return AgentOutcome(
            bool(text.strip()), summary, log, 200, duration_s=time.monotonic() - started, verdict=verdict, report=text
        )
