"""The routing decision: a pure function of (request features, load, budget, rules).

No I/O happens here and nothing here knows about HTTP: the caller gathers the inputs
(classification, availability, load and budget snapshots) and renders the result.

    decide(request, rules, availability, load, budget) -> Decision

Order of precedence:
1. a pinned concrete model (the client named a LiteLLM model) is used as is;
2. inside an agent's tool loop (the last message is a tool result and the session has a
   turn), the turn's task type and model are kept while that model is usable; when it is not,
   the turn's task type is routed as in 4-5 (the decision says so);
3. otherwise the task type is the explicit hint if there is one, else the classifier's;
4. the first rule whose task type and conditions match wins; its model, then its fallbacks,
   then the default chain are tried in order, skipping unavailable or budget-capped models and
   models whose context window (where known) is smaller than the request (tool schemas left
   out for a backend whose chat template renders none); a request with tools tries such a
   backend after the models that can see them; a classifier's guess whose confidence is below
   the rules' `min_confidence` matches no task-type rule (only rules without a task type), and
   the decision says so;
5. with no matching rule, the default chain is used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from src.router.core.rules import Condition, Rule, RulesFile, Signal
from src.router.core.tasks import TaskType

PINNED_RULE = "pinned"
SESSION_RULE = "session"
WINDOW_TOO_SMALL = "context window"  # how a skip for size begins: the caller may tell it apart
DEFAULT_RULE = "default"
# Where a task type came from when the client said it; these are never second-guessed.
EXPLICIT_SOURCES = frozenset({"virtual_model", "header", "metadata"})


@dataclass(frozen=True, slots=True)
class Classification:
    task_type: TaskType
    confidence: float
    source: str  # "virtual_model", "header", "metadata", "learned", "heuristic", "embedding", "session"
    matched: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TurnPin:
    """What a session's current turn was routed to: kept while the agent loops on tool results."""

    model: str
    task_type: TaskType


@dataclass(frozen=True, slots=True)
class RequestFeatures:
    pinned_model: str | None  # a concrete model the client named, or None for auto/task/*
    classification: Classification
    input_tokens: int
    turn: TurnPin | None = None  # set only while the request continues a turn (a tool result)
    # Of `input_tokens`, the tool/function schemas: a backend whose chat template cannot render
    # tools (llama-server reports it) never sees them, so they don't count against its window.
    tool_schema_tokens: int = 0

    def prompt_tokens_for(self, state: ModelState | None) -> int:
        """The prompt as the model's backend will see it."""
        if state is not None and not state.renders_tools:
            return max(0, self.input_tokens - self.tool_schema_tokens)
        return self.input_tokens


@dataclass(frozen=True, slots=True)
class LoadSnapshot:
    """Readings that are fresh enough to use; a missing or stale one is simply absent (None)."""

    gpu_utilization_ratio: float | None = None
    gpu_memory_ratio: float | None = None
    cpu_ratio: float | None = None
    memory_ratio: float | None = None
    backend_queue: Mapping[str, float] = field(default_factory=dict)
    backend_running: Mapping[str, float] = field(default_factory=dict)
    backend_kv_cache_ratio: Mapping[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # why a reading is absent, e.g. "gpu: no NVML"


@dataclass(frozen=True, slots=True)
class BudgetSnapshot:
    spent_ratio: Mapping[str, float] = field(default_factory=dict)  # model -> tightest spent/cap
    capped: Mapping[str, str] = field(default_factory=dict)  # model -> why it may not be used


@dataclass(frozen=True, slots=True)
class ModelState:
    available: bool
    reason: str = ""
    context_window: int | None = None  # as the backend reports it (llama-server /props, vLLM max_model_len)
    renders_tools: bool = True  # False: the backend's chat template drops tool schemas (llama-server /props)


def merge_windows(configured: Mapping[str, int], availability: Mapping[str, ModelState]) -> dict[str, int]:
    """Each model's window: the smaller of the configured and the reported one, where known."""
    windows = dict(configured)
    for model, state in availability.items():
        if state.context_window is not None:
            windows[model] = min(state.context_window, windows.get(model, state.context_window))
    return windows


@dataclass(frozen=True, slots=True)
class Decision:
    task_type: TaskType
    confidence: float
    model: str | None
    rule: str
    reason: str
    fallbacks: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]  # (model, why) for candidates passed over
    signals: dict[str, Any]
    pinned: bool = False  # the session's turn model was kept (a tool loop)

    def explain(self) -> dict[str, Any]:
        return {
            "task_type": self.task_type.value,
            "confidence": round(self.confidence, 4),
            "model": self.model,
            "rule": self.rule,
            "reason": self.reason,
            "pinned": self.pinned,
            "fallbacks": list(self.fallbacks),
            "signals": {**self.signals, "skipped": [{"model": m, "why": w} for m, w in self.skipped]},
        }


