# Runs every task card in the queue folder through the coordinator overnight and writes the
# report (Markdown and HTML). A thin wrapper: the logic is `python -m src.agents.agent_coordinator nightly`.
# Folders are taken from where you run it; a card that cannot run is reported, the others still run.
param(
    [string]$Queue = "",
    [string]$Reports = ""
)
$ErrorActionPreference = "Stop"
if ($Queue) { $Queue = [System.IO.Path]::GetFullPath($Queue, (Get-Location).Path) }
if ($Reports) { $Reports = [System.IO.Path]::GetFullPath($Reports, (Get-Location).Path) }
Set-Location (Join-Path $PSScriptRoot "..")
if (-not $Queue) { $Queue = Join-Path (Get-Location).Path "var/queue" }
$python = Join-Path ".venv" "Scripts/python.exe"
if ($Reports) {
    & $python -m src.agents.agent_coordinator nightly $Queue --report-dir $Reports
} else {
    & $python -m src.agents.agent_coordinator nightly $Queue
}
exit $LASTEXITCODE
