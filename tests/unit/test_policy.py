"""The decision is a pure function; its invariants hold for any rules and any availability."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from src.router.policy import (
    BudgetSnapshot,
    Classification,
    LoadSnapshot,
    ModelState,
    RequestFeatures,
    decide,
)
from src.router.rules import Condition, DefaultRoute, Rule, RulesFile, Signal
from src.router.tasks import TaskType

MODELS = ["local-small", "llama-cpp-7b", "qwen-14b-vllm", "claude-sonnet", "claude-opus"]
models = st.sampled_from(MODELS)
tasks = st.sampled_from(list(TaskType))


def features(task: TaskType, source: str = "heuristic", confidence: float = 0.8, tokens: int = 100) -> RequestFeatures:
    return RequestFeatures(None, Classification(task, confidence, source), tokens)


chains = st.lists(models, min_size=1, max_size=4, unique=True)  # a model and its fallbacks, no repeats
rules_st = st.builds(
    RulesFile,
    default=st.one_of(st.none(), chains.map(lambda c: DefaultRoute(model=c[0], fallbacks=tuple(c[1:])))),
    rules=st.lists(
        st.tuples(st.one_of(st.none(), tasks), chains).map(
            lambda tc: Rule(task_type=tc[0], model=tc[1][0], fallbacks=tuple(tc[1][1:]))
        ),
        max_size=8,
    ).map(tuple),
)
availability_st = st.fixed_dictionaries({m: st.builds(ModelState, available=st.booleans()) for m in MODELS})
capped_st = st.dictionaries(models, st.just("daily cap reached"), max_size=3)


@given(rules=rules_st, availability=availability_st, task=tasks, capped=capped_st)
def test_the_decision_is_always_an_available_uncapped_configured_model_or_none(
    rules: RulesFile, availability: dict[str, ModelState], task: TaskType, capped: dict[str, str]
) -> None:
    d = decide(features(task), rules, availability, budget=BudgetSnapshot(capped=capped))
    if d.model is not None:
        assert d.model in MODELS and availability[d.model].available and d.model not in capped
        assert all(availability[f].available and f not in capped for f in d.fallbacks)
        assert d.model not in d.fallbacks
    else:
        assert d.fallbacks == ()


@given(rules=rules_st, availability=availability_st, task=tasks)
def test_the_first_matching_rule_wins(rules: RulesFile, availability: dict[str, ModelState], task: TaskType) -> None:
    d = decide(features(task), rules, availability)
    matching = [i for i, r in enumerate(rules.rules) if r.task_type in (None, task)]
    assert d.rule == (rules.rule_name(matching[0]) if matching else "default")


@given(hint=tasks, classified=tasks)
def test_an_explicit_hint_beats_the_classifier(hint: TaskType, classified: TaskType) -> None:
    from src.router.chat import classify_request as _classify
    from src.router.features import conversation

    class Fixed:
        def classify(self, conv: object) -> Classification:
            return Classification(classified, 0.99, "heuristic")

    body = {"model": f"task/{hint.value}", "messages": [{"role": "user", "content": "x"}]}
    assert _classify(body, {}, Fixed())[0].task_type is hint
    body = {"model": "auto", "metadata": {"task_type": hint.value}, "messages": [{"role": "user", "content": "x"}]}
    assert _classify(body, {}, Fixed())[0].task_type is hint
    body = {"model": "auto", "messages": [{"role": "user", "content": "x"}]}
    assert _classify(body, {"x-task-type": hint.value}, Fixed())[0].task_type is hint
    assert conversation(body["messages"]).latest_user == "x"


def test_an_unavailable_rule_model_falls_through_to_its_fallbacks_then_the_default() -> None:
    rules = RulesFile(
        default=DefaultRoute(model="local-small"),
        rules=(Rule(task_type=TaskType.SENTIMENT, model="llama-cpp-7b", fallbacks=("qwen-14b-vllm",)),),
    )
    avail = {m: ModelState(m == "local-small", "down") for m in MODELS}
    d = decide(features(TaskType.SENTIMENT), rules, avail)
    assert d.model == "local-small" and d.rule == "sentiment#0"
    assert [m for m, _ in d.skipped] == ["llama-cpp-7b", "qwen-14b-vllm"]


def test_a_load_condition_sends_code_generation_to_claude_when_the_gpu_is_busy() -> None:
    busy = Rule(
        task_type=TaskType.CODE_GENERATION,
        model="claude-sonnet",
        name="gpu-busy",
        when_any=(
            Condition(signal=Signal.GPU_UTILIZATION, gt=0.9),
            Condition(signal=Signal.BACKEND_QUEUE, model="qwen-14b-vllm", gt=8),
        ),
    )
    normal = Rule(task_type=TaskType.CODE_GENERATION, model="qwen-14b-vllm")
    rules = RulesFile(rules=(busy, normal))
    avail = {m: ModelState(True) for m in MODELS}
    f = features(TaskType.CODE_GENERATION)
    assert decide(f, rules, avail, LoadSnapshot(gpu_utilization_ratio=0.95)).model == "claude-sonnet"
    assert (
        decide(f, rules, avail, LoadSnapshot(gpu_utilization_ratio=0.5, backend_queue={"qwen-14b-vllm": 9})).rule
        == "gpu-busy"
    )
    calm = decide(f, rules, avail, LoadSnapshot(gpu_utilization_ratio=0.5, backend_queue={"qwen-14b-vllm": 2}))
    assert calm.model == "qwen-14b-vllm"
    # No GPU reading at all: the condition fails open (does not hold) and the decision says so.
    absent = decide(f, rules, avail, LoadSnapshot())
    assert absent.model == "qwen-14b-vllm"
    assert any(c.get("absent") for c in absent.signals["conditions"])


def test_a_pinned_model_is_used_as_named() -> None:
    d = decide(RequestFeatures("claude-opus", Classification(TaskType.GENERAL, 0.5, "heuristic"), 1), RulesFile(), {})
    assert (d.model, d.rule) == ("claude-opus", "pinned")


FLOORED = RulesFile(
    default=DefaultRoute(model="local-small", reason="free local model"),
    min_confidence=0.6,
    rules=(
        Rule(task_type=TaskType.ARCHITECTURE_DESIGN, model="claude-opus"),
        Rule(model="claude-sonnet", when=(Condition(signal=Signal.INPUT_TOKENS, gt=50_000),), name="long"),
    ),
)
ALL_UP = {m: ModelState(True) for m in MODELS}


def test_a_guess_below_the_confidence_floor_takes_the_default_chain_and_the_decision_says_why() -> None:
    d = decide(features(TaskType.ARCHITECTURE_DESIGN, confidence=0.41), FLOORED, ALL_UP)
    assert d.model == "local-small" and d.rule == "default"
    assert "confidence 0.41 for architecture_design is below min_confidence 0.6" in d.reason
    assert d.explain()["signals"]["low_confidence"] == {"confidence": 0.41, "min_confidence": 0.6}


def test_a_guess_at_the_floor_and_an_explicit_hint_use_the_task_rule() -> None:
    assert decide(features(TaskType.ARCHITECTURE_DESIGN, confidence=0.6), FLOORED, ALL_UP).model == "claude-opus"
    hinted = features(TaskType.ARCHITECTURE_DESIGN, source="header", confidence=0.3)
    assert decide(hinted, FLOORED, ALL_UP).model == "claude-opus"


def test_below_the_floor_rules_without_a_task_type_still_apply() -> None:
    d = decide(features(TaskType.ARCHITECTURE_DESIGN, confidence=0.2, tokens=60_000), FLOORED, ALL_UP)
    assert d.model == "claude-sonnet" and d.rule == "long"
