"""Sessions: who a request belongs to, and the model its current turn was routed to.

An agent's turn is a chain of requests: the person's instruction, then one request per tool
result. The router decides once per turn, on the instruction, and keeps that decision while
the agent loops on tool results (`policy.TurnPin`), so a file's contents or a command's output
never flip the task type or the model mid-loop.

A session is named by the client (`x-claude-code-session-id`, which Claude Code sends, or
`X-Session-Id`) or, failing that, by a stable hash of the conversation's system prompt, tools
and first user message. Session ids are the client's own words: a pin is stored under the
caller's key *and* the session id, so one key's session never steers another key's requests.
Within a session, each conversation (system, tools, first user message) and each subagent
(`X-Claude-Code-Agent-Id`) has its own turn: Claude Code's side requests (a title, a summary)
and its subagents share the session id but must not move the main loop's model.
Memory is bounded: pins expire `ttl_s` after their last use and at most `max_sessions` are kept
(the least recently used is dropped first).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from src.router.auth import presented_key
from src.router.policy import PINNED_RULE, Decision, TurnPin
from src.router.wire import stable_hash

SESSION_HEADERS = ("x-claude-code-session-id", "x-session-id")
AGENT_HEADER = "x-claude-code-agent-id"
PARENT_AGENT_HEADER = "x-claude-code-parent-agent-id"
MAX_ID_CHARS = 128


def _clean(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip()
    return value[:MAX_ID_CHARS] if value and value.isprintable() else None


@dataclass(frozen=True, slots=True)
class Caller:
    """Who sent a request, as recorded with its spend."""

    session_id: str
    session_named: bool  # the client named the session (else it is derived from the conversation)
    agent_id: str | None
    parent_agent_id: str | None
    key_hash: str  # which key presented it (a hash: keys never leave auth)
    thread: str  # which conversation of the session: a hash of system, tools, first user message

    @property
    def pin_key(self) -> PinKey:
        return self.key_hash, self.session_id, self.agent_id or "", self.thread


PinKey = tuple[str, str, str, str]


def caller_of(headers: Mapping[str, str], seed: bytes) -> Caller:
    named = next((v for h in SESSION_HEADERS if (v := _clean(headers.get(h)))), None)
    key = presented_key(headers) or ""
    thread = stable_hash(seed)
    return Caller(
        session_id=named or "derived-" + thread,
        session_named=named is not None,
        agent_id=_clean(headers.get(AGENT_HEADER)),
        parent_agent_id=_clean(headers.get(PARENT_AGENT_HEADER)),
        key_hash=stable_hash(key.encode()),
        thread=thread,
    )


class TurnPins:
    """Session -> the current turn's pin, bounded by age and count."""

    def __init__(
        self, *, ttl_s: float = 3600.0, max_sessions: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl_s
        self._max = max_sessions
        self._clock = clock
        self._pins: OrderedDict[PinKey, tuple[float, TurnPin]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._pins)

    def get(self, key: PinKey) -> TurnPin | None:
        entry = self._pins.get(key)
        if entry is None:
            return None
        stamp, pin = entry
        if self._clock() - stamp > self._ttl:
            del self._pins[key]
            return None
        return pin

    async def fetch(self, key: PinKey) -> TurnPin | None:
        """The pin for a tool-loop request (the extension point for pins shared by replicas:
        `shared_pins.SharedTurnPins` also asks Redis when this process has none)."""
        return self.get(key)

    async def drain(self) -> None:
        """Wait for pins on their way elsewhere (none: this process's pins are all here)."""

    def answered(self, key: PinKey, decision: Decision, model: str, *, tool_loop: bool) -> str | None:
        """A model answered: it is the turn's model from now on (a new instruction, or a tool loop
        that had to move). Returns what happened to the turn (the metric's outcome), or None when
        the client named the model itself."""
        if decision.rule == PINNED_RULE:
            return None
        if tool_loop and decision.pinned and model == decision.model:
            return "pinned"
        self.put(key, TurnPin(model, decision.task_type))
        return "switched" if tool_loop and "session" in decision.signals else "new_turn"

    def put(self, key: PinKey, pin: TurnPin) -> None:
        self._pins[key] = (self._clock(), pin)
        self._pins.move_to_end(key)
        now = self._clock()
        while self._pins:
            oldest_key, (stamp, _) = next(iter(self._pins.items()))
            if len(self._pins) <= self._max and now - stamp <= self._ttl:
                break
            del self._pins[oldest_key]
