"""Router settings, read once from the environment (and `.env`) at the edge.

Every name below is documented in `.env.example`. Nothing here is read at import time:
`Settings()` is built by the caller (the app factory, the CLI or a test).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",  # .env is shared with LiteLLM and the launcher; their keys are not ours
        case_sensitive=False,
    )

    litellm_base_url: str = "http://127.0.0.1:4000"
    litellm_master_key: SecretStr | None = None
    litellm_config: Path = Path("config/litellm.yaml")
    routing_rules: Path = Path("config/routing_rules.yaml")
    # Client keys (comma-separated). Unset: any local client is accepted (loopback bind).
    router_api_keys: SecretStr | None = None
    admin_api_key: SecretStr | None = None
    # With ROUTER_API_KEYS set, /metrics needs a key too; true opens it for a Prometheus scraper
    # that cannot send one (it shows spend, budgets and backend load).
    metrics_public: bool = False

    # Upstream behaviour. A local 135M model answers in about a second; a long Claude answer
    # can take minutes, so the read timeout is per read (gap between bytes), not per request.
    upstream_connect_timeout_s: float = Field(default=5.0, gt=0)
    upstream_read_timeout_s: float = Field(default=300.0, gt=0)
    # How often model availability is re-probed (free probes only: /models, never a completion).
    probe_interval_s: float = Field(default=5.0, gt=0)
    probe_timeout_s: float = Field(default=2.0, gt=0)
    # Rules hot reload: how often the file's mtime is checked; SIGHUP also reloads.
    rules_poll_interval_s: float = Field(default=1.0, gt=0)
    reload_on_sighup: bool = True
    # Failure handling: a model's circuit opens after this many consecutive failures, for this long.
    breaker_failure_threshold: int = Field(default=3, ge=1)
    breaker_cooldown_s: float = Field(default=10.0, gt=0)
    # Load sampling (GPU via NVML, CPU/memory via psutil, backend /metrics), in the background.
    load_interval_s: float = Field(default=1.0, gt=0)
    load_stale_after_s: float = Field(default=5.0, gt=0)
    gpu_sampling: bool = True
    # Where GPU readings come from: "nvml" (NVIDIA, via nvidia-ml-py), or "file:PATH", a JSON
    # list of readings another vendor's exporter keeps current (see load.FileGpuSampler).
    gpu_sampler: str = "nvml"
    # Spend ledger (SQLite, WAL) and the output reservation for requests without max_tokens.
    ledger_path: Path = Path("var/router/ledger.sqlite3")
    ledger_synchronous_full: bool = False
    default_output_tokens: int = Field(default=1024, ge=1)
    # Shared budget state (several workers or replicas): a reservation of a process that died
    # expires after this long (a live process renews its own every third of it), and the view
    # the policy steers by is re-read this often.
    reservation_lease_s: float = Field(default=10.0, gt=0)
    budget_refresh_s: float = Field(default=0.5, gt=0)
    # Replicas on several machines: budgets, reservations, breaker states and usage in one Redis
    # (redis://[:password@]host:port/db). Empty: this machine's ledger is the shared state.
    redis_url: SecretStr | None = None
    redis_prefix: str = "mllm:"
    # How long a Redis call may take before priced models are refused (free ones never wait on it).
    redis_timeout_s: float = Field(default=0.5, gt=0)
    # Task classifier: "learned" (the default: a linear model trained on public labelled data, shipped
    # in data/classifier/model.npz; if that file is missing or unreadable the router logs why and uses
    # the heuristic), the built-in "heuristic" (phrase lexicon), or "embedding" (MiniLM; an extra).
    classifier: Literal["learned", "heuristic", "embedding"] = "learned"
    # Another artefact for the learned classifier (default: the one shipped in data/classifier/).
    classifier_model: Path | None = None
    # Refuse request fields that are not OpenAI chat-completions fields (off: forward them).
    strict_request_fields: bool = False
    # Routing per turn: how long a session's turn model is kept after its last request, and how
    # many sessions are remembered (the least recently used is forgotten first).
    session_ttl_s: float = Field(default=3600.0, gt=0)
    session_max: int = Field(default=10_000, ge=1)
    # Largest request body accepted, in bytes (agents send long prompts; 8 MiB is generous).
    max_body_bytes: int = Field(default=8 * 1024 * 1024, gt=0)

    @classmethod
    def load(cls, environ: Mapping[str, str]) -> Settings:
        """From the environment and the env file ROUTER_ENV_FILE names (default `.env` in the
        current folder; empty: none, so only the environment counts — what a test harness wants)."""
        env_file = environ.get("ROUTER_ENV_FILE", ".env")
        return cls(_env_file=env_file or None)

    def api_keys(self) -> tuple[str, ...]:
        raw = self.router_api_keys.get_secret_value() if self.router_api_keys else ""
        return tuple(k.strip() for k in raw.split(",") if k.strip())

    def admin_key_value(self) -> str | None:
        """The admin key; an empty `ADMIN_API_KEY=` (as in .env.example) means none."""
        return (self.admin_api_key.get_secret_value() if self.admin_api_key else "") or None

    def redis_url_value(self) -> str | None:
        """REDIS_URL; empty (as in .env.example) means none: the ledger is the shared state."""
        return (self.redis_url.get_secret_value() if self.redis_url else "").strip() or None

    def master_key_value(self) -> str | None:
        return self.litellm_master_key.get_secret_value() if self.litellm_master_key else None