def _signal_value(
    cond: Condition, features: RequestFeatures, load: LoadSnapshot, budget: BudgetSnapshot
) -> float | None:
    s = cond.signal
    if s is Signal.INPUT_TOKENS:
        return float(features.input_tokens)
    if s is Signal.CONFIDENCE:
        return features.classification.confidence
    if s is Signal.GPU_UTILIZATION:
        return load.gpu_utilization_ratio
    if s is Signal.GPU_MEMORY:
        return load.gpu_memory_ratio
    if s is Signal.CPU:
        return load.cpu_ratio
    if s is Signal.MEMORY:
        return load.memory_ratio
    assert cond.model is not None  # per-model signals are validated to carry a model
    if s is Signal.BACKEND_QUEUE:
        return load.backend_queue.get(cond.model)
    if s is Signal.BACKEND_RUNNING:
        return load.backend_running.get(cond.model)
    if s is Signal.BACKEND_KV_CACHE:
        return load.backend_kv_cache_ratio.get(cond.model)
    return budget.spent_ratio.get(cond.model)


def _conditions_hold(
    rule: Rule,
    features: RequestFeatures,
    load: LoadSnapshot,
    budget: BudgetSnapshot,
    trace: list[dict[str, Any]],
) -> bool:
    def check(cond: Condition) -> bool:
        value = _signal_value(cond, features, load, budget)
        result = value is not None and cond.holds(value)
        trace.append(
            {
                "condition": cond.describe(),
                "value": value,
                "holds": result,
                **({"absent": True} if value is None else {}),
            }
        )
        return result

    if rule.when and not all([check(c) for c in rule.when]):
        return False
    return not rule.when_any or any([check(c) for c in rule.when_any])


def _usable(
    model: str,
    availability: Mapping[str, ModelState],
    budget: BudgetSnapshot,
    features: RequestFeatures,
    windows: Mapping[str, int],
) -> str | None:
    """None if the model may be used, else why not."""
    state = availability.get(model)
    if state is None:
        return "not in the LiteLLM config"
    if not state.available:
        return state.reason or "unavailable"
    over = window_overflow(model, features, availability, windows)
    if over is not None:
        tokens, window = over
        return f"{WINDOW_TOO_SMALL} of {window} tokens is smaller than the request (~{tokens} tokens)"
    return budget.capped.get(model)


def window_overflow(
    model: str, features: RequestFeatures, availability: Mapping[str, ModelState], windows: Mapping[str, int]
) -> tuple[int, int] | None:
    """(the prompt as the model's backend sees it, its window) when the one exceeds the other;
    None when it fits or the window is unknown."""
    window = windows.get(model)
    tokens = features.prompt_tokens_for(availability.get(model))
    return (tokens, window) if window is not None and tokens > window else None


