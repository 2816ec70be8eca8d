"""Handoff messages between the coordinator and the coding agents: typed, versioned, validated.

The seed's fields are kept as written (`msg_type`, `from`, `to`, `task_ref`, `context_refs`,
`instruction`, `constraints`, `expected_output`); what a real lifecycle needs is added with
defaults, so the seed's own example message is accepted unchanged:

    {"msg_type": "task_assignment", "from": "orchestrator", "to": "implementer",
     "task_ref": "TASK-001", "context_refs": ["docs/spec.md"],
     "instruction": "Implement the feature described in the spec",
     "constraints": ["Follow the existing code style", "Add unit tests"],
     "expected_output": "A commit with the implementation and its tests"}

Task states are A2A's (`submitted`, `working`, `input_required`, `completed`, `failed`,
`canceled`, `rejected`); the terminal ones never change (`check_transition`). `msg_id` is the
de-duplication key. `python -m src.protocols.llm_protocol` writes the JSON Schema to
docs/handoff.schema.json (a test fails when that file is stale).
"""

from __future__ import annotations

import json
import sys
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

SCHEMA_VERSION = "1.0"


class TaskState(StrEnum):
    SUBMITTED = "submitted"
    WORKING = "working"
    INPUT_REQUIRED = "input_required"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"
    REJECTED = "rejected"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATES


TERMINAL_STATES = frozenset({TaskState.COMPLETED, TaskState.FAILED, TaskState.CANCELED, TaskState.REJECTED})


class MsgType(StrEnum):
    TASK_ASSIGNMENT = "task_assignment"
    STATUS_UPDATE = "status_update"
    TASK_RESULT = "task_result"
    REVIEW_REQUEST = "review_request"
    REVIEW_RESULT = "review_result"
    CANCEL = "cancel"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Workspace(_Strict):
    repo: str = Field(description="Path or URL of the git repository")
    base_ref: str = Field(default="HEAD", description="Commit or ref the work starts from")
    branch: str | None = Field(default=None, description="Branch the agent works on (its own worktree)")
    worktree: str | None = Field(default=None, description="Path of the task's git worktree")


class Limits(_Strict):
    timeout_s: float = Field(default=1800, gt=0)
    max_cost_usd: float | None = Field(default=None, ge=0)
    max_retries: int = Field(default=0, ge=0)


class Artifact(_Strict):
    kind: Literal["diff", "commit_range", "log", "report", "file"]
    name: str
    content: str | None = Field(default=None, description="Inline text (capped), e.g. a diff or a log tail")
    path: str | None = None
    ref: str | None = Field(default=None, description="For commit ranges: base..head")


class Usage(_Strict):
    prompt_tokens: int = Field(default=0, ge=0)
    completion_tokens: int = Field(default=0, ge=0)
    cost_usd: float = Field(default=0.0, ge=0)
    duration_s: float = Field(default=0.0, ge=0)
    requests: int = Field(default=0, ge=0)
    models: dict[str, int] = Field(
        default_factory=dict, description="Model calls per model that answered, from the router's ledger"
    )


class ReviewVerdict(_Strict):
    decision: Literal["approve", "request_changes", "reject"]
    summary: str = ""
    comments: list[str] = Field(default_factory=list)


class ErrorInfo(_Strict):
    code: str = Field(description="Machine-readable, e.g. no_changes, timeout, agent_failed, model_unavailable")
    message: str
    retryable: bool = False


class Message(BaseModel):
    """One handoff. `from` is a Python keyword, so the field is `sender` with alias `from`."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_version: str = SCHEMA_VERSION
    msg_id: str = Field(default_factory=lambda: uuid.uuid4().hex, min_length=1)
    msg_type: MsgType
    sender: str = Field(alias="from", min_length=1)
    to: str = Field(min_length=1)
    task_ref: str = Field(min_length=1)
    in_reply_to: str | None = None
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    attempt: int = Field(default=1, ge=1)
    context_refs: list[str] = Field(default_factory=list)
    instruction: str | None = None
    constraints: list[str] | dict[str, Any] = Field(default_factory=list)
    expected_output: str | dict[str, Any] | None = None
    workspace: Workspace | None = None
    limits: Limits = Field(default_factory=Limits)
    status: TaskState | None = None
    artifacts: list[Artifact] = Field(default_factory=list)
    usage: Usage | None = None
    verdict: ReviewVerdict | None = None
    error: ErrorInfo | None = None

    @model_validator(mode="after")
    def _fields_for_type(self) -> Message:
        t = self.msg_type
        if t in (MsgType.TASK_ASSIGNMENT, MsgType.REVIEW_REQUEST) and not self.instruction:
            raise ValueError(f"a {t.value} needs `instruction`")
        if t is MsgType.STATUS_UPDATE and self.status is None:
            raise ValueError("a status_update needs `status`")
        if t is MsgType.TASK_RESULT and (self.status is None or not self.status.terminal):
            raise ValueError("a task_result needs a terminal `status` (completed, failed, canceled or rejected)")
        if t is MsgType.TASK_RESULT and self.status is TaskState.FAILED and self.error is None:
            raise ValueError("a failed task_result needs `error`")
        if t is MsgType.REVIEW_RESULT and self.verdict is None:
            raise ValueError("a review_result needs `verdict`")
        return self

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, exclude_none=True)


class InvalidMessage(ValueError):
    """A message that does not validate; the text names the path of each bad field."""


def parse_message(data: str | bytes | dict[str, Any]) -> Message:
    try:
        if isinstance(data, dict):
            return Message.model_validate(data)
        return Message.model_validate_json(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            path = ".".join(str(p) for p in err["loc"]) or "(message)"
            problems.append(f"{path}: {err['msg']}")
        raise InvalidMessage("invalid handoff message: " + "; ".join(problems)) from exc


class IllegalTransition(ValueError):
    pass


def check_transition(current: TaskState | None, new: TaskState) -> None:
    """Terminal states never change; everything else may move forward."""
    if current is not None and current.terminal and new != current:
        raise IllegalTransition(f"task is {current.value} (terminal); it cannot become {new.value}")


def json_schema() -> dict[str, Any]:
    schema = Message.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://multi-llm.dev/schemas/handoff-{SCHEMA_VERSION}.json"
    return schema


SCHEMA_PATH = Path(__file__).resolve().parents[2] / "docs" / "handoff.schema.json"


def main() -> int:
    SCHEMA_PATH.write_text(json.dumps(json_schema(), indent=2, sort_keys=True) + "\n")
    print(f"wrote {SCHEMA_PATH}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
