"""The routing rules file (`config/routing_rules.yaml`), parsed into strict typed models.

The seed's format loads as written:

    rules:
      - task_type: sentiment
        model: llama-cpp-7b
        reason: "Low latency, high throughput"

and is extended with a `default` chain, per-rule `fallbacks`, an optional `name`, a
`min_confidence` floor for the classifier (below it, task-type rules are skipped), and
conditions: `when` (all must hold) and `when_any` (one must hold), each a list of
`{signal: ..., gt|ge|lt|le: number, model: ...}`. Signals are listed in `Signal`; a signal
whose reading is missing or stale makes its condition false, and the decision says so.
"""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from src.router.config_errors import ConfigError, format_validation_error, load_yaml_file
from src.router.tasks import TaskType


class Signal(StrEnum):
    INPUT_TOKENS = "input_tokens"  # estimated prompt tokens
    CONFIDENCE = "confidence"  # classifier confidence, 0..1
    GPU_UTILIZATION = "gpu_utilization_ratio"  # busiest local GPU, 0..1
    GPU_MEMORY = "gpu_memory_ratio"  # fullest local GPU memory, 0..1
    CPU = "cpu_ratio"  # host CPU busy, 0..1
    MEMORY = "memory_ratio"  # host memory used, 0..1
    BACKEND_QUEUE = "backend_queue"  # requests waiting at `model`'s backend
    BACKEND_RUNNING = "backend_running"  # requests running at `model`'s backend
    BACKEND_KV_CACHE = "backend_kv_cache_ratio"  # KV-cache use at `model`'s backend, 0..1
    BUDGET_SPENT = "budget_spent_ratio"  # tightest budget covering `model`, spent/cap, 0..1


PER_MODEL_SIGNALS = frozenset(
    {Signal.BACKEND_QUEUE, Signal.BACKEND_RUNNING, Signal.BACKEND_KV_CACHE, Signal.BUDGET_SPENT}
)


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    signal: Signal
    model: str | None = None
    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None

    @model_validator(mode="after")
    def _one_comparison(self) -> Condition:
        ops = [op for op in ("gt", "ge", "lt", "le") if getattr(self, op) is not None]
        if len(ops) != 1:
            raise ValueError(f"give exactly one of gt, ge, lt, le (got {ops or 'none'})")
        if self.signal in PER_MODEL_SIGNALS and self.model is None:
            raise ValueError(f"signal {self.signal.value!r} needs `model:` (whose backend or budget)")
        if self.signal not in PER_MODEL_SIGNALS and self.model is not None:
            raise ValueError(f"signal {self.signal.value!r} takes no `model:`")
        bound = getattr(self, ops[0])
        if self.signal is Signal.CONFIDENCE and not 0.0 <= bound <= 1.0:
            raise ValueError(f"confidence is between 0 and 1; {ops[0]}: {bound:g} can never be compared usefully")
        return self

    def holds(self, value: float) -> bool:
        if self.gt is not None:
            return value > self.gt
        if self.ge is not None:
            return value >= self.ge
        if self.lt is not None:
            return value < self.lt
        assert self.le is not None  # guaranteed by _one_comparison
        return value <= self.le

    def describe(self) -> str:
        op, bound = next((o, getattr(self, o)) for o in ("gt", "ge", "lt", "le") if getattr(self, o) is not None)
        sym = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}[op]
        target = f"[{self.model}]" if self.model else ""
        return f"{self.signal.value}{target} {sym} {bound:g}"


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    task_type: TaskType | None = None  # None: any task type
    model: str = Field(min_length=1)
    reason: str = ""
    name: str | None = None
    fallbacks: tuple[str, ...] = ()
    when: tuple[Condition, ...] = ()
    when_any: tuple[Condition, ...] = ()

    def candidates(self) -> tuple[str, ...]:
        return (self.model, *self.fallbacks)

    @model_validator(mode="after")
    def _no_cycle(self) -> Rule:
        _check_chain(self.model, self.fallbacks)
        return self


def _check_chain(model: str, fallbacks: tuple[str, ...]) -> None:
    seen = [model]
    for fb in fallbacks:
        if fb in seen:
            raise ValueError(f"fallbacks form a cycle: {fb!r} already comes earlier in {[model, *fallbacks]}")
        seen.append(fb)


