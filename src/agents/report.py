"""The run report: Markdown for the terminal and the repo, HTML for a browser, and the short
text `status` prints. Per step: the agent, which model(s) answered and how often, tokens and
cost — all from the router's ledger under the step's own key — and the files it changed."""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from src.protocols.llm_protocol import ErrorInfo, TaskState, Usage


@dataclass
class StepReport:
    role: str
    agent: str
    state: TaskState
    attempt: int
    summary: str
    files: list[str] = field(default_factory=list)  # "path (+added -removed)"
    commits: int = 0
    usage: Usage = field(default_factory=Usage)
    error: ErrorInfo | None = None
    verdict: str | None = None

    @property
    def models(self) -> str:
        return ", ".join(f"{m} ×{n}" for m, n in self.usage.models.items()) or "—"

    @property
    def tokens(self) -> int:
        return self.usage.prompt_tokens + self.usage.completion_tokens

    @property
    def note(self) -> str:
        code = self.error.code + ": " if self.error else ""
        verdict = f"verdict {self.verdict}; " if self.verdict else ""
        return code + verdict + self.summary


@dataclass
class TaskReport:
    task: str
    title: str
    state: TaskState
    branch: str
    steps: list[StepReport]
    diff: str = ""
    tests: str | None = None
    problem: str | None = None  # a card that could not run: why (the card's own error)


def invalid_card(source: str, problem: str) -> TaskReport:
    return TaskReport(source, "(invalid card)", TaskState.REJECTED, "—", [], problem=problem)


_HEAD = ("step", "agent", "state", "attempt", "changed", "models (calls)", "model calls", "tokens", "cost (USD)")
_TAIL = ("time (s)", "note")


def _cells(s: StepReport) -> list[str]:
    u = s.usage
    return [
        s.role,
        s.agent,
        s.state.value,
        str(s.attempt),
        ", ".join(s.files) or "—",
        s.models,
        str(u.requests),
        f"{s.tokens:,}",
        f"{u.cost_usd:.4f}",
        f"{u.duration_s:.1f}",
        s.note,
    ]


def markdown(reports: Sequence[TaskReport]) -> str:
    lines = [f"# Coordinator report — {time.strftime('%Y-%m-%d %H:%M:%S')}", ""]
    total = sum(s.usage.cost_usd for r in reports for s in r.steps)
    invalid = sum(1 for r in reports if r.problem)
    invalid_note = f", {invalid} invalid" if invalid else ""
    lines.append(f"{len(reports)} task(s){invalid_note}, total cost ${total:.4f}.")
    for r in reports:
        if r.problem:
            lines += ["", f"## {r.task}: invalid card, not run", "", "```", r.problem.strip()[:2000], "```"]
            continue
        cost = sum(s.usage.cost_usd for s in r.steps)
        tokens = sum(s.tokens for s in r.steps)
        lines += [
            "",
            f"## {r.task}: {r.title}",
            "",
            f"State **{r.state.value}** on branch `{r.branch}`; {tokens:,} tokens, ${cost:.4f}.",
            "",
            "| " + " | ".join((*_HEAD, *_TAIL)) + " |",
            "|" + "---|" * (len(_HEAD) + len(_TAIL)),
        ]
        for s in r.steps:
            cells = _cells(s)
            cells[-1] = cells[-1].replace("\n", " ")[:160]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        if r.tests:
            lines += ["", "Tests:", "", "```", r.tests.strip()[:1500], "```"]
        if r.diff:
            lines += ["", "<details><summary>Diff</summary>", "", "```diff", r.diff[:20000], "```", "", "</details>"]
    return "\n".join(lines) + "\n"


def to_html(reports: Sequence[TaskReport]) -> str:
    rows = []
    for r in reports:
        if r.problem:
            rows.append(
                f"<h2>{html.escape(r.task)}: invalid card, not run</h2><pre>{html.escape(r.problem[:2000])}</pre>"
            )
            continue
        rows.append(
            f"<h2>{html.escape(r.task)}: {html.escape(r.title)}</h2>"
            f"<p>State <b class='{r.state.value}'>{r.state.value}</b> on <code>{html.escape(r.branch)}</code></p>"
        )
        rows.append("<table><tr>" + "".join(f"<th>{h}</th>" for h in (*_HEAD, *_TAIL)) + "</tr>")
        for s in r.steps:
            cells = _cells(s)
            cells[-1] = cells[-1][:300]
            rows.append(
                "<tr>"
                + "".join(
                    f"<td class='{s.state.value}'>{html.escape(c)}</td>" if i == 2 else f"<td>{html.escape(c)}</td>"
                    for i, c in enumerate(cells)
                )
                + "</tr>"
            )
        rows.append("</table>")
        if r.tests:
            rows.append(f"<h3>Tests</h3><pre>{html.escape(r.tests[:1500])}</pre>")
        if r.diff:
            rows.append(f"<details><summary>Diff</summary><pre>{html.escape(r.diff[:20000])}</pre></details>")
    style = (
        "body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;font-size:13px}.completed{color:#070}"
        ".failed,.rejected{color:#b00}.canceled{color:#666}pre{background:#f6f6f6;padding:1em;overflow:auto}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Coordinator report</title>"
        f"<style>{style}</style></head><body><h1>Coordinator report — {time.strftime('%Y-%m-%d %H:%M:%S')}</h1>"
        + "".join(rows)
        + "</body></html>\n"
    )


def status_text(reports: Sequence[TaskReport]) -> str:
    """What `status` prints: each task's state, then one line per step that ran."""
    lines = []
    for r in reports:
        lines.append(f"{r.task:<32} {r.state.value:<10} {r.branch}")
        for s in r.steps:
            if s.attempt == 0:
                continue
            lines.append(
                f"  {s.role:<9} {s.agent:<9} {s.state.value:<9} {s.usage.requests:>3} call(s) "
                f"{s.tokens:>7,} tokens ${s.usage.cost_usd:.4f}  models: {s.models}"
                + (f"  [{s.error.code}]" if s.error else "")
            )
    return "\n".join(lines) + ("\n" if lines else "")


def write_reports(reports: Sequence[TaskReport], out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    md, page = out_dir / "report.md", out_dir / "report.html"
    md.write_text(markdown(reports))
    page.write_text(to_html(reports))
    return md, page
