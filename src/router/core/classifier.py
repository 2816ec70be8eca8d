"""The built-in task classifier: phrase and structure cues, no ML dependency, microseconds.

It reads a bounded window of the conversation (the head and tail of the latest user turn,
the head of the system prompt, the tail of earlier turns), so its cost does not grow with the
many kB of system prompt and code that coding agents send. Each window is split into words
once; its sets of words, word pairs and word triples are intersected (in C) with the cue
lexicon, so the Python-level work is proportional to the cues found, not to the text. Each
cue carries a task type and a weight; the part of the conversation it was found in multiplies
that weight (latest user turn most). A few structural cues (a unified diff, lines of code,
arithmetic) are found with plain substring counts.
"""

from __future__ import annotations

import re
from itertools import pairwise
from typing import Protocol

from src.router.core.features import Conversation
from src.router.core.policy import Classification
from src.router.core.tasks import TaskType

T = TaskType

# How much a cue counts, by where it was found.
W_LATEST, W_SYSTEM, W_EARLIER = 3.0, 1.0, 0.5
# How much of each part is read (characters).
LATEST_HEAD, LATEST_TAIL, SYSTEM_HEAD, EARLIER_TAIL = 1000, 300, 600, 300
# `general` wins unless another type scores more than this.
GENERAL_BASELINE = 2.5

_LANGS = (
    "english french german spanish italian portuguese dutch russian chinese mandarin japanese korean arabic "
    "hindi turkish polish swedish norwegian danish finnish greek hebrew czech ukrainian vietnamese thai indonesian"
)

# task type -> {weight: "phrase | phrase | ..."}; a phrase is one to three words.
LEXICON: dict[TaskType, dict[float, str]] = {
    T.SENTIMENT: {
        4: "sentiment | sentiments | polarity | positive or negative | negative or positive | emotional tone"
        " | negative or neutral | positive negative neutral | does the customer | customer feel",
        2: "positive | negative | neutral | tone | satisfied | happy or | or frustrated | angry or | or calm"
        " | opinion about | mood | feel in",
    },
    T.CLASSIFICATION: {
        4: "classify | classification | categorize | categorise | categorization | triage | which category"
        " | spam or | intent classifier | department label | assign one label | topic bucket | phishing attempt",
        2: "category | categories | label | labels | tag | bucket | buckets | intent | one of | options"
        " | spam | severity | pick from | which programming language | is this a",
    },
    T.EXTRACTION: {
        4: "extract | extraction | pull out | named entities | key value pairs | fill this schema"
        " | information extraction | list all | list every | get the email | identify every | find all | parse this",
        2: "json | fields | schema | entities | invoice number | total amount | timestamp | timestamps | error code"
        " | emails | email addresses | phone numbers | urls | dates | skills | action items | only the rows"
        " | street | postal code | addresses",
    },
    T.SUMMARIZATION: {
        4: "summarize | summarise | summary | summarization | tl dr | tldr | condense | recap | key points"
        " | main points | gist | executive summary | shorten",
        2: "in three sentences | in two sentences | one sentence | one paragraph | in plain english | overview"
        " | bullet points | two lines | at most",
    },
    T.TRANSLATION: {
        5: "translate | translation | translator | translating | traduce | traduis | übersetze | localize | localise",
        3: "in english | into english | to english | in french | into french | to french | in german | into german"
        " | to german | in spanish | into spanish | to spanish | in italian | in japanese | in chinese | in korean"
        " | in russian | into korean | the russian | the french | the german | the spanish"
        " | do you say | into italian | to japanese | in portuguese",
        1: _LANGS.replace(" ", " | "),
    },
    T.CODE_GENERATION: {
        4: "write a python | write a function | python function | bash script | write a script | implement"
        " | refactor | traceback | stack trace | typeerror | valueerror | keyerror | filenotfounderror | exception"
        " | fix the failing | failing test | unit tests | write unit | write tests | sql query | regex"
        " | react component | complete this function | add a | search replace | code generator | reply with code"
        " | convert this | async await | argparse | cli | migration | pagination | endpoint | do i fix",
        2: "function | class | script | code | coding | programming | software engineer | software developer"
        " | codebase | repository | compile | bug | tests | api | query | component | module | python | java"
        " | javascript | typescript | golang | rust | sql | node js | go",
    },
    T.CODE_REVIEW: {
        5: "code review | review this | review the | review my | review these | please review | strict code reviewer"
        " | security review | critique | spot any bugs | any problems | what s wrong | is this implementation"
        " | feedback on | would you approve | look over | anything looks risky | before i merge | code reviewer",
        2: "review | reviewer | bugs | edge cases | idiomatic | best practices | vulnerabilities | approve | verdict"
        " | risky | safe under | severity | issues",
    },
    T.ARCHITECTURE_DESIGN: {
        5: "architecture | architect | system design | design a system | high level design | microservices"
        " | monolith | event driven | trade offs | tradeoffs | component diagram | architecture decision"
        " | sharding strategy | target architecture | multi region | multi tenant | high availability",
        3: "design | scalability | scale | scaling | data model | rate limiting | sharding | kafka | cqrs"
        " | event sourcing | services communicate | pluggable | structure the | bottlenecks | isolation"
        " | ingestion | caching | storage | migration path | backend",
    },
    T.MATH_REASONING: {
        5: "solve for | equation | integral | derivative | probability | prove that | theorem | compute the"
        " | greatest common | expected value | how many ways | prime number | math tutor | the roots",
        3: "solve | calculate | times as many | area | perimeter | interest | compounded"
        " | monthly payment | irrational | divisor | step by step | percent | dice | die | rolls | fair",
    },
    T.CREATIVE_WRITING: {
        5: "short story | poem | haiku | limerick | sonnet | lyrics | fairy tale | screenplay | monologue | slogans"
        " | slogan | tagline | jingle | continue this story | story about | a story | rhyming | poet"
        " | children s book | bedtime",
        2: "story | creative | character | fantasy | novel | villain | backstory | whimsical | scene | verse"
        " | stanzas | chorus | song | catchy | invent",
    },
}

