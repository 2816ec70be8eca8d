"""The built-in task classifier: keyword and structure cues, no ML dependency.

It reads a bounded window of the conversation (the head and tail of the latest user turn,
the head of the system prompt, the tail of earlier turns), so its cost does not grow with
the many kB of system prompt and code that coding agents send. One compiled alternation
regex finds every cue in a single pass; each cue carries a task type and a weight, and the
part of the conversation it was found in multiplies that weight (latest user turn most).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Protocol

from src.router.features import Conversation
from src.router.policy import Classification
from src.router.tasks import TaskType

T = TaskType

# How much a cue counts, by where it was found.
W_LATEST, W_SYSTEM, W_EARLIER = 3.0, 1.0, 0.5
# How much of each part is read (characters).
LATEST_HEAD, LATEST_TAIL, SYSTEM_HEAD, EARLIER_TAIL = 1500, 700, 1200, 600
# `general` wins unless another type scores more than this.
GENERAL_BASELINE = 1.5

_LANGS = (
    r"english|french|german|spanish|italian|portuguese|dutch|russian|chinese|mandarin|japanese|"
    r"korean|arabic|hindi|turkish|polish|swedish|norwegian|danish|finnish|greek|hebrew|czech|"
    r"ukrainian|vietnamese|thai|indonesian"
)
_CODE_THINGS = (
    r"function|script|class|program|module|method|unit tests?|tests?|endpoint|sql query|query|"
    r"regex|regular expression|decorator|cli|parser|component|hook|handler|migration|dockerfile|"
    r"makefile|api client|algorithm|implementation"
)
_LANG_NAMES = r"python|javascript|typescript|java|go|golang|rust|c\+\+|c#|ruby|php|kotlin|swift|bash|shell|sql|react"

# (task type, weight, pattern). Patterns are matched case-insensitively on word boundaries.
CUES: tuple[tuple[TaskType, float, str], ...] = (
    # sentiment
    (T.SENTIMENT, 3, r"sentiment|polarity|positive,? (?:or|negative) (?:or )?(?:negative|neutral)"),
    (T.SENTIMENT, 3, r"positive or negative|negative or positive|emotional tone|how does the (?:author|customer|user|writer|reviewer) feel"),
    (T.SENTIMENT, 2, r"(?:is|was) (?:this|the) (?:review|tweet|comment|feedback|message|post) (?:positive|negative|happy|angry|satisfied)"),
    (T.SENTIMENT, 1, r"tone|mood|satisf(?:ied|action)|happy|unhappy|angry|frustrated|delighted|opinion"),
    # classification
    (T.CLASSIFICATION, 3, r"classify|classification|categori[sz]e|categori[sz]ation|triage"),
    (T.CLASSIFICATION, 3, r"which (?:category|label|class|bucket|department|topic)|assign (?:a|one|the) (?:label|category|tag|class)"),
    (T.CLASSIFICATION, 2, r"spam or (?:not|ham)|one of (?:the following|these) (?:categories|labels|classes|topics)|intent|label (?:this|each|these|the following)"),
    (T.CLASSIFICATION, 1, r"category|categories|labels?|tags?|topic"),
    # extraction
    (T.EXTRACTION, 3, r"extract|pull out|named entit(?:y|ies)|key[- ]value pairs|fill (?:in )?the (?:following )?(?:schema|template|fields)"),
    (T.EXTRACTION, 3, r"(?:list|find|get|identify) (?:all|every|each) (?:the )?(?:names|emails?|e-mail addresses|phone numbers|dates|urls|links|people|organi[sz]ations|companies|amounts|prices|entities|addresses|skills)"),
    (T.EXTRACTION, 2, r"(?:return|output|give me|produce) (?:only )?(?:a |the )?json (?:object )?with|parse (?:this|the) .{0,40}?into (?:json|a table|fields)|structured (?:data|output)"),
    (T.EXTRACTION, 1, r"invoice number|total amount|due date|fields|schema|json"),
    # summarization
    (T.SUMMARIZATION, 3, r"summari[sz]e|summary|summarization|tl;?dr|condense|recap|key takeaways|key points|main points"),
    (T.SUMMARIZATION, 2, r"in (?:one|two|three|a few|\d) (?:sentences?|bullet points|bullets|lines|words)|brief overview|the gist|shorten (?:this|it)"),
    # translation
    (T.TRANSLATION, 4, r"translate|translation|translating"),
    (T.TRANSLATION, 3, rf"(?:in|into|to) (?:{_LANGS})(?: please)?[.:!?]|from (?:{_LANGS}) (?:in)?to|locali[sz]e"),
    (T.TRANSLATION, 1, rf"{_LANGS}"),
    # code generation
    (T.CODE_GENERATION, 3, rf"(?:write|create|implement|generate|build|add|make|code) (?:me )?(?:a|an|the|some)? ?(?:(?:{_LANG_NAMES}|simple|small|new|async|recursive|generic|unit) )*(?:{_CODE_THINGS})"),
    (T.CODE_GENERATION, 3, r"implement|refactor|fix (?:the|this|my|a) (?:bug|error|test|code|function|crash|issue|failing)|traceback|stack ?trace|failing tests?|compile error|doesn't compile|does not compile|search/replace"),
    (T.CODE_GENERATION, 2, r"complete (?:the|this) (?:code|function|class)|add (?:a|an) (?:feature|option|flag|endpoint|argument|parameter|field)|port (?:this|it) to|convert (?:this|the) (?:code|function|script)|rewrite (?:this|it) in|exception|error:|raises?|undefined|null pointer|segfault"),
    (T.CODE_GENERATION, 1, r"software (?:engineer|developer)|coding|programming|codebase|repository|code"),
    # code review
    (T.CODE_REVIEW, 4, r"code review|review (?:this|the|my|our|following) (?:code|pr|pull request|diff|change|changes|patch|commit|function|class|implementation|module|snippet)|review (?:it|this) for"),
    (T.CODE_REVIEW, 3, r"critique|what(?:'s| is) wrong with (?:this|my|the) (?:code|function|implementation)|(?:spot|find|any) (?:potential )?(?:bugs|issues|problems|vulnerabilities|code smells)|security (?:issues|vulnerabilities|review|audit)|is this (?:code|implementation|function) (?:correct|idiomatic|good|safe)|feedback on (?:my|this|the) (?:code|implementation|pr|pull request|change)"),
    (T.CODE_REVIEW, 2, r"reviewer|review|lgtm|approve|nitpicks?|best practices|maintainability|readability"),
    # architecture
    (T.ARCHITECTURE_DESIGN, 4, r"architecture|system design|design (?:a|an|the|our) (?:system|service|architecture|platform|pipeline|backend|infrastructure|database schema|data model|api)"),
    (T.ARCHITECTURE_DESIGN, 3, r"microservices?|monolith|scalab(?:le|ility)|high[- ]level design|trade-?offs|event[- ]driven|message (?:queue|bus|broker)|shard(?:ing)?|load balanc(?:er|ing)|high availability|how should (?:we|i) (?:structure|design|split|organi[sz]e)|component diagram|architecture decision record|\badr\b"),
    (T.ARCHITECTURE_DESIGN, 1, r"design|infrastructure|kubernetes|kafka|redis|replication|latency|throughput|components?|services"),
    # math
    (T.MATH_REASONING, 3, r"solve|equation|integral|derivative|probability|theorem|prove that|proof|calculate|compute the|how many|expected value|find the value|greatest common|prime|factorial|percentage of"),
    (T.MATH_REASONING, 2, r"\d+(?:\.\d+)? ?[-+*/^×÷] ?\d+|x\^?2|\bx ?=|step by step|math|arithmetic|algebra|geometry|triangle|circle|area of|remainder"),
    # creative writing
    (T.CREATIVE_WRITING, 4, r"(?:write|compose|draft|create) (?:me )?(?:a|an|the)? ?(?:short |funny |sad |epic |rhyming |little )*(?:story|poem|haiku|limerick|sonnet|song|lyrics|fable|fairy tale|screenplay|scene|monologue|novel|chapter|ballad)"),
    (T.CREATIVE_WRITING, 3, r"poem|haiku|limerick|sonnet|lyrics|short story|once upon a time|fiction|storytelling|rhymes?|verse|slogan|tagline|jingle"),
    (T.CREATIVE_WRITING, 1, r"creative|imaginative|character|plot|narrative|whimsical"),
)

_GROUPS: dict[str, tuple[TaskType, float]] = {}


def _compile() -> re.Pattern[str]:
    parts = []
    for i, (task, weight, pattern) in enumerate(CUES):
        name = f"g{i}"
        _GROUPS[name] = (task, weight)
        parts.append(rf"(?P<{name}>\b(?:{pattern})\b)")
    return re.compile("|".join(parts), re.IGNORECASE)


_CUE_RE = _compile()
_DIFF_RE = re.compile(r"^(?:diff --git |@@ -\d+|--- a/|\+\+\+ b/)", re.MULTILINE)
_CODE_RE = re.compile(
    r"^\s*(?:def |class |import |from \S+ import |function |const |let |var |public |private |func |fn |#include|package |return\b)|[{};]\s*$",
    re.MULTILINE,
)


def _window(text: str, head: int, tail: int = 0) -> str:
    if len(text) <= head + tail:
        return text
    return text[:head] + "\n" + (text[-tail:] if tail else "")


class Classifier(Protocol):
    """Anything that maps a conversation to a task type with a confidence."""

    def classify(self, conv: Conversation) -> Classification: ...


class HeuristicClassifier:
    def classify(self, conv: Conversation) -> Classification:
        scores: dict[TaskType, float] = {}
        matched: list[str] = []
        latest = _window(conv.latest_user, LATEST_HEAD, LATEST_TAIL)
        parts: Iterable[tuple[str, float]] = (
            (latest, W_LATEST),
            (_window(conv.system, SYSTEM_HEAD), W_SYSTEM),
            (conv.earlier[-EARLIER_TAIL:], W_EARLIER),
        )
        for text, part_weight in parts:
            if not text:
                continue
            for m in _CUE_RE.finditer(text):
                task, weight = _GROUPS[m.lastgroup or ""]
                scores[task] = scores.get(task, 0.0) + weight * part_weight
                if len(matched) < 12:
                    matched.append(f"{task.value}:{m.group().lower()[:40]}")
        # Structure of the latest turn: a diff is usually sent to be reviewed; code with no
        # other instruction is usually sent to be completed or fixed.
        if _DIFF_RE.search(latest):
            scores[T.CODE_REVIEW] = scores.get(T.CODE_REVIEW, 0.0) + 6
            matched.append("code_review:<diff>")
        elif len(_CODE_RE.findall(latest)) >= 3:
            scores[T.CODE_GENERATION] = scores.get(T.CODE_GENERATION, 0.0) + 3
            matched.append("code_generation:<code>")
        scores[T.GENERAL] = scores.get(T.GENERAL, 0.0) + GENERAL_BASELINE
        ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
        best, top = ranked[0]
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        confidence = top / (top + second) if top > 0 else 0.0
        return Classification(best, round(confidence, 4), "heuristic", tuple(matched))
