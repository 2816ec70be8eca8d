"""The run report: Markdown for the terminal and the repo, HTML for a browser."""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from src.agents.agent_coordinator import TaskReport


def markdown(reports: Sequence[TaskReport]) -> str:
    lines = [f"# Coordinator report — {time.strftime('%Y-%m-%d %H:%M:%S')}", ""]
    total = sum(s.usage.cost_usd for r in reports for s in r.steps)
    lines.append(f"{len(reports)} task(s), total cost ${total:.4f}.")
    for r in reports:
        cost = sum(s.usage.cost_usd for s in r.steps)
        tokens = sum(s.usage.prompt_tokens + s.usage.completion_tokens for s in r.steps)
        lines += [
            "",
            f"## {r.task}: {r.title}",
            "",
            f"State **{r.state.value}** on branch `{r.branch}`; {tokens:,} tokens, ${cost:.4f}.",
            "",
            "| step | agent | state | attempt | commits | model calls | tokens | cost (USD) | time (s) | note |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for s in r.steps:
            u = s.usage
            note = (
                (s.error.code + ": " if s.error else "") + (f"verdict {s.verdict}; " if s.verdict else "") + s.summary
            )
            note = note.replace("|", "\\|").replace("\n", " ")[:160]
            lines.append(
                f"| {s.role} | {s.agent} | {s.state.value} | {s.attempt} | {s.commits} | {u.requests} | "
                f"{u.prompt_tokens + u.completion_tokens:,} | {u.cost_usd:.4f} | {u.duration_s:.1f} | {note} |"
            )
        if r.tests:
            lines += ["", "Tests:", "", "```", r.tests.strip()[:1500], "```"]
        if r.diff:
            lines += ["", "<details><summary>Diff</summary>", "", "```diff", r.diff[:20000], "```", "", "</details>"]
    return "\n".join(lines) + "\n"


def to_html(reports: Sequence[TaskReport]) -> str:
    rows = []
    for r in reports:
        rows.append(
            f"<h2>{html.escape(r.task)}: {html.escape(r.title)}</h2>"
            f"<p>State <b class='{r.state.value}'>{r.state.value}</b> on <code>{html.escape(r.branch)}</code></p>"
        )
        rows.append(
            "<table><tr><th>step</th><th>agent</th><th>state</th><th>attempt</th><th>commits</th>"
            "<th>model calls</th><th>tokens</th><th>cost (USD)</th><th>time (s)</th><th>note</th></tr>"
        )
        for s in r.steps:
            u = s.usage
            note = (
                (s.error.code + ": " if s.error else "") + (f"verdict {s.verdict}; " if s.verdict else "") + s.summary
            )
            rows.append(
                f"<tr><td>{s.role}</td><td>{html.escape(s.agent)}</td><td class='{s.state.value}'>"
                f"{s.state.value}</td><td>{s.attempt}</td><td>{s.commits}</td><td>{u.requests}</td>"
                f"<td>{u.prompt_tokens + u.completion_tokens:,}</td><td>{u.cost_usd:.4f}</td>"
                f"<td>{u.duration_s:.1f}</td><td>{html.escape(note[:300])}</td></tr>"
            )
        rows.append("</table>")
        if r.tests:
            rows.append(f"<h3>Tests</h3><pre>{html.escape(r.tests[:1500])}</pre>")
        if r.diff:
            rows.append(f"<details><summary>Diff</summary><pre>{html.escape(r.diff[:20000])}</pre></details>")
    style = (
        "body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;font-size:13px}.completed{color:#070}"
        ".failed{color:#b00}.canceled{color:#666}pre{background:#f6f6f6;padding:1em;overflow:auto}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Coordinator report</title>"
        f"<style>{style}</style></head><body><h1>Coordinator report — {time.strftime('%Y-%m-%d %H:%M:%S')}</h1>"
        + "".join(rows)
        + "</body></html>\n"
    )


def write_reports(reports: Sequence[TaskReport], out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    md, page = out_dir / "report.md", out_dir / "report.html"
    md.write_text(markdown(reports))
    page.write_text(to_html(reports))
    return md, page