_WORD_RE = re.compile(r"[a-z0-9äöüßéèçñ]+")
# Alternatives that start with a digit let the regex engine skip ahead fast; a `\b`-anchored
# alternative here made the search 8x slower.
_ARITH_RE = re.compile(r"\d\s*[-+*/^=×÷%]\s*\d|\d\s*%")
_ALGEBRA = ("f(x)", "x^", "x²", "x =", "y =")
# "How many …?" is a word problem when quantities come before it ("Ann has 3 apples … how many
# …"); without them it is a question of fact ("How many moons does Mars have?"), and numbers
# after it belong to a passage pasted below the question.
_HOW_MANY_RE = re.compile(r"\bhow (?:many|much)\b", re.IGNORECASE)
_NUMBER_RE = re.compile(r"\d")

Cue = str | tuple[str, ...]  # one word, or a tuple of two or three words


def _build() -> dict[Cue, list[tuple[TaskType, float]]]:
    cues: dict[Cue, list[tuple[TaskType, float]]] = {}
    for task, tiers in LEXICON.items():
        for weight, phrases in tiers.items():
            for phrase in phrases.split("|"):
                words = tuple(_WORD_RE.findall(phrase.strip().lower()))
                if not 1 <= len(words) <= 3:
                    raise ValueError(f"cue {phrase!r} must be one to three words")
                cues.setdefault(words[0] if len(words) == 1 else words, []).append((task, float(weight)))
    return cues


