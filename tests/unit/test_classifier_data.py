"""The classifier's training data as committed: the label files, and stubs made from real code."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from scripts.classifier.build_data import LABELS_DIR, function_stubs, read_labels
from src.router.core.tasks import TASK_TYPES

LABEL_FILES = sorted(LABELS_DIR.glob("*.tsv"))


def test_every_labelled_collection_is_committed() -> None:
    names = {p.name for p in LABEL_FILES}
    assert {"dolly_train.tsv", "oasst.tsv", "arena_hard.tsv", "arena_hard_v2.tsv"} <= names
    # Every collection but the prompts.chat roles (its image-generator rows are left out) labels every row.
    for path in LABEL_FILES:
        if path.name != "role_prompts.tsv":
            rows = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
            assert int(rows[-1].split("\t")[0]) == len(rows) - 1, path.name


@pytest.mark.parametrize("path", LABEL_FILES, ids=lambda p: p.name)
def test_a_label_file_says_where_its_requests_are_and_labels_each_index_once(path: Path) -> None:
    lines = path.read_text().splitlines()
    assert lines[0].startswith("# ") and re.search(r"\w+/[\w.-]+ @ [0-9a-f]{7}", lines[0]), "first line: repo @ commit"
    rows = [line.split("\t") for line in lines[1:] if line and not line.startswith("#")]
    assert all(len(r) == 2 for r in rows)
    indices = [int(i) for i, _ in rows]
    assert indices == sorted(set(indices)) and indices[0] == 0, "each index once, in order"
    assert {label for _, label in rows} <= {*TASK_TYPES, "SKIP"}
    labelled = read_labels(path.name)
    assert len(labelled) == sum(label != "SKIP" for _, label in rows)


MODULE = '''"""
Problem 1: the sum of all the multiples of 3 or 5 below n.
"""

import math
from __future__ import annotations


def solution(n: int = 1000) -> int:
    """
    Returns the sum of all the multiples of 3 or 5 below n.

    >>> solution(10)
    23
    """
    return sum(x for x in range(n) if x % 3 == 0 or x % 5 == 0)


def _helper(x: int) -> int:
    """A private helper: never a task."""
    return x


def undocumented(x: int) -> int:
    return math.isqrt(x)
'''


def test_a_stub_is_the_signature_and_docstring_without_the_body() -> None:
    stubs = function_stubs(MODULE, random.Random(0))
    assert len(stubs) == 1  # the private and the undocumented function give none
    stub = stubs[0]
    assert "def solution(n: int = 1000) -> int:" in stub and ">>> solution(10)" in stub
    assert "return sum" not in stub and "Problem 1" not in stub


def test_a_stub_can_carry_the_modules_imports_and_its_problem_statement() -> None:
    stubs = [s for seed in range(20) for s in function_stubs(MODULE, random.Random(seed), with_module_doc=True)]
    assert any(s.startswith('"""\nProblem 1') for s in stubs)
    assert any("import math" in s for s in stubs)
    assert not any("__future__" in s for s in stubs)
    assert any(s.startswith("def solution") for s in stubs)
