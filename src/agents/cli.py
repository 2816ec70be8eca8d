"""The coordinator's command line (`python -m src.agents.agent_coordinator ...`): flags and
settings read here, paths made absolute here, errors printed here."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from src.agents import agent_coordinator
from src.agents.agent_coordinator import Coordinator
from src.agents.git_worktree import GitError
from src.agents.journal import Journal
from src.agents.report import TaskReport, invalid_card, status_text, write_reports
from src.agents.task_card import TaskCard, load_card, parse_card
from src.agents.workspace import WorkspaceError, work_folder
from src.protocols.llm_protocol import TaskState
from src.router.core.config_errors import ConfigError


def _coordinator(args: argparse.Namespace) -> Coordinator:
    work = work_folder(args.workdir)
    return Coordinator(
        Journal(work.journal), router_url=args.router, work=work, review_window_tokens=args.review_window
    )


def _card_for(coord: Coordinator, task: str) -> TaskCard:
    text = coord.journal.card(task)
    if text is None:
        raise SystemExit(f"no task {task!r} in the journal ({coord.work.journal})")
    return parse_card(text, source=f"journal:{task}")


def _resumable(coord: Coordinator, task: str) -> TaskCard:
    """The journal's card, resolved again (a journal written before repositories were stored
    absolute holds `repo: .`: taken from the current folder, as it was then)."""
    card = _card_for(coord, task)
    return card if Path(card.repo).is_absolute() else coord.prepare(card, source=f"journal:{task}")


def _load(coord: Coordinator, path: Path) -> TaskCard:
    """A card file, validated and resolved at the edge; ConfigError/WorkspaceError say why not."""
    return coord.prepare(load_card(path), source=str(path))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m src.agents.agent_coordinator",
        description=agent_coordinator.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--router", default=os.environ.get("ROUTER_URL", "http://127.0.0.1:5000"))
    parser.add_argument(
        "--workdir",
        default=os.environ.get("COORDINATOR_DIR") or None,
        help="the coordinator's work folder (journal, logs, worktrees, reports); default: var/coordinator here",
    )
    parser.add_argument(
        "--review-window",
        type=int,
        default=int(os.environ.get("COORDINATOR_REVIEW_WINDOW", "8192")),
        help="tokens the reviewing model takes where the router cannot say (its /v1/route and /v1/models"
        " give the largest window it would review with): the diff is cut to fit (default 8192)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run").add_argument("card", type=Path)
    sub.add_parser("status")
    sub.add_parser("resume").add_argument("task")
    sub.add_parser("cancel").add_argument("task")
    nightly = sub.add_parser("nightly")
    nightly.add_argument("queue", type=Path, help="a folder of task cards (*.md), run in name order")
    nightly.add_argument("--report-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    coord = _coordinator(args)
    if args.command == "status":
        reports = [coord.report(_card_for(coord, task), with_diff=False) for task, _, _ in coord.journal.tasks()]
        print(status_text(reports), end="")
        return 0
    if args.command == "cancel":
        coord.cancel(args.task)
        print(f"{args.task}: canceled")
        return 0
    if args.command == "resume":
        try:
            card = _resumable(coord, args.task)
        except WorkspaceError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        report = coord.run(card)
        paths = write_reports([report], coord.work.reports)
        print(f"report: {paths[0]}")
        return 0 if report.state is TaskState.COMPLETED else 1
    if args.command == "run":
        try:
            card = _load(coord, args.card)
        except (ConfigError, WorkspaceError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        coord.submit(card)
        report = coord.run(card)
        paths = write_reports([report], coord.work.reports)
        print(f"report: {paths[0]}")
        return 0 if report.state is TaskState.COMPLETED else 1
    return _nightly(coord, args.queue, args.report_dir.absolute() if args.report_dir else coord.work.reports)


def _nightly(coord: Coordinator, queue: Path, report_dir: Path) -> int:
    """Every card in the queue, in name order. A card that cannot run (invalid, a repository
    that is not there, a base_ref it does not have) is reported as such and the others still run."""
    cards = sorted(queue.glob("*.md"))
    if not cards:
        print(f"nightly: no task cards (*.md) in {queue.absolute()}", file=sys.stderr)
        return 2
    reports: list[TaskReport] = []
    for path in cards:
        try:
            card = _load(coord, path)
        except (ConfigError, WorkspaceError, OSError) as exc:
            print(f"[{path.name}] invalid card, not run: {exc}", flush=True)
            reports.append(invalid_card(path.name, str(exc)))
            continue
        coord.submit(card)
        try:
            reports.append(coord.run(card))
        except GitError as exc:  # e.g. a base_ref the repository does not have
            print(f"[{path.name}] could not run: {exc}", flush=True)
            reports.append(invalid_card(path.name, str(exc)))
        write_reports(reports, report_dir)  # progress after each task
    paths = write_reports(reports, report_dir)
    invalid = sum(1 for r in reports if r.problem)
    print(f"nightly: {len(reports)} task(s), {invalid} invalid; report {paths[0]} and {paths[1]}")
    return 0 if invalid == 0 else 1
