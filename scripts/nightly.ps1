# Runs every task card in the queue folder through the coordinator overnight and writes the
# report (Markdown and HTML). A thin wrapper: the logic is `python -m src.agents.agent_coordinator nightly`.
param(
    [string]$Queue = "var/queue",
    [string]$Reports = "var/coordinator/reports"
)
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..")
$python = Join-Path ".venv" "Scripts/python.exe"
& $python -m src.agents.agent_coordinator nightly $Queue --report-dir $Reports
exit $LASTEXITCODE
