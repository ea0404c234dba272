"""One typed configuration, read from the environment (and an optional `.env`) once.

Nothing else in Stella reads `os.environ`: code that needs a setting receives the `Config`.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from dotenv import dotenv_values

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE_PATH = PROJECT_ROOT / "instance"

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


class ConfigError(RuntimeError):
    """The environment does not describe a runnable Stella; the message says what to set."""


@dataclass(frozen=True)
class ProviderCredentials:
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class Config:
    secret_key: str
    database_url: str
    public_url: str = "http://127.0.0.1:5000"
    environment: str = "development"
    scheduler_enabled: bool = True
    sandbox_url: str | None = None
    encryption_keys: tuple[str, ...] = ()
    allow_private_hosts: bool = False
    instance_path: Path = DEFAULT_INSTANCE_PATH
    # Per-platform OAuth client credentials, keyed by provider name (`STELLA_<NAME>_CLIENT_ID`/`_SECRET`).
    provider_credentials: Mapping[str, ProviderCredentials] = field(default_factory=dict)
    testing: bool = False
    csrf_enabled: bool = True
    login_max_failures: int = 5
    login_window_minutes: int = 15
    session_cookie_secure: bool = False
    # Seconds to wait for a platform to accept the connection / to answer once the request is sent.
    http_connect_timeout: float = 5.0
    http_read_timeout: float = 30.0

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    def with_overrides(self, **changes: Any) -> "Config":
        return replace(self, **changes)

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        instance_path: Path | None = None,
        dotenv_path: Path | None = None,
    ) -> "Config":
        """Build the configuration from `environ` (default: the process environment) over an optional `.env`."""
        env: dict[str, str] = {}
        dotenv_file = dotenv_path if dotenv_path is not None else PROJECT_ROOT / ".env"
        if dotenv_file.is_file():
            env.update({k: v for k, v in dotenv_values(dotenv_file).items() if v is not None})
        env.update(os.environ if environ is None else environ)

        instance = Path(env.get("STELLA_INSTANCE_PATH") or instance_path or DEFAULT_INSTANCE_PATH)
        environment = (env.get("STELLA_ENV") or env.get("FLASK_ENV") or "development").strip().lower()
        production = environment == "production"

        secret_key = env.get("SECRET_KEY", "").strip()
        if not secret_key:
            if production:
                raise ConfigError("SECRET_KEY must be set when STELLA_ENV/FLASK_ENV is production.")
            secret_key = _generated_secret(instance / "secret_key")

        keys = tuple(k.strip() for k in env.get("STELLA_ENCRYPTION_KEYS", "").split(",") if k.strip())
        if not keys:
            if production:
                raise ConfigError("STELLA_ENCRYPTION_KEYS must be set when STELLA_ENV/FLASK_ENV is production.")
            keys = (_generated_fernet_key(instance / "encryption_key"),)

        return cls(
            secret_key=secret_key,
            database_url=normalize_database_url(
                env.get("DATABASE_URL") or f"sqlite:///{(instance / 'stella.db').as_posix()}"
            ),
            public_url=(env.get("STELLA_PUBLIC_URL") or "http://127.0.0.1:5000").rstrip("/"),
            environment=environment,
            scheduler_enabled=_flag(env, "STELLA_SCHEDULER", default=True),
            sandbox_url=(env.get("STELLA_SANDBOX_URL") or "").rstrip("/") or None,
            encryption_keys=keys,
            allow_private_hosts=_flag(env, "STELLA_ALLOW_PRIVATE_HOSTS", default=False),
            instance_path=instance,
            provider_credentials=_provider_credentials(env),
            session_cookie_secure=production,
            http_connect_timeout=_seconds(env, "STELLA_HTTP_CONNECT_TIMEOUT", default=5.0),
            http_read_timeout=_seconds(env, "STELLA_HTTP_READ_TIMEOUT", default=30.0),
        )


def normalize_database_url(url: str) -> str:
    """Accept the usual `postgres://` / `postgresql://` forms and use the psycopg 3 driver for them."""
    url = url.strip()
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _flag(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConfigError(f"{name} must be on/off (got {raw!r}).")


def _seconds(env: Mapping[str, str], name: str, *, default: float) -> float:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if value <= 0:
        raise ConfigError(f"{name} must be a positive number of seconds (got {raw!r}).")
    return value


def _provider_credentials(env: Mapping[str, str]) -> dict[str, ProviderCredentials]:
    found: dict[str, ProviderCredentials] = {}
    for key, value in env.items():
        if not (key.startswith("STELLA_") and key.endswith("_CLIENT_ID")) or not value.strip():
            continue
        name = key[len("STELLA_"):-len("_CLIENT_ID")].lower()
        secret = env.get(f"STELLA_{name.upper()}_CLIENT_SECRET", "").strip()
        found[name] = ProviderCredentials(client_id=value.strip(), client_secret=secret)
    return found


def _generated_secret(path: Path) -> str:
    """A development secret made once and kept under instance/, so sessions survive restarts."""
    return _read_or_create(path, lambda: secrets.token_urlsafe(48))


def _generated_fernet_key(path: Path) -> str:
    from cryptography.fernet import Fernet

    return _read_or_create(path, lambda: Fernet.generate_key().decode())


def _read_or_create(path: Path, make: Any) -> str:
    if path.is_file():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value