def decide(
    features: RequestFeatures,
    rules: RulesFile,
    availability: Mapping[str, ModelState],
    load: LoadSnapshot | None = None,
    budget: BudgetSnapshot | None = None,
    windows: Mapping[str, int] | None = None,
) -> Decision:
    """`windows` maps a model to its context window in tokens (models absent: not checked)."""
    load = load or LoadSnapshot()
    budget = budget or BudgetSnapshot()
    windows = windows or {}
    cls = features.classification
    turn = features.turn
    if features.pinned_model is None and turn is not None:
        cls = Classification(turn.task_type, 1.0, "session", ())
    signals: dict[str, Any] = {
        "classifier": {"source": cls.source, "matched": list(cls.matched)},
        "input_tokens": features.input_tokens,
    }
    if load.notes:
        signals["load_notes"] = list(load.notes)

    if features.pinned_model is not None:
        return Decision(
            cls.task_type,
            cls.confidence,
            features.pinned_model,
            PINNED_RULE,
            "the client named this model",
            (),
            (),
            signals,
        )

    turn_why_not: str | None = None
    if turn is not None:
        turn_why_not = _usable(turn.model, availability, budget, features, windows)
        signals["session"] = {"turn_model": turn.model, "kept": turn_why_not is None}
        if turn_why_not is not None:
            signals["session"]["why_not"] = turn_why_not

    trace: list[dict[str, Any]] = []
    chosen_rule: Rule | None = None
    rule_name, reason = DEFAULT_RULE, ""
    chain: tuple[str, ...] = ()
    unsure = cls.source not in EXPLICIT_SOURCES and cls.confidence < rules.min_confidence
    if unsure:
        signals["low_confidence"] = {"confidence": round(cls.confidence, 4), "min_confidence": rules.min_confidence}
    for index, rule in enumerate(rules.rules):
        if rule.task_type is not None and (unsure or rule.task_type is not cls.task_type):
            continue
        if _conditions_hold(rule, features, load, budget, trace):
            chosen_rule, rule_name, reason = rule, rules.rule_name(index), rule.reason
            chain = rule.candidates()
            break
    if trace:
        signals["conditions"] = trace
    if rules.default is not None:
        if chosen_rule is None:
            reason = rules.default.reason
            if unsure:
                reason = (
                    f"{reason} (classifier confidence {cls.confidence:.2f} for {cls.task_type.value} is below "
                    f"min_confidence {rules.min_confidence:g}: task-type rules skipped)"
                )
        chain = (*chain, *rules.default.candidates())
    chain = tuple(dict.fromkeys(chain))  # a model named twice is tried once

    skipped: list[tuple[str, str]] = []
    usable: list[str] = []
    if turn is not None and turn_why_not is None:
        rest = [m for m in chain if m != turn.model]
        fallbacks = tuple(m for m in rest if _usable(m, availability, budget, features, windows) is None)
        return Decision(
            cls.task_type,
            cls.confidence,
            turn.model,
            SESSION_RULE,
            "tool loop: the turn's model is kept",
            fallbacks,
            (),
            signals,
            pinned=True,
        )
    for model in chain:
        why_not = _usable(model, availability, budget, features, windows)
        if why_not is None:
            usable.append(model)
        elif not usable:
            skipped.append((model, why_not))
    if not usable:
        return Decision(
            cls.task_type,
            cls.confidence,
            None,
            rule_name,
            "no candidate model is available",
            (),
            tuple(skipped),
            signals,
        )
    if skipped:
        reason = f"{reason} (fell through: {', '.join(f'{m}: {w}' for m, w in skipped)})"
    blind = [m for m in usable if not availability[m].renders_tools] if features.tool_schema_tokens else []
    if blind and len(blind) < len(usable):
        # A request with tools goes first to a model that can see them; a backend whose template
        # renders none stays a last resort (it fits, and answers, but cannot call a tool).
        usable = [m for m in usable if m not in blind] + blind
        signals["tools"] = {"tried_last": blind, "why": "their chat templates render no tools"}
        reason = f"{reason} (the request has tools: {', '.join(blind)} tried last, its template renders none)"
    return Decision(
        cls.task_type, cls.confidence, usable[0], rule_name, reason, tuple(usable[1:]), tuple(skipped), signals
    )
