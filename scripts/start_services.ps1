# Starts llama-server, the LiteLLM proxy and the policy router; Ctrl-C stops all three.
# A thin wrapper: the logic lives in `python -m src.stack run` (tested Python, not shell).
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..")
$python = Join-Path ".venv" "Scripts/python.exe"
if (-not (Test-Path $python)) {
    py -3.11 -m venv .venv
    & $python -m pip install -q -r requirements.txt
}
& $python -m src.stack run @args
exit $LASTEXITCODE
