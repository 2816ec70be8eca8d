"""The task types the router knows, and the virtual model names that force one."""

from __future__ import annotations

from enum import StrEnum


class TaskType(StrEnum):
    SENTIMENT = "sentiment"
    CLASSIFICATION = "classification"
    EXTRACTION = "extraction"
    SUMMARIZATION = "summarization"
    TRANSLATION = "translation"
    CODE_GENERATION = "code_generation"
    CODE_REVIEW = "code_review"
    ARCHITECTURE_DESIGN = "architecture_design"
    MATH_REASONING = "math_reasoning"
    CREATIVE_WRITING = "creative_writing"
    GENERAL = "general"


TASK_TYPES: tuple[str, ...] = tuple(t.value for t in TaskType)
AUTO_MODEL = "auto"
TASK_MODEL_PREFIX = "task/"


def virtual_model_names() -> list[str]:
    return [AUTO_MODEL, *(TASK_MODEL_PREFIX + t for t in TASK_TYPES)]
