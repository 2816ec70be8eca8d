#!/usr/bin/env sh
# POSIX twin of nightly.ps1: run every task card in a queue folder, write the report.
#   scripts/nightly.sh [QUEUE_DIR] [REPORT_DIR]
# Folders are taken from where you run it (then made absolute); the coordinator runs from the
# project folder. A card that cannot run is reported and the others still run (exit 1 then).
set -eu
QUEUE="${1:-}"
REPORTS="${2:-}"
abs() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s/%s\n' "$(pwd)" "$1" ;; esac; }
[ -n "$QUEUE" ] && QUEUE="$(abs "$QUEUE")"
[ -n "$REPORTS" ] && REPORTS="$(abs "$REPORTS")"
cd "$(dirname "$0")/.."
QUEUE="${QUEUE:-$(pwd)/var/queue}"
if [ -n "$REPORTS" ]; then
    exec .venv/bin/python -m src.agents.agent_coordinator nightly "$QUEUE" --report-dir "$REPORTS"
fi
exec .venv/bin/python -m src.agents.agent_coordinator nightly "$QUEUE"
