"""Building configured provider instances: credentials from the Config (or the sandbox), one HttpClient per app."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flask import Flask, current_app

import stella.providers as registry
from stella.config import PROVIDER_OPTIONS, Config, get_config, misplaced_option
from stella.extensions import db
from stella.models import MastodonApp
from stella.providers import provider_class as provider_class  # re-exported: services and views import it from here
from stella.providers.base import ClientCredentials, Provider
from stella.providers.errors import NotConfiguredError
from stella.providers.http import HttpClient

HTTP_CLIENT_KEY = "stella.http_client"


def check_provider_options(config: Config) -> None:
    """Refuse to start with a deployment option the platform does not take (`scopes` on an app-password platform).

    Config parses and checks what it can alone; which platforms are OAuth is the providers' declaration.
    """
    for name, options in config.provider_options.items():
        for option in PROVIDER_OPTIONS:
            if option.key in options and option.platforms is None and provider_class(name).auth_style != "oauth2":
                upper = name.upper()
                raise misplaced_option(f"STELLA_{upper}{option.suffix}", option)


def build_http_client(config: Config) -> HttpClient:
    """The app's one HTTP client: timeouts from the Config, sandbox routing when a sandbox is configured."""
    return HttpClient(
        sandbox_url=config.sandbox_url,
        allow_private_hosts=config.allow_private_hosts,
        connect_timeout=config.http_connect_timeout,
        read_timeout=config.http_read_timeout,
    )


def init_http_client(app: Flask, config: Config) -> None:
    app.extensions[HTTP_CLIENT_KEY] = build_http_client(config)


def http_client() -> HttpClient:
    client: HttpClient = current_app.extensions[HTTP_CLIENT_KEY]
    return client


def provider_names() -> tuple[str, ...]:
    return tuple(cls.name for cls in registry.PROVIDER_CLASSES)


def needs_client_credentials(cls: type[Provider]) -> bool:
    """Bluesky signs in with an app password and Mastodon registers an app per instance: neither needs env vars."""
    return cls.auth_style == "oauth2" and not cls.needs_instance


def is_configured(name: str) -> bool:
    cls = provider_class(name)
    config = get_config()
    return not needs_client_credentials(cls) or bool(config.sandbox_url) or name in config.provider_credentials


def redirect_uri(name: str) -> str:
    """The exact redirect URI to register on the platform (and to send in every authorization request)."""
    return f"{get_config().public_url}/connections/{name}/callback"


def provider_options(name: str) -> Mapping[str, str]:
    """The deployment options for `name` (`STELLA_<NAME>_SCOPES`, `_LOGIN_CONFIG_ID`, `_API_URL`); empty if none."""
    return get_config().provider_options.get(name, {})


def provider_for(name: str, *, instance_url: str | None = None) -> Provider:
    """A ready-to-use provider for `name`.

    Client credentials come from `STELLA_<NAME>_CLIENT_ID/_SECRET`, else from the sandbox defaults when a sandbox
    is configured; Mastodon's come from the app registered on `instance_url` (empty until it is registered).
    Raises NotConfiguredError when a platform needs credentials and has none.
    """
    cls = provider_class(name)
    config = get_config()
    if cls.needs_instance:
        credentials = _instance_credentials(instance_url)
    elif cls.auth_style != "oauth2":
        # App-password platforms (Bluesky) have no client; the user-typed service travels as the instance.
        credentials = ClientCredentials("", "", instance_url=instance_url)
    elif name in config.provider_credentials:
        found = config.provider_credentials[name]
        credentials = ClientCredentials(found.client_id, found.client_secret)
    elif config.sandbox_url:
        credentials = ClientCredentials(f"sandbox-{name}-id", f"sandbox-{name}-secret")
    else:
        raise NotConfiguredError(
            f"{cls.display_name} is not set up yet: an administrator must add its client credentials.", platform=name
        )
    return cls(credentials, http_client(), options=provider_options(name))


def _instance_credentials(instance_url: str | None) -> ClientCredentials:
    if not instance_url:
        return ClientCredentials("", "")
    app = db.session.execute(db.select(MastodonApp).filter_by(instance_url=instance_url)).scalar_one_or_none()
    if app is None:
        return ClientCredentials("", "", instance_url=instance_url)
    return ClientCredentials(app.client_id, app.client_secret, instance_url=instance_url)


@dataclass(frozen=True)
class SetupHelp:
    """What an administrator needs to set a platform up."""

    name: str
    display_name: str
    developer_portal: str
    redirect_uri: str
    # The scopes this deployment asks for (`STELLA_<NAME>_SCOPES` or the platform's defaults).
    scopes: tuple[str, ...]
    env_client_id: str
    env_client_secret: str
    notes: str
    needs_credentials: bool


def setup_help(name: str) -> SetupHelp:
    cls = provider_class(name)
    upper = name.upper()
    return SetupHelp(
        name=name,
        display_name=cls.display_name,
        developer_portal=cls.developer_portal,
        redirect_uri=redirect_uri(name),
        scopes=cls.effective_scopes(provider_options(name)),
        env_client_id=f"STELLA_{upper}_CLIENT_ID",
        env_client_secret=f"STELLA_{upper}_CLIENT_SECRET",
        notes=cls.setup_notes,
        needs_credentials=needs_client_credentials(cls),
    )
