#!/usr/bin/env sh
# POSIX twin of start_services.ps1: a thin wrapper; the logic is `python -m src.stack run`.
set -eu
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || make install
exec .venv/bin/python -m src.stack run "$@"
