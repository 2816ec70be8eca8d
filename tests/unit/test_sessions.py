"""Routing per turn: a session's turn model is kept through tool loops, memory is bounded, a
session never crosses keys; models too small for a request are skipped with the reason."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from src.router.core.catalog import parse_catalog
from src.router.core.policy import Classification, ModelState, RequestFeatures, TurnPin, decide, merge_windows
from src.router.core.rules import DefaultRoute, Rule, RulesFile
from src.router.core.spend import input_tokens, tool_schema_tokens
from src.router.core.tasks import TaskType
from src.router.state.availability import AvailabilityMonitor
from src.router.state.ledger import Ledger, SpendRow
from src.router.state.sessions import TurnPins, caller_of

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CLAUDE_CODE = json.loads((FIXTURES / "claude_code_request_1.json").read_text())["body"]
RULES = RulesFile(
    default=DefaultRoute(model="local-small", fallbacks=("claude-sonnet",)),
    rules=(Rule(task_type=TaskType.TRANSLATION, model="local-small", fallbacks=("claude-sonnet",)),),
)
UP = {m: ModelState(True) for m in ("local-small", "claude-sonnet", "claude-opus")}
WINDOWS = {"local-small": 8192, "claude-sonnet": 200_000}


def features(task: TaskType, tokens: int = 100, turn: TurnPin | None = None) -> RequestFeatures:
    return RequestFeatures(None, Classification(task, 0.9, "heuristic"), tokens, turn)


def test_a_tool_loop_keeps_the_turn_s_task_type_and_model() -> None:
    turn = TurnPin("claude-opus", TaskType.CODE_GENERATION)
    d = decide(features(TaskType.TRANSLATION, turn=turn), RULES, UP, windows=WINDOWS)
    assert (d.model, d.task_type, d.rule, d.pinned) == ("claude-opus", TaskType.CODE_GENERATION, "session", True)
    assert d.explain()["pinned"] is True
    assert d.fallbacks == ("local-small", "claude-sonnet")  # the chain stays as failover


def test_a_turn_model_that_is_down_is_replaced_and_the_decision_says_why() -> None:
    turn = TurnPin("claude-opus", TaskType.CODE_GENERATION)
    down = {**UP, "claude-opus": ModelState(False, "backend down")}
    d = decide(features(TaskType.TRANSLATION, turn=turn), RULES, down, windows=WINDOWS)
    assert (d.model, d.task_type, d.pinned) == ("local-small", TaskType.CODE_GENERATION, False)
    assert d.signals["session"] == {"turn_model": "claude-opus", "kept": False, "why_not": "backend down"}


def test_a_request_larger_than_a_window_goes_to_a_model_that_fits() -> None:
    d = decide(features(TaskType.GENERAL, tokens=9000), RULES, UP, windows=WINDOWS)
    assert d.model == "claude-sonnet"
    assert d.skipped == (("local-small", "context window of 8192 tokens is smaller than the request (~9000 tokens)"),)
    assert "context window" in d.reason


def test_a_turn_model_the_grown_conversation_no_longer_fits_is_replaced() -> None:
    turn = TurnPin("local-small", TaskType.CODE_GENERATION)
    d = decide(features(TaskType.CODE_GENERATION, tokens=9000, turn=turn), RULES, UP, windows=WINDOWS)
    assert (d.model, d.pinned) == ("claude-sonnet", False)


@given(tokens=st.integers(1, 300_000), task=st.sampled_from(list(TaskType)))
def test_no_decision_sends_a_request_to_a_model_it_cannot_fit(tokens: int, task: TaskType) -> None:
    d = decide(features(task, tokens=tokens), RULES, UP, windows=WINDOWS)
    for model in (d.model, *d.fallbacks):
        if model is not None:
            assert tokens <= WINDOWS.get(model, tokens)


def test_pins_expire_and_the_oldest_session_goes_first() -> None:
    now = [0.0]
    pins = TurnPins(ttl_s=10, max_sessions=2, clock=lambda: now[0])
    pin = TurnPin("local-small", TaskType.GENERAL)
    keys = [("k", f"s{i}", "", "t") for i in range(3)]
    for key in keys:
        pins.put(key, pin)
    assert len(pins) == 2 and pins.get(keys[0]) is None and pins.get(keys[2]) == pin
    now[0] = 11
    assert pins.get(keys[2]) is None
    assert len(pins) == 1  # the expired one is dropped when read; the other on the next put
    pins.put(keys[0], pin)
    assert len(pins) == 1


def test_a_session_id_never_crosses_keys_agents_or_conversations() -> None:
    headers = {"x-claude-code-session-id": "s-1", "x-api-key": "key-a"}
    a = caller_of(headers, b"conversation")
    assert (a.session_id, a.session_named) == ("s-1", True)
    assert a.pin_key != caller_of({**headers, "x-api-key": "key-b"}, b"conversation").pin_key
    assert a.pin_key != caller_of({**headers, "x-claude-code-agent-id": "sub"}, b"conversation").pin_key
    assert a.pin_key != caller_of(headers, b"a side request").pin_key
    assert "key-a" not in repr(a)


def test_without_a_header_the_session_is_derived_from_the_conversation() -> None:
    a, b = caller_of({}, b"seed"), caller_of({"x-session-id": "mine"}, b"seed")
    assert a.session_id.startswith("derived-") and not a.session_named
    assert a.session_id == caller_of({}, b"seed").session_id != caller_of({}, b"other").session_id
    assert b.session_id == "mine"


OLD_SCHEMA = """CREATE TABLE spend (id INTEGER PRIMARY KEY, ts REAL NOT NULL, day TEXT NOT NULL,
month TEXT NOT NULL, model TEXT NOT NULL, provider TEXT NOT NULL, prompt_tokens INTEGER NOT NULL,
completion_tokens INTEGER NOT NULL, cost_usd REAL NOT NULL, response_id TEXT, task_key TEXT);
INSERT INTO spend VALUES (1, 0, '1970-01-01', '1970-01', 'claude-sonnet', 'anthropic', 10, 5, 0.5, NULL, 't1');"""


async def test_an_old_ledger_gains_the_session_columns_and_usage_answers_per_session_and_agent(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.executescript(OLD_SCHEMA)
    ledger = Ledger(path, flush_interval_s=60)
    ledger.open()
    try:
        row = SpendRow(1.0, "claude-sonnet", "anthropic", 100, 20, 0.01, None, "t1", 1, "s1", None, None)
        await ledger.record(row)
        await ledger.record(
            SpendRow(1.0, "claude-sonnet", "anthropic", 50, 10, 0.02, None, None, 1, "s1", "sub", "main")
        )
        ledger.tally(SpendRow(1.0, "local-small", "openai", 7, 3, 0.0, None, None, 1, "s1", "sub", "main"))
        await ledger.flush()
    finally:
        await ledger.close()
    usage = ledger.usage_by("session_id", "s1")
    assert (usage["requests"], usage["prompt_tokens"], usage["cost_usd"]) == (3, 157, 0.03)
    assert usage["agents"] == [
        {"agent_id": None, "parent_agent_id": None, "requests": 1, "prompt_tokens": 100, "completion_tokens": 20,
         "cost_usd": 0.01},
        {"agent_id": "sub", "parent_agent_id": "main", "requests": 2, "prompt_tokens": 57, "completion_tokens": 13,
         "cost_usd": 0.02},
    ]  # fmt: skip
    assert ledger.usage_by("agent_id", "sub")["requests"] == 2
    assert ledger.usage_for("t1") == {
        "task_key": "t1",
        "requests": 2,
        "prompt_tokens": 110,
        "completion_tokens": 25,
        "cost_usd": 0.51,
        "models": {"claude-sonnet": {"requests": 2, "prompt_tokens": 110, "completion_tokens": 25, "cost_usd": 0.51}},
    }  # fmt: skip  (the row written before the migration still counts)


class _Backends:
    """An Upstream whose GETs answer as llama-server and vLLM do (their recorded shapes)."""

    def __init__(self, answers: dict[str, tuple[int, object]]) -> None:
        self.answers = answers

    async def get_json(self, url: str, api_key: str | None, timeout_s: float) -> tuple[int, object]:
        return self.answers.get(url, (404, None))

    async def get_text(self, url: str, timeout_s: float) -> tuple[int, str]:
        raise AssertionError("not used")

    async def post(self, *args: object, **kwargs: object) -> object:
        raise AssertionError("probes never post")


async def test_the_probe_learns_windows_from_llama_server_props_and_vllm_s_model_list() -> None:
    catalog = parse_catalog(
        {
            "model_list": [
                {"model_name": "llama", "litellm_params": {"model": "openai/x", "api_base": "http://l:1/v1"}},
                {
                    "model_name": "small-config",
                    "litellm_params": {"model": "openai/y", "api_base": "http://s:1/v1"},
                    "model_info": {"max_input_tokens": 4096},
                },
                {"model_name": "vllm", "litellm_params": {"model": "hosted_vllm/q", "api_base": "http://v:1/v1"}},
            ]
        },
        source="test",
    )
    # GET /props of the embedded llama-server (build b1-0c1e570, SmolLM2-135M, `--jinja -c 16384
    # -np 4 --kv-unified`), recorded as served: its template cannot render tools.
    props = json.loads((FIXTURES / "llamacpp_props.json").read_text())
    upstream = _Backends(
        {
            "http://lite/v1/models": (200, {"data": []}),
            "http://l:1/v1/models": (200, {"data": [{"id": "x"}]}),
            "http://l:1/props": (200, props),
            "http://s:1/v1/models": (200, {"data": [{"id": "y"}]}),
            "http://s:1/props": (200, props),
            "http://v:1/v1/models": (200, {"data": [{"id": "q", "max_model_len": 32768}]}),
        }
    )
    monitor = AvailabilityMonitor(
        catalog,
        upstream,  # type: ignore[arg-type]  # a probe-only stand-in: GETs, no posts
        litellm_base_url="http://lite",
        litellm_key=None,
        environ=dict,
        interval_s=60,
        timeout_s=1,
    )
    snap = await monitor.probe()
    assert {m: s.context_window for m, s in snap.models.items()} == {"llama": 8192, "small-config": 8192, "vllm": 32768}
    assert {m: s.renders_tools for m, s in snap.models.items()} == {"llama": False, "small-config": False, "vllm": True}
    assert merge_windows(catalog.windows(), snap.models) == {"llama": 8192, "small-config": 4096, "vllm": 32768}


def test_each_answer_says_what_happened_to_the_turn() -> None:
    pins = TurnPins()
    key = ("k", "s", "", "t")
    first = decide(features(TaskType.CODE_GENERATION), RULES, UP, windows=WINDOWS)
    assert pins.answered(key, first, "local-small", tool_loop=False) == "new_turn"
    turn = pins.get(key)
    assert turn == TurnPin("local-small", TaskType.CODE_GENERATION)
    looping = decide(features(TaskType.TRANSLATION, turn=turn), RULES, UP, windows=WINDOWS)
    assert pins.answered(key, looping, "local-small", tool_loop=True) == "pinned"
    # The turn's model failed and the fallback answered: the turn moves with it.
    assert pins.answered(key, looping, "claude-sonnet", tool_loop=True) == "switched"
    assert pins.get(key) == TurnPin("claude-sonnet", TaskType.CODE_GENERATION)
    named = decide(RequestFeatures("claude-opus", Classification(TaskType.GENERAL, 1, "x"), 5), RULES, UP)
    assert pins.answered(key, named, "claude-opus", tool_loop=False) is None
    assert pins.get(key) == TurnPin("claude-sonnet", TaskType.CODE_GENERATION)


def test_tool_definitions_count_towards_the_size_on_both_apis() -> None:
    tools = [{"type": "function", "function": {"name": f"tool{i}", "description": "x" * 4000}} for i in range(10)]
    openai = {"model": "auto", "messages": [{"role": "user", "content": "hi"}]}
    assert input_tokens(openai) == 1
    assert input_tokens({**openai, "tools": tools}) > 10_000
    anthropic = {"model": "auto", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    assert input_tokens({**anthropic, "tools": tools}) > 10_000
    assert input_tokens(CLAUDE_CODE) > 4_000  # the recorded request, its long texts cut


def test_tool_schemas_do_not_count_against_a_window_whose_template_drops_them() -> None:
    """OpenHands' recorded request: ~3.4k tokens of messages (llama-server counted 3,380 with or
    without its tools) and ~5.2k of tool schemas that SmolLM2's template never renders."""
    body = json.loads((FIXTURES / "openhands_requests.jsonl").read_text().splitlines()[0])
    schemas = tool_schema_tokens(body)
    total = input_tokens(body)
    assert total > 8192 > total - schemas
    auto = RequestFeatures(None, Classification(TaskType.CODE_GENERATION, 0.9, "x"), total, None, schemas)
    drops_tools = {**UP, "local-small": ModelState(True, renders_tools=False)}
    assert auto.prompt_tokens_for(drops_tools["local-small"]) == total - schemas
    assert auto.prompt_tokens_for(UP["local-small"]) == total
    assert decide(auto, RULES, drops_tools, windows=WINDOWS).model == "local-small"
    # A backend that renders tools (or says nothing) sees them all: the window check counts them.
    skipped = decide(auto, RULES, UP, windows=WINDOWS)
    assert skipped.model == "claude-sonnet"
    assert (
        "local-small",
        f"context window of 8192 tokens is smaller than the request (~{total} tokens)",
    ) in skipped.skipped
