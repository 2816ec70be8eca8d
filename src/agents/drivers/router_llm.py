"""Planning and review: a strong model asked through the router's chat completions (no agent
CLI). The fallback for Claude Code; prompts and the verdict rule are in `prompts.py`."""

from __future__ import annotations

import time

import httpx

from src.agents.drivers.base import AgentOutcome, StepContext
from src.agents.drivers.prompts import read_verdict, system_for, user_prompt
from src.agents.process import ProcessRunner


class RouterLLMDriver:
    """`role` decides the prompt: "plan" or "review"."""

    name = "router"

    def __init__(self, *, max_tokens: int = 512) -> None:
        self.max_tokens = max_tokens

    def missing(self) -> str | None:
        return None

    def run(self, ctx: StepContext, runner: ProcessRunner) -> AgentOutcome:
        system, user = system_for(ctx.role), user_prompt(ctx)
        body = {
            "model": ctx.model,
            "max_tokens": ctx.max_output_tokens or self.max_tokens,
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
