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
from stella.providers.base import (
    POST_FORMATS,
    Capabilities,
    ClientCredentials,
    OutboundPost,
    PlatformRules,
    Provider,
    TokenSet,
)
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


# -- capabilities ---------------------------------------------------------------------------------------------

# What each platform offers to publish (the composer is built on these): pinned here so a change is a decision.
EXPECTED_PUBLISHING: dict[str, tuple[tuple[str, ...], bool]] = {
    # name: (formats, supports_threads)
    "instagram": (("image", "carousel", "reel", "story"), False),
    "facebook": (("post",), False),  # Page posts
    "linkedin": (("post",), False),  # on the member's profile or an organization page (target_kinds)
    "x": (("post",), True),
    "tiktok": (("video", "carousel"), False),  # a video, or a photo post
    "youtube": (("video", "short"), False),
    "threads": (("post", "carousel"), True),
    "pinterest": (("pin",), False),
    "bluesky": (("post",), True),
    "mastodon": (("post",), True),
    "google_business": (("update", "offer", "event"), False),
}
# Formats a post without any photo or video can take.
TEXT_FORMATS = {"post", "update", "offer", "event"}


def overrides(cls: type[Provider], method: str) -> bool:
    return getattr(cls, method) is not getattr(Provider, method)


@pytest.mark.parametrize("cls", registry.PROVIDER_CLASSES, ids=lambda c: c.name)
def test_each_provider_declares_what_it_publishes_as_the_composer_needs_it(cls: type[Provider]):
    caps = cls.capabilities
    assert isinstance(caps, Capabilities) and caps.formats, f"{cls.name} declares no formats"
    assert set(caps.formats) <= set(POST_FORMATS) and len(set(caps.formats)) == len(caps.formats)
    assert (caps.formats, caps.supports_threads) == EXPECTED_PUBLISHING[cls.name]
    if not TEXT_FORMATS & set(caps.formats):
        assert cls.rules.requires_media, f"{cls.name} takes no text-only format, so its rules must require media"
    if caps.supports_alt_text:
        assert cls.rules.max_images > 0, f"{cls.name} declares alt text but takes no image"
    assert cls.tagline, "the Connections page shows what Stella publishes there"


@pytest.mark.parametrize("cls", registry.PROVIDER_CLASSES, ids=lambda c: c.name)
def test_each_provider_declares_how_it_connects_consistently_with_what_it_implements(cls: type[Provider]):
    has_revoke_endpoint = bool(cls.revoke_url) or overrides(cls, "revoke")
    assert cls.revocable == has_revoke_endpoint, (
        f"{cls.name}: revocable must be True exactly when it has a revoke URL or its own revoke()")
    assert cls.needs_instance == overrides(cls, "register_app"), (
        f"{cls.name}: needs_instance must be True exactly when it implements register_app()")
    app_password = cls.auth_style == "app_password"
    assert app_password == overrides(cls, "create_session"), (
        f"{cls.name}: an app-password platform implements create_session(), and only it")
    assert app_password == bool(cls.default_service_url) == bool(cls.app_password_location)
    assert cls.has_targets == overrides(cls, "list_targets") == bool(cls.capabilities.target_kinds), (
        f"{cls.name}: has_targets, list_targets() and capabilities.target_kinds must agree")
    if app_password:
        assert not cls.needs_instance and not cls.has_targets


@pytest.mark.parametrize("cls", registry.PROVIDER_CLASSES, ids=lambda c: c.name)
def test_hooks_a_platform_does_not_declare_say_so_clearly(cls: type[Provider]):
    provider = cls(ClientCredentials("client-123", "secret-456", instance_url="https://mastodon.example"),
                   HttpClient())
    if not cls.needs_instance:
        with pytest.raises(NotImplementedError, match=f"{re.escape(cls.display_name)} has no per-server app"):
            provider.register_app("https://mastodon.example", "https://stella.example/callback")
    if cls.auth_style != "app_password":
        with pytest.raises(NotImplementedError, match="does not sign in with an app password"):
            provider.create_session("https://bsky.social", "someone", "xxxx-xxxx-xxxx-xxxx")
    if not cls.revocable:
        with pytest.raises(NotImplementedError, match="offers no way to revoke"):
            provider.revoke(TokenSet(access_token="token"))


def test_a_token_set_never_prints_its_tokens():
    tokens = TokenSet(access_token="very-secret-access", refresh_token="very-secret-refresh")
    assert "very-secret" not in repr(tokens) and "very-secret" not in str(tokens)
