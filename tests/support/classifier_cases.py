"""Requests every task classifier must get right, and one way to ask a classifier about them."""

from __future__ import annotations

from src.router.core.classifier import Classifier
from src.router.core.features import conversation
from src.router.core.tasks import TaskType

# One plain request per task type, written for these tests (no evaluation set's prompts).
PLAIN_REQUESTS = [
    ("Is the following tweet positive or negative: 'worst flight of my life'", TaskType.SENTIMENT),
    ("Categorize each support email as refund, shipping or other.", TaskType.CLASSIFICATION),
    ("Extract every company name and the amount from this press release.", TaskType.EXTRACTION),
    ("Summarize the following changelog for our users.", TaskType.SUMMARIZATION),
    ("Translate 'see you tomorrow' into German.", TaskType.TRANSLATION),
    ("Write a Python function that parses ISO dates and returns datetime objects.", TaskType.CODE_GENERATION),
    ("Please review this pull request and point out any bugs.", TaskType.CODE_REVIEW),
    ("Design a system that ingests 1M events per second; discuss the trade-offs.", TaskType.ARCHITECTURE_DESIGN),
    ("Solve for y: 2y - 4 = 10", TaskType.MATH_REASONING),
    ("Write a poem about a tired robot.", TaskType.CREATIVE_WRITING),
    ("What's a good name for a golden retriever?", TaskType.GENERAL),
]


def task_of(clf: Classifier, user: str, system: str | None = None) -> TaskType:
    """The type `clf` gives a conversation of one user turn, after a system prompt if given."""
    msgs = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": user}]
    return clf.classify(conversation(msgs)).task_type
