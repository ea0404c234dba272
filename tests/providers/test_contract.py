"""The contract every provider keeps, checked over the whole registry.

Per-platform tests (test_<name>.py) check each platform's exact requests and answers; this file checks what
the rest of Stella relies on from any provider, so a new or changed adapter cannot quietly break it.
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

import stella.providers as registry
from stella.platforms import PLATFORMS
from stella.providers.base import ClientCredentials, OutboundPost, PlatformRules, Provider, TokenSet
from stella.providers.errors import ProviderError, RateLimitedError, TransientError
from stella.providers.http import HttpClient
from stella.providers.rules import validate

SANDBOX = "http://127.0.0.1:5999"
OAUTH_REDIRECT = [cls for cls in registry.PROVIDER_CLASSES if cls.auth_style == "oauth2" and not cls.needs_instance]


def answer(status: int, body: object = None, headers: dict[str, str] | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = b"" if body is None else json.dumps(body).encode()
    response.headers.update(headers or {})
    response.url = "https://example.invalid/"
    return response


def test_the_registry_holds_exactly_the_eleven_stored_provider_ids_in_order():
    names = [cls.name for cls in registry.PROVIDER_CLASSES]
    assert tuple(names) == PLATFORMS
    assert set(registry.PROVIDERS_BY_NAME) == set(PLATFORMS)


@pytest.mark.parametrize("cls", registry.PROVIDER_CLASSES, ids=lambda c: c.name)
def test_each_provider_declares_what_the_ui_and_setup_help_show(cls: type[Provider]):
    assert cls.display_name and re.fullmatch(r"[a-z0-9-]+", cls.icon)
    assert re.fullmatch(r"#[0-9A-Fa-f]{6}", cls.color)
    assert cls.auth_style in ("oauth2", "app_password")
    if cls in OAUTH_REDIRECT:
        assert cls.authorize_url.startswith("https://") and cls.token_url.startswith("https://")
        assert cls.scopes, "an OAuth platform must ask for the scopes publishing needs"
        assert cls.developer_portal.startswith("https://") and cls.setup_notes


@pytest.mark.parametrize("cls", registry.PROVIDER_CLASSES, ids=lambda c: c.name)
def test_each_provider_declares_rules_that_validate_enforces(cls: type[Provider]):
    rules = cls.rules
    assert isinstance(rules, PlatformRules) and rules.max_chars > 0
    too_long = OutboundPost(text="a" * (rules.max_chars + 1))
    assert "text_too_long" in {p.code for p in validate(rules, too_long)}, (
        f"{cls.name}: a post one character over the limit must be refused"
    )
    if rules.requires_media or rules.requires_video:
        assert validate(rules, OutboundPost(text="Open house")), f"{cls.name}: media is required but not checked"


@pytest.mark.parametrize("cls", registry.PROVIDER_CLASSES, ids=lambda c: c.name)
def test_each_provider_implements_publishing_and_status_polling(cls: type[Provider]):
    assert cls.publish is not Provider.publish, f"{cls.name} does not implement publish"
    assert cls.check_publish is not Provider.check_publish, f"{cls.name} does not implement check_publish"
    assert cls.fetch_profile is not Provider.fetch_profile, f"{cls.name} does not implement fetch_profile"


@pytest.mark.parametrize("cls", OAUTH_REDIRECT, ids=lambda c: c.name)
def test_authorization_urls_carry_state_redirect_and_pkce_and_go_to_the_sandbox_when_set(cls: type[Provider]):
    provider = cls(ClientCredentials("client-123", "secret-456"), HttpClient(sandbox_url=SANDBOX))
    redirect = f"http://127.0.0.1:5000/connections/{cls.name}/callback"
    url = provider.authorization_url(redirect_uri=redirect, state="state-789", code_challenge="challenge-abc")
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    real_host = urlsplit(cls.authorize_url).netloc
    assert url.startswith(f"{SANDBOX}/{real_host}/"), "authorization redirects must follow sandbox routing"
    assert query["state"] == ["state-789"] and query["redirect_uri"] == [redirect]
    assert "client-123" in parts.query, "the client id must be in the authorization URL"
    assert "secret-456" not in url, "the client secret never goes to the browser"
    if cls.uses_pkce:
        assert query["code_challenge"] == ["challenge-abc"] and query["code_challenge_method"] == ["S256"]


@pytest.mark.parametrize("cls", registry.PROVIDER_CLASSES, ids=lambda c: c.name)
def test_server_errors_and_rate_limits_become_retryable_typed_errors(cls: type[Provider]):
    provider = cls(ClientCredentials("client-123", "secret-456", instance_url="https://mastodon.example"),
                   HttpClient())
    failure = provider.classify_error(answer(503, {"error": "unavailable"}))
    assert isinstance(failure, TransientError) and failure.retryable
    limited = provider.classify_error(answer(429, {"error": "slow down"}, {"Retry-After": "30"}))
    assert isinstance(limited, RateLimitedError) and limited.retryable
    assert isinstance(provider.classify_error(answer(500)), ProviderError)


def test_a_token_set_never_prints_its_tokens():
    tokens = TokenSet(access_token="very-secret-access", refresh_token="very-secret-refresh")
    assert "very-secret" not in repr(tokens) and "very-secret" not in str(tokens)
