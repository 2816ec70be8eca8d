"""The stack as a service: a systemd unit for this clone (`python -m src.stack unit`).

The unit runs the launcher (`python -m src.stack run`, what `make run` runs) from the clone,
so `.env` (ROUTER_WORKERS, REDIS_URL, ports) configures it exactly as it configures `make run`;
systemd's SIGTERM makes the launcher stop all three services. Windows: see
`scripts/install_service.ps1` (a scheduled task at logon around `scripts/start_services.ps1`).
"""

from __future__ import annotations

from pathlib import Path


def systemd_unit(repo: Path, python: Path) -> str:
    """A unit for `systemctl --user` (or, with `User=` added, for the system manager)."""
    return f"""[Unit]
Description=Multi-LLM stack: llama-server, LiteLLM proxy and policy router ({repo})
Documentation=file://{repo / "README.md"}
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
WorkingDirectory={repo}
ExecStart={python} -m src.stack run
# The launcher stops llama-server, LiteLLM and the router on SIGTERM, then exits.
KillSignal=SIGTERM
TimeoutStopSec=45
Restart=on-failure
RestartSec=5
# The first start builds llama-server (minutes, once): give it time.
TimeoutStartSec=900
Environment=PYTHONUNBUFFERED=1

[Install]
WantedBy=default.target
"""