_CUES = _build()
_ORDER = {t: i for i, t in enumerate(TaskType)}
# Word pairs and triples are matched as tuples: hashing a tuple of interned words is about 3x
# cheaper than joining each pair into a new string.
_UNI = frozenset(c for c in _CUES if isinstance(c, str))
_BI = frozenset(c for c in _CUES if isinstance(c, tuple) and len(c) == 2)
_TRI = frozenset(c for c in _CUES if isinstance(c, tuple) and len(c) == 3)


def _window(text: str, head: int, tail: int = 0) -> str:
    if len(text) <= head + tail:
        return text
    return text[:head] + "\n" + (text[-tail:] if tail else "")


def _cue_key(cue: Cue) -> str:
    return cue if isinstance(cue, str) else " ".join(cue)


def _cues(text: str) -> list[Cue]:
    """The cues found in the text, in a fixed order (a set's order changes with PYTHONHASHSEED,
    and so would the float sums built from it, and the ties between them)."""
    words = _WORD_RE.findall(text.lower())
    found: set[Cue] = set(_UNI.intersection(words))
    if len(words) > 1:
        found.update(_BI.intersection(pairwise(words)))
    if len(words) > 2:
        found.update(_TRI.intersection(zip(words, words[1:], words[2:], strict=False)))
    return sorted(found, key=_cue_key)


def _is_diff(text: str) -> bool:
    return (
        text.startswith(("diff --git", "--- a/")) or "\ndiff --git " in text or ("\n@@ -" in text and "\n+++ " in text)
    )


def _code_lines(text: str) -> int:
    return (
        text.count("\ndef ")
        + text.count("\nclass ")
        + text.count("\nimport ")
        + text.count("return ")
        + text.count("{\n")
        + text.count(";\n")
        + text.count("function ")
        + text.count("=>")
        + text.count("```")
    )


class Classifier(Protocol):
    """Anything that maps a conversation to a task type with a confidence."""

    def classify(self, conv: Conversation) -> Classification: ...


class HeuristicClassifier:
    def classify(self, conv: Conversation) -> Classification:
        scores: dict[TaskType, float] = {}
        matched: list[str] = []
        latest = _window(conv.latest_user, LATEST_HEAD, LATEST_TAIL)
        for text, part_weight in (
            (latest, W_LATEST),
            (_window(conv.system, SYSTEM_HEAD), W_SYSTEM),
            (conv.earlier[-EARLIER_TAIL:], W_EARLIER),
        ):
            if not text:
                continue
            for cue in _cues(text):
                for task, weight in _CUES[cue]:
                    scores[task] = scores.get(task, 0.0) + weight * part_weight
                if len(matched) < 16:
                    matched.append(cue if isinstance(cue, str) else " ".join(cue))
        # Structure of the latest turn: a diff is usually sent to be reviewed; a block of code
        # usually to be completed or fixed; arithmetic suggests a math problem.
        if _is_diff(latest):
            scores[T.CODE_REVIEW] = scores.get(T.CODE_REVIEW, 0.0) + 12
            matched.append("<diff>")
        elif _code_lines(latest) >= 3:
            scores[T.CODE_GENERATION] = scores.get(T.CODE_GENERATION, 0.0) + 6
            matched.append("<code>")
        if _ARITH_RE.search(latest) or any(a in latest for a in _ALGEBRA):
            scores[T.MATH_REASONING] = scores.get(T.MATH_REASONING, 0.0) + 6
            matched.append("<arithmetic>")
        elif (ask := _HOW_MANY_RE.search(latest)) and _NUMBER_RE.search(latest, 0, ask.start()):
            scores[T.MATH_REASONING] = scores.get(T.MATH_REASONING, 0.0) + 9
            matched.append("<word problem>")
        scores[T.GENERAL] = scores.get(T.GENERAL, 0.0) + GENERAL_BASELINE
        # Equal scores go to the type listed first in TaskType, whatever order they were added in.
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], _ORDER[kv[0]]))
        best, top = ranked[0]
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        confidence = top / (top + second) if top > 0 else 0.0
        return Classification(best, round(confidence, 4), "heuristic", tuple(matched))
