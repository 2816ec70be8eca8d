#!/usr/bin/env sh
# POSIX twin of nightly.ps1: run every task card in a queue folder, write the report.
#   scripts/nightly.sh [QUEUE_DIR] [REPORT_DIR]
set -eu
cd "$(dirname "$0")/.."
QUEUE="${1:-var/queue}"
REPORTS="${2:-var/coordinator/reports}"
exec .venv/bin/python -m src.agents.agent_coordinator nightly "$QUEUE" --report-dir "$REPORTS"
