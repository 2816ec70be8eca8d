"""What the planner and the reviewer are asked, whichever agent plays them, and how a review's
verdict is read — a fixed rule, stated here so it can be checked: the first of the words
APPROVE, REQUEST_CHANGES or REJECT (any case, also "request changes") in the answer decides;
an answer with none of them is `request_changes` — silence is not approval.
"""

from __future__ import annotations

import re

from src.agents.drivers.base import StepContext

PLAN_SYSTEM = (
    "You are a software architect. Write a short implementation plan: the files to change, "
    "the functions to add, and how to test them. Be concrete and brief."
)
REVIEW_SYSTEM = (
    "You are a senior engineer reviewing a change. Point out bugs and risks briefly, then end with "
    "one line: VERDICT: APPROVE, VERDICT: REQUEST_CHANGES or VERDICT: REJECT."
)


def system_for(role: str) -> str:
    return REVIEW_SYSTEM if role == "review" else PLAN_SYSTEM


def user_prompt(ctx: StepContext) -> str:
    if ctx.role != "review":
        return ctx.instruction
    note = f"\n{ctx.diff_note}" if ctx.diff_note else ""
    return f"Task:\n{ctx.instruction}\n\nThe change (unified diff):\n{ctx.diff or '(empty diff)'}{note}"


_VERDICT = re.compile(r"\b(approve[sd]?|request[ _-]?changes|reject(?:ed)?)\b", re.IGNORECASE)


def read_verdict(text: str) -> str:
    m = _VERDICT.search(text)
    if m is None:
        return "request_changes"
    word = m.group(1).lower()
    return "approve" if word.startswith("approve") else "reject" if word.startswith("reject") else "request_changes"
