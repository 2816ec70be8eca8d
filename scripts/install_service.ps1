# Registers the stack as a Windows scheduled task that starts at logon and restarts on failure:
# the service twin of the systemd unit (`python -m src.stack unit`). It runs
# scripts/start_services.ps1 (llama-server + LiteLLM + router, configured by .env: ROUTER_WORKERS,
# REDIS_URL, ports) in this clone, as the current user, with no window.
#
#   powershell -ExecutionPolicy Bypass -File scripts\install_service.ps1             # register and start
#   powershell -ExecutionPolicy Bypass -File scripts\install_service.ps1 -Uninstall  # stop and remove
#
# A scheduled task rather than a Windows service: the stack is a console launcher with child
# processes, which the Service Control Manager cannot host without a wrapper (NSSM, WinSW).
param(
    [string]$TaskName = "MultiLLM-Stack",
    [switch]$Uninstall
)
$ErrorActionPreference = "Stop"
$repo = (Resolve-Path (Join-Path $PSScriptRoot "..")).Path
$start = Join-Path $repo "scripts\start_services.ps1"

if ($Uninstall) {
    if (Get-ScheduledTask -TaskName $TaskName -ErrorAction SilentlyContinue) {
        Stop-ScheduledTask -TaskName $TaskName -ErrorAction SilentlyContinue
        Unregister-ScheduledTask -TaskName $TaskName -Confirm:$false
        Write-Host "removed scheduled task $TaskName"
    } else {
        Write-Host "no scheduled task $TaskName"
    }
    exit 0
}

$action = New-ScheduledTaskAction -Execute "powershell.exe" `
    -Argument "-NoProfile -NonInteractive -WindowStyle Hidden -ExecutionPolicy Bypass -File `"$start`"" `
    -WorkingDirectory $repo
$trigger = New-ScheduledTaskTrigger -AtLogOn -User $env:USERNAME
# Restart up to 3 times, a minute apart; no time limit (it is a server).
$settings = New-ScheduledTaskSettingsSet -RestartCount 3 -RestartInterval (New-TimeSpan -Minutes 1) `
    -ExecutionTimeLimit ([TimeSpan]::Zero) -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries -StartWhenAvailable
$principal = New-ScheduledTaskPrincipal -UserId $env:USERNAME -LogonType Interactive -RunLevel Limited
Register-ScheduledTask -TaskName $TaskName -Action $action -Trigger $trigger -Settings $settings `
    -Principal $principal -Description "Multi-LLM stack ($repo): llama-server, LiteLLM proxy, policy router" -Force | Out-Null
Start-ScheduledTask -TaskName $TaskName
Write-Host "registered and started scheduled task $TaskName (logs: $repo\var\log); remove it with -Uninstall"