class DefaultRoute(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(min_length=1)
    reason: str = "default"
    fallbacks: tuple[str, ...] = ()

    def candidates(self) -> tuple[str, ...]:
        return (self.model, *self.fallbacks)

    @model_validator(mode="after")
    def _no_cycle(self) -> DefaultRoute:
        _check_chain(self.model, self.fallbacks)
        return self


class BudgetScope(StrEnum):
    MODEL = "model"
    PROVIDER = "provider"
    TOTAL = "total"


class Period(StrEnum):
    DAILY = "daily"  # the UTC calendar day
    MONTHLY = "monthly"  # the UTC calendar month


class Budget(BaseModel):
    """A spending cap: `{name, scope: model|provider|total, target, period: daily|monthly, limit_usd}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    scope: BudgetScope
    target: str | None = None  # a model name (scope model) or a provider such as "anthropic"
    period: Period
    limit_usd: float = Field(gt=0)

    @model_validator(mode="after")
    def _target_matches_scope(self) -> Budget:
        if self.scope is BudgetScope.TOTAL and self.target is not None:
            raise ValueError("a total budget takes no `target`")
        if self.scope is not BudgetScope.TOTAL and not self.target:
            raise ValueError(f"a {self.scope.value} budget needs `target` (which {self.scope.value})")
        return self


class RulesFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    default: DefaultRoute | None = None
    # Below this classifier confidence the task-type rules are skipped and the request takes the
    # rules without a task type, then the default chain (an explicit task hint is always trusted).
    min_confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    rules: tuple[Rule, ...] = ()
    budgets: tuple[Budget, ...] = ()

    @model_validator(mode="after")
    def _unique_budget_names(self) -> RulesFile:
        names = [b.name for b in self.budgets]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"budget names must be unique; repeated: {', '.join(dupes)}")
        return self

    def rule_name(self, index: int) -> str:
        rule = self.rules[index]
        return rule.name or f"{rule.task_type.value if rule.task_type else 'any'}#{index}"

    def referenced_models(self) -> list[tuple[str, str]]:
        """(key path, model name) for every model the file names."""
        refs: list[tuple[str, str]] = []
        if self.default:
            refs.append(("default.model", self.default.model))
            refs += [(f"default.fallbacks[{i}]", m) for i, m in enumerate(self.default.fallbacks)]
        for r, rule in enumerate(self.rules):
            refs.append((f"rules[{r}].model", rule.model))
            refs += [(f"rules[{r}].fallbacks[{i}]", m) for i, m in enumerate(rule.fallbacks)]
            for key in ("when", "when_any"):
                for c, cond in enumerate(getattr(rule, key)):
                    if cond.model is not None:
                        refs.append((f"rules[{r}].{key}[{c}].model", cond.model))
        for b, budget in enumerate(self.budgets):
            if budget.scope is BudgetScope.MODEL and budget.target:
                refs.append((f"budgets[{b}].target", budget.target))
        return refs


def parse_rules(
    data: Any,
    *,
    source: str,
    known_models: Collection[str] | None = None,
    known_providers: Collection[str] | None = None,
) -> RulesFile:
    """Validate a parsed YAML document; with `known_models`, every named model must be one."""
    if data is None:
        data = {}
    try:
        parsed = RulesFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source=source)) from exc
    if known_models is not None:
        allowed = ", ".join(sorted(known_models))
        bad = [
            f"  {path}: unknown model {name!r} (LiteLLM knows: {allowed})"
            for path, name in parsed.referenced_models()
            if name not in known_models
        ]
        if known_providers is not None:
            providers = ", ".join(sorted(known_providers))
            bad += [
                f"  budgets[{i}].target: unknown provider {b.target!r} (the LiteLLM config uses: {providers})"
                for i, b in enumerate(parsed.budgets)
                if b.scope is BudgetScope.PROVIDER and b.target not in known_providers
            ]
        if bad:
            raise ConfigError(f"{source}: {len(bad)} error(s)\n" + "\n".join(bad))
    return parsed


def load_rules(
    path: Path, *, known_models: Collection[str] | None = None, known_providers: Collection[str] | None = None
) -> RulesFile:
    return parse_rules(
        load_yaml_file(path), source=str(path), known_models=known_models, known_providers=known_providers
    )
