"""The classifier's training data as committed: the label files, stubs made from real code, and
diff hunks taken from a real repository's history."""

from __future__ import annotations

import json
import random
import re
import subprocess
from pathlib import Path

import pytest

from benchmarks.classifier_eval.sources import load
from scripts.classifier.build_data import GIT, LABELS_DIR, Mirrors, function_stubs, read_labels, real_hunks
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


def _git(repo: Path, *args: str) -> None:
    subprocess.run([GIT, "-C", str(repo), *args], check=True, capture_output=True)


def test_hunks_come_from_the_history_as_git_shows_them(tmp_path: Path) -> None:
    """`git log -p` of a real repository, whatever the user's git configuration: each hunk keeps its
    `@@` line and context, its file header is kept apart, at most two hunks per file diff, and
    binary files, tiny hunks and other languages' files give none."""
    repo = tmp_path / "example+project" / "repo"
    repo.mkdir(parents=True)
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "t@example.org")
    _git(repo, "config", "user.name", "t")
    # A user's settings that must not change the format: no a/ b/ prefixes, hunks merged.
    _git(repo, "config", "diff.noprefix", "true")
    _git(repo, "config", "diff.interHunkContext", "100")
    body = [f"func f{i}(x int) int {{\n\treturn x + {i}\n}}\n" for i in range(40)]
    (repo / "main.go").write_text("package main\n\n" + "\n".join(body))
    (repo / "logo.png").write_bytes(bytes(range(256)))
    (repo / "notes.py").write_text("x = 1\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "first")
    for i in (2, 15, 30):  # three separate hunks in one file diff
        body[i] = body[i].replace(f"x + {i}", f"x * {i} // changed")
    (repo / "main.go").write_text("package main\n\n" + "\n".join(body))
    (repo / "logo.png").write_bytes(bytes(reversed(range(256))))
    (repo / "notes.py").write_text("x = 2\n")
    _git(repo, "commit", "-qam", "second")

    hunks = real_hunks(Mirrors(tmp_path), "example/project", ("*.go", "*.png"))
    assert len(hunks) == 2  # three hunks in the one Go file diff: two kept; the PNG gives none
    for header, hunk in hunks:
        assert header.startswith("diff --git a/main.go b/main.go\n") and header.endswith("+++ b/main.go")
        assert re.match(r"@@ -\d+,\d+ \+\d+,\d+ @@", hunk)
        assert "-\treturn x + " in hunk and "+\treturn x * " in hunk and "// changed" in hunk
    assert hunks[0][1] != hunks[1][1]


def test_codereviewer_hunks_are_sent_alone_as_code_review(tmp_path: Path) -> None:
    """The independent code_review prompts: each row's `patch` (CodeReviewer's record format:
    patch, y, oldf, idx, id, msg, proj, lang) is the whole user turn, nothing added."""
    patch = "@@ -1,3 +1,3 @@ class A:\n def f(self):\n-    return 1\n+    return 2\n"
    record = {"patch": patch, "y": 1, "oldf": "", "idx": 1, "id": 7, "msg": "why 2?", "proj": "a/b", "lang": "py"}
    (tmp_path / "codereviewer_msg_test_100.jsonl").write_text(json.dumps(record) + "\n\n")
    prompts = list(load(tmp_path))
    assert [(p.source, p.label, p.messages) for p in prompts] == [
        ("codereviewer", "code_review", [{"role": "user", "content": patch}])
    ]
