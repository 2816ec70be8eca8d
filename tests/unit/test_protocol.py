"""Handoff messages: the seed's example as written, lifecycle rules, precise errors, a fresh schema."""

from __future__ import annotations

import json

import pytest

from src.protocols.llm_protocol import (
    SCHEMA_PATH,
    IllegalTransition,
    InvalidMessage,
    Message,
    MsgType,
    TaskState,
    check_transition,
    json_schema,
    parse_message,
)

SEED_EXAMPLE = {
    "msg_type": "task_assignment",
    "from": "orchestrator",
    "to": "implementer",
    "task_ref": "TASK-001",
    "context_refs": ["docs/spec.md", "src/module.py"],
    "instruction": "Implement the feature described in the spec",
    "constraints": ["Follow the existing code style", "Add unit tests"],
    "expected_output": "A commit with the implementation and its tests",
}


def test_the_seed_example_is_accepted_as_written_with_defaults_for_the_new_fields() -> None:
    msg = parse_message(json.dumps(SEED_EXAMPLE))
    assert msg.msg_type is MsgType.TASK_ASSIGNMENT and msg.sender == "orchestrator"
    assert msg.schema_version == "1.0" and msg.attempt == 1 and len(msg.msg_id) == 32
    assert msg.limits.timeout_s > 0 and msg.status is None
    again = parse_message(msg.to_json())
    assert again == msg  # round trip, `from` included


def test_invalid_messages_name_the_path_of_the_bad_field() -> None:
    with pytest.raises(InvalidMessage, match=r"limits\.timeout_s"):
        parse_message({**SEED_EXAMPLE, "limits": {"timeout_s": -1}})
    with pytest.raises(InvalidMessage, match=r"msg_type"):
        parse_message({**SEED_EXAMPLE, "msg_type": "shout"})
    with pytest.raises(InvalidMessage, match=r"surprise"):
        parse_message({**SEED_EXAMPLE, "surprise": 1})
    with pytest.raises(InvalidMessage, match=r"artifacts\.0\.kind"):
        parse_message({**SEED_EXAMPLE, "artifacts": [{"kind": "movie", "name": "x"}]})


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"msg_type": "task_assignment", "instruction": None}, "needs `instruction`"),
        ({"msg_type": "status_update"}, "needs `status`"),
        ({"msg_type": "task_result", "status": "working"}, "terminal `status`"),
        ({"msg_type": "task_result", "status": "failed"}, "needs `error`"),
        ({"msg_type": "review_result"}, "needs `verdict`"),
    ],
)
def test_each_message_type_requires_its_fields(fields: dict[str, object], fragment: str) -> None:
    with pytest.raises(InvalidMessage, match=fragment):
        parse_message({**SEED_EXAMPLE, **fields})


def test_terminal_states_never_change() -> None:
    check_transition(None, TaskState.SUBMITTED)
    check_transition(TaskState.WORKING, TaskState.INPUT_REQUIRED)
    check_transition(TaskState.COMPLETED, TaskState.COMPLETED)
    for terminal in (TaskState.COMPLETED, TaskState.FAILED, TaskState.CANCELED, TaskState.REJECTED):
        with pytest.raises(IllegalTransition):
            check_transition(terminal, TaskState.WORKING)


def test_the_schema_in_docs_is_the_one_the_models_generate() -> None:
    stale = "docs/handoff.schema.json is stale: run `python -m src.protocols.llm_protocol`"
    assert json.loads(SCHEMA_PATH.read_text()) == json_schema(), stale


def test_a_message_has_a_unique_id_per_instance() -> None:
    a = Message.model_validate(SEED_EXAMPLE)
    b = Message.model_validate(SEED_EXAMPLE)
    assert a.msg_id != b.msg_id
