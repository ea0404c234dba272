"""One typed configuration, read from the environment (and an optional `.env`) once.

Nothing else in Stella reads `os.environ`: code that needs a setting receives the `Config`.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from flask import current_app

from stella.platforms import PLATFORMS

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
    # Per-platform deployment options, keyed by provider name then option (`scopes`, `login_config_id`,
    # `api_url`), from `STELLA_<NAME>_SCOPES`, `_LOGIN_CONFIG_ID`, `_API_URL`; see `PROVIDER_OPTIONS`. Which
    # platforms take `scopes` depends on the providers' auth style, checked by `services.platforms` at start-up.
    provider_options: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    testing: bool = False
    csrf_enabled: bool = True
    login_max_failures: int = 5
    login_window_minutes: int = 15
    session_cookie_secure: bool = False
    # Seconds to wait for a platform to accept the connection / to answer once the request is sent.
    http_connect_timeout: float = 5.0
    http_read_timeout: float = 30.0
    # Reverse proxies in front of Stella whose X-Forwarded-For/-Proto are trusted; 0 trusts none.
    proxy_hops: int = 0

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    def with_overrides(self, **changes: Any) -> Config:
        return replace(self, **changes)

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        instance_path: Path | None = None,
        dotenv_path: Path | None = None,
    ) -> Config:
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
            provider_options=_provider_options(env),
            session_cookie_secure=production,
            http_connect_timeout=_seconds(env, "STELLA_HTTP_CONNECT_TIMEOUT", default=5.0),
            http_read_timeout=_seconds(env, "STELLA_HTTP_READ_TIMEOUT", default=30.0),
            proxy_hops=_whole_number(env, "STELLA_PROXY_HOPS", default=0),
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


def _whole_number(env: Mapping[str, str], name: str, *, default: int) -> int:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise ConfigError(f"{name} must be a whole number, 0 or more (got {raw!r}).")
    return int(raw)


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


# -- per-platform options -----------------------------------------------------------------------------------

# Scope-token characters (https://www.rfc-editor.org/rfc/rfc6749#section-3.3); commas and whitespace separate tokens.
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x2b\x2d-\x5b\x5d-\x7e]+")
# Pinterest's production API and its API Sandbox for Trial apps
# (developers.pinterest.com/docs/developer-tools/sandbox/).
PINTEREST_API_URLS = ("https://api.pinterest.com", "https://api-sandbox.pinterest.com")


def _parse_scopes(name: str, raw: str) -> str:
    tokens = [t for t in re.split(r"[\s,]+", raw.strip()) if t]
    bad = [t for t in tokens if not _SCOPE_TOKEN.fullmatch(t)]
    if bad:
        raise ConfigError(f"{name} holds a scope with characters OAuth does not allow: {bad[0]!r}.")
    # Keep the administrator's order (some consent screens show it) but drop repeats.
    return " ".join(dict.fromkeys(tokens))


def _parse_login_config_id(name: str, raw: str) -> str:
    value = raw.strip()
    if not value.isdigit() or not value.isascii():
        raise ConfigError(
            f"{name} must be the numeric Configuration ID shown under Facebook Login for Business → "
            f"Configurations (got {value!r})."
        )
    return value


def _parse_pinterest_api_url(name: str, raw: str) -> str:
    value = raw.strip().rstrip("/")
    # Accept the base URL as Pinterest's docs print it, with the API version.
    if value.endswith("/v5"):
        value = value[: -len("/v5")]
    if value not in PINTEREST_API_URLS:
        allowed = " or ".join(PINTEREST_API_URLS)
        raise ConfigError(f"{name} must be {allowed} (got {raw.strip()!r}).")
    return value


@dataclass(frozen=True)
class ProviderOption:
    """One `STELLA_<NAME>_<SUFFIX>` setting: the option key providers read, who may set it, how it is checked."""

    key: str
    suffix: str
    parse: Callable[[str, str], str]
    # Provider names the option applies to; None means every OAuth platform (checked against the providers in
    # `stella.services.platforms.check_provider_options`, since config sits below the provider registry).
    platforms: frozenset[str] | None
    applies_to: str


PROVIDER_OPTIONS: tuple[ProviderOption, ...] = (
    ProviderOption("scopes", "_SCOPES", _parse_scopes, None, "OAuth platforms"),
    # Meta's Facebook Login for Business takes its permissions from a configuration (FLfB docs).
    ProviderOption("login_config_id", "_LOGIN_CONFIG_ID", _parse_login_config_id,
                   frozenset({"facebook", "instagram"}), "Facebook and Instagram"),
    ProviderOption("api_url", "_API_URL", _parse_pinterest_api_url, frozenset({"pinterest"}), "Pinterest"),
)


def _provider_options(env: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """`STELLA_<NAME>_<OPTION>` settings, checked: an unknown platform or a misplaced option is a startup error
    rather than a setting silently ignored. Empty values mean "use the default"."""
    found: dict[str, dict[str, str]] = {}
    for key, raw in sorted(env.items()):
        if not key.startswith("STELLA_") or not raw.strip():
            continue
        for option in PROVIDER_OPTIONS:
            if not key.endswith(option.suffix):
                continue
            name = key[len("STELLA_"):-len(option.suffix)].lower()
            if name not in PLATFORMS:
                known = ", ".join(f"STELLA_{n.upper()}{option.suffix}" for n in PLATFORMS)
                raise ConfigError(f"{key} names no platform Stella knows (one of {known}).")
            if option.platforms is not None and name not in option.platforms:
                raise misplaced_option(key, option)
            found.setdefault(name, {})[option.key] = option.parse(key, raw)
    for name, options in found.items():
        if "scopes" in options and "login_config_id" in options:
            # Facebook Login for Business takes its permissions from the configuration, never from `scope`.
            upper = name.upper()
            raise ConfigError(
                f"Set STELLA_{upper}_SCOPES or STELLA_{upper}_LOGIN_CONFIG_ID, not both: with a Login for Business "
                "configuration the permissions are the ones chosen in that configuration."
            )
    return found


def misplaced_option(key: str, option: ProviderOption) -> ConfigError:
    return ConfigError(f"{key} is not used: only {option.applies_to} take this setting.")


CONFIG_KEY = "stella.config"


def get_config() -> Config:
    """The running app's `Config` (set by `create_app`)."""
    config: Config = current_app.extensions[CONFIG_KEY]
    return config


def _generated_secret(path: Path) -> str:
    """A development secret made once and kept under instance/, so sessions survive restarts."""
    return _read_or_create(path, lambda: secrets.token_urlsafe(48))


def _generated_fernet_key(path: Path) -> str:
    from cryptography.fernet import Fernet

    return _read_or_create(path, lambda: Fernet.generate_key().decode())


def _read_or_create(path: Path, make: Callable[[], str]) -> str:
    if path.is_file():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value
