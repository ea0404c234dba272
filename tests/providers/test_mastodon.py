"""Mastodon adapter: the exact requests it sends to an instance and how it reads real bodies (platform doc §4)."""

from __future__ import annotations

import ipaddress
import json
import socket
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from responses import matchers

from stella.providers.base import Account, ClientCredentials, MediaItem, OutboundPost, TokenSet
from stella.providers.errors import AuthExpiredError, RateLimitedError, RejectedError, TransientError, UnsafeHostError
from stella.providers.http import HttpClient
from stella.providers.mastodon import MastodonProvider

NOW = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)
INSTANCE = "https://mastodon.example"
REDIRECT = "https://stella.example/connections/mastodon/callback"
TOKEN = "ZA-Yj3aBD8U8Cm7lKUp-lm9O9BmDgdhHzDeqsY8tlL0"
SCOPES = "read:statuses write:statuses write:media read:accounts"
# Shapes from the Mastodon documentation (entities/Account.md, Status.md, MediaAttachment.md, Instance.md).
ACCOUNT = {
    "id": "109876543210987654", "username": "harborvine", "acct": "harborvine",
    "display_name": "Harbor & Vine Realty", "url": "https://mastodon.example/@harborvine",
    "avatar": "https://files.mastodon.example/avatars/original/a.png",
    "avatar_static": "https://files.mastodon.example/avatars/original/a_static.png", "note": "<p>Coastal homes</p>",
    "source": {"privacy": "public", "sensitive": False, "language": "en"},
}
INSTANCE_V2 = {
    "domain": "mastodon.example", "title": "Mastodon Example", "version": "4.3.2",
    "configuration": {
        "statuses": {"max_characters": 1000, "max_media_attachments": 4, "characters_reserved_per_url": 23},
        "media_attachments": {"image_size_limit": 16777216, "video_size_limit": 103809024, "description_limit": 1500},
    },
}


STATUS_ID = "113456789012345678"


STATUS_URL = f"https://mastodon.example/@harborvine/{STATUS_ID}"


def status(status_id: str = STATUS_ID, url: str | None = STATUS_URL) -> dict[str, object]:
    return {
        "id": status_id, "created_at": "2026-03-02T15:30:00.000Z", "visibility": "public",
        "uri": f"https://mastodon.example/users/harborvine/statuses/{status_id}", "url": url,
        "replies_count": 0, "reblogs_count": 0, "favourites_count": 0, "content": "<p>Hi</p>",
    }


RESOLVED: dict[str, str] = {}  # host -> address, for tests that make the instance resolve somewhere else


@pytest.fixture(autouse=True)
def public_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every call to the instance is checked: a name resolves to a public address (unless RESOLVED says otherwise)."""

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        try:
            address = str(ipaddress.ip_address(host))
        except ValueError:
            address = RESOLVED.get(host, "93.184.216.34")
        return [(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    RESOLVED.clear()
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture()
def provider() -> MastodonProvider:
    return MastodonProvider(ClientCredentials("cid", "csecret", instance_url=INSTANCE), HttpClient(), clock=lambda: NOW)


def account() -> Account:
    return Account(access_token=TOKEN, platform_account_id="109876543210987654", handle="@harborvine@mastodon.example",
                   metadata={"instance_url": INSTANCE, "image_size_limit": 16777216, "video_size_limit": 103809024})


@responses.activate
def test_register_app_posts_name_redirect_and_scopes_and_returns_instance_credentials() -> None:
    responses.post(
        f"{INSTANCE}/api/v1/apps",
        match=[matchers.json_params_matcher({"client_name": "Stella", "redirect_uris": REDIRECT, "scopes": SCOPES})],
        json={"id": "563419", "name": "Stella", "scopes": SCOPES.split(), "redirect_uris": [REDIRECT],
              "client_id": "TWhM-tNSuncnqN7DBJmoyeLnk6K3iJJ71KKXxgL1hPM",
              "client_secret": "ZEaFUFmF0umgBX1qKJDjaU99Q31lDkOU8NutzTOoliw", "client_secret_expires_at": 0},
    )
    provider = MastodonProvider(ClientCredentials("", ""), HttpClient())
    credentials = provider.register_app(INSTANCE + "/", REDIRECT)
    assert credentials.client_id == "TWhM-tNSuncnqN7DBJmoyeLnk6K3iJJ71KKXxgL1hPM"
    assert credentials.client_secret == "ZEaFUFmF0umgBX1qKJDjaU99Q31lDkOU8NutzTOoliw"
    assert credentials.instance_url == INSTANCE


def test_authorization_url_targets_the_instance_with_scopes_and_pkce_s256(provider: MastodonProvider) -> None:
    url = provider.authorization_url(redirect_uri=REDIRECT, state="st4te", code_challenge="chal-lenge")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{INSTANCE}/oauth/authorize"
    assert "scope=read%3Astatuses%20write%3Astatuses" in parts.query  # space-separated, %20-encoded
    assert {k: v[0] for k, v in parse_qs(parts.query).items()} == {
        "response_type": "code", "client_id": "cid", "redirect_uri": REDIRECT, "scope": SCOPES, "state": "st4te",
        "code_challenge": "chal-lenge", "code_challenge_method": "S256",
    }


def test_authorization_url_is_routed_to_the_sandbox_when_configured() -> None:
    provider = MastodonProvider(ClientCredentials("cid", "cs", instance_url=INSTANCE),
                                HttpClient(sandbox_url="http://127.0.0.1:9000"))
    url = provider.authorization_url(redirect_uri=REDIRECT, state="s")
    assert url.startswith("http://127.0.0.1:9000/mastodon.example/oauth/authorize?")


@responses.activate
def test_exchange_code_sends_client_credentials_in_the_form_and_keeps_a_never_expiring_token(
    provider: MastodonProvider,
) -> None:
    responses.post(f"{INSTANCE}/oauth/token",
                   json={"access_token": TOKEN, "token_type": "Bearer", "scope": SCOPES, "created_at": 1772465400})
    tokens = provider.exchange_code(code="c0de", redirect_uri=REDIRECT, code_verifier="v" * 64)
    request = responses.calls[0].request
    assert "Authorization" not in request.headers  # client_secret_post, not Basic
    assert {k: v[0] for k, v in parse_qs(request.body).items()} == {
        "grant_type": "authorization_code", "code": "c0de", "redirect_uri": REDIRECT, "code_verifier": "v" * 64,
        "client_id": "cid", "client_secret": "csecret",
    }
    assert tokens.access_token == TOKEN
    assert tokens.refresh_token is None and tokens.expires_at is None
    assert tokens.scopes == frozenset(SCOPES.split())
    assert tokens.extra["instance_url"] == INSTANCE


@responses.activate
def test_exchange_code_with_a_bad_code_needs_a_new_login_and_hides_the_code(provider: MastodonProvider) -> None:
    responses.post(f"{INSTANCE}/oauth/token", status=400, json={
        "error": "invalid_grant",
        "error_description": "The provided authorization grant is invalid, expired, revoked, does not match the "
                             "redirection URI used in the authorization request, or was issued to another client."})
    with pytest.raises(AuthExpiredError) as caught:
        provider.exchange_code(code="secret-code-123", redirect_uri=REDIRECT, code_verifier="v" * 64)
    assert "secret-code-123" not in str(caught.value) and "csecret" not in str(caught.value)


def test_refresh_is_impossible_and_asks_to_reconnect(provider: MastodonProvider) -> None:
    tokens = TokenSet(access_token=TOKEN)
    assert provider.can_refresh(tokens) is False
    with pytest.raises(AuthExpiredError):
        provider.refresh(tokens)


@responses.activate
def test_fetch_profile_reads_verify_credentials_and_the_instance_limits(provider: MastodonProvider) -> None:
    responses.get(f"{INSTANCE}/api/v1/accounts/verify_credentials", json=ACCOUNT,
                  match=[matchers.header_matcher({"Authorization": f"Bearer {TOKEN}"})])
    responses.get(f"{INSTANCE}/api/v2/instance", json=INSTANCE_V2)
    profile = provider.fetch_profile(TokenSet(access_token=TOKEN))
    assert profile.platform_account_id == "109876543210987654"
    assert profile.handle == "@harborvine@mastodon.example"
    assert profile.display_name == "Harbor & Vine Realty"
    assert profile.avatar_url == ACCOUNT["avatar_static"]
    assert profile.metadata["instance_url"] == INSTANCE
    assert profile.metadata["max_characters"] == 1000
    assert profile.metadata["max_media_attachments"] == 4
    assert profile.metadata["characters_reserved_per_url"] == 23


@responses.activate
def test_fetch_profile_falls_back_to_v1_instance_on_older_servers(provider: MastodonProvider) -> None:
    responses.get(f"{INSTANCE}/api/v1/accounts/verify_credentials", json=ACCOUNT)
    responses.get(f"{INSTANCE}/api/v2/instance", status=404, json={"error": "Record not found"})
    responses.get(f"{INSTANCE}/api/v1/instance", json={"uri": "mastodon.example", "max_toot_chars": 5000})
    profile = provider.fetch_profile(TokenSet(access_token=TOKEN))
    assert profile.metadata["max_characters"] == 5000
    assert profile.metadata["max_media_attachments"] == 4  # the documented default
    assert profile.handle == "@harborvine@mastodon.example"


@responses.activate
def test_publish_text_posts_a_status_with_the_idempotency_key(provider: MastodonProvider) -> None:
    responses.post(
        f"{INSTANCE}/api/v1/statuses", json=status(),
        match=[matchers.header_matcher({"Authorization": f"Bearer {TOKEN}", "Idempotency-Key": "post-7:mastodon"}),
               matchers.json_params_matcher({"status": "Open house Saturday", "visibility": "public"})],
    )
    result = provider.publish(account(), OutboundPost(text="Open house Saturday", idempotency_key="post-7:mastodon"))
    assert result.state == "published"
    assert result.platform_post_id == "113456789012345678"
    assert result.permalink == "https://mastodon.example/@harborvine/113456789012345678"


@responses.activate
def test_publish_uses_the_activitypub_uri_when_the_status_has_no_url(provider: MastodonProvider) -> None:
    responses.post(f"{INSTANCE}/api/v1/statuses", json=status(url=None))
    result = provider.publish(account(), OutboundPost(text="Hi", idempotency_key="k"))
    assert result.permalink == "https://mastodon.example/users/harborvine/statuses/113456789012345678"


@responses.activate
def test_publish_image_uploads_v2_media_with_description_then_attaches_it(provider: MastodonProvider) -> None:
    responses.post(f"{INSTANCE}/api/v2/media", status=200, json={
        "id": "22348641", "type": "image", "url": "https://files.mastodon.example/media/original/a.jpeg",
        "description": "Front porch"})
    responses.post(f"{INSTANCE}/api/v1/statuses", json=status())
    image = MediaItem(url="https://cdn.example/porch.jpg", kind="image", mime_type="image/jpeg",
                      alt_text="Front porch", data=b"\xff\xd8jpeg")
    result = provider.publish(account(), OutboundPost(text="Porch", media=(image,), idempotency_key="k"))
    upload = responses.calls[0].request
    assert upload.headers["Content-Type"].startswith("multipart/form-data")
    assert b'name="file"; filename="porch.jpg"' in upload.body and b"\xff\xd8jpeg" in upload.body
    assert b'name="description"' in upload.body and b"Front porch" in upload.body
    assert json.loads(responses.calls[1].request.body)["media_ids"] == ["22348641"]
    assert result.state == "published"


@responses.activate
def test_publish_video_waits_for_processing_then_posts_the_status(provider: MastodonProvider) -> None:
    responses.post(f"{INSTANCE}/api/v2/media", status=202, json={"id": "22348700", "type": "video", "url": None})
    video = MediaItem(url="https://cdn.example/tour.mp4", kind="video", mime_type="video/mp4", data=b"mp4")
    result = provider.publish(account(), OutboundPost(text="Tour", media=(video,), idempotency_key="vid-1"))
    assert result.state == "processing"
    assert len(responses.calls) == 1  # no status before the media is ready
    poll = json.loads(json.dumps(result.poll))

    responses.get(f"{INSTANCE}/api/v1/media/22348700", status=206, json={"id": "22348700", "url": None})
    assert provider.check_publish(account(), poll).state == "processing"

    responses.replace(responses.GET, f"{INSTANCE}/api/v1/media/22348700", status=200,
                      json={"id": "22348700", "url": "https://files.mastodon.example/media/original/t.mp4"})
    responses.post(f"{INSTANCE}/api/v1/statuses", json=status(),
                   match=[matchers.header_matcher({"Idempotency-Key": "vid-1"})])
    done = provider.check_publish(account(), poll)
    assert done.state == "published"
    assert json.loads(responses.calls[-1].request.body) == {"status": "Tour", "visibility": "public",
                                                             "media_ids": ["22348700"]}


@responses.activate
def test_invalid_token_is_auth_expired(provider: MastodonProvider) -> None:
    responses.post(f"{INSTANCE}/api/v1/statuses", status=401, json={"error": "The access token is invalid"})
    with pytest.raises(AuthExpiredError) as caught:
        provider.publish(account(), OutboundPost(text="Hi", idempotency_key="k"))
    assert TOKEN not in str(caught.value)


@responses.activate
def test_validation_failure_is_rejected_with_the_instance_message(provider: MastodonProvider) -> None:
    responses.post(f"{INSTANCE}/api/v1/statuses", status=422,
                   json={"error": "Validation failed: Text character limit of 500 exceeded"})
    with pytest.raises(RejectedError, match="character limit of 500"):
        provider.publish(account(), OutboundPost(text="x" * 501, idempotency_key="k"))


@responses.activate
def test_unprocessed_media_refusal_is_transient(provider: MastodonProvider) -> None:
    responses.post(f"{INSTANCE}/api/v1/statuses", status=422, json={
        "error": "Cannot attach files that have not finished processing. Try again in a moment!"})
    with pytest.raises(TransientError):
        provider.check_publish(account(), {"pending": [], "status": {"status": "Hi"}, "idempotency_key": "k"})


@responses.activate
def test_scope_refusal_is_rejected(provider: MastodonProvider) -> None:
    responses.post(f"{INSTANCE}/api/v1/statuses", status=403,
                   json={"error": "This action is outside the authorized scopes"})
    with pytest.raises(RejectedError, match="outside the authorized scopes"):
        provider.publish(account(), OutboundPost(text="Hi", idempotency_key="k"))


@responses.activate
def test_rate_limit_reads_the_iso_8601_reset_header(provider: MastodonProvider) -> None:
    reset = (NOW + timedelta(minutes=4)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    responses.post(f"{INSTANCE}/api/v1/statuses", status=429, json={"error": "Too many requests"},
                   headers={"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset})
    with pytest.raises(RateLimitedError) as caught:
        provider.publish(account(), OutboundPost(text="Hi", idempotency_key="k"))
    assert caught.value.retry_after == 240


@responses.activate
def test_rate_limit_reads_an_epoch_reset_header_from_gotosocial(provider: MastodonProvider) -> None:
    responses.post(f"{INSTANCE}/api/v1/statuses", status=429, json={"error": "Too many requests"},
                   headers={"X-RateLimit-Reset": str(int((NOW + timedelta(seconds=90)).timestamp()))})
    with pytest.raises(RateLimitedError) as caught:
        provider.publish(account(), OutboundPost(text="Hi", idempotency_key="k"))
    assert caught.value.retry_after == 90


@responses.activate
def test_server_error_is_transient(provider: MastodonProvider) -> None:
    responses.post(f"{INSTANCE}/api/v1/statuses", status=503, body="<html>Maintenance</html>")
    with pytest.raises(TransientError):
        provider.publish(account(), OutboundPost(text="Hi", idempotency_key="k"))


@responses.activate
def test_revoke_posts_the_token_with_client_credentials_to_the_instance(provider: MastodonProvider) -> None:
    call = responses.post(f"{INSTANCE}/oauth/revoke", json={}, match=[matchers.urlencoded_params_matcher(
        {"token": TOKEN, "client_id": "cid", "client_secret": "csecret"})])
    provider.revoke(TokenSet(access_token=TOKEN))
    assert call.call_count == 1


def test_rules_count_urls_as_23_and_allow_one_video() -> None:
    rules = MastodonProvider.rules
    assert rules.max_chars == 500 and rules.url_length == 23
    assert rules.max_images == 4 and rules.max_videos == 1 and not rules.mixed_media


# -- the instance is checked on every call ------------------------------------------------------------------


@responses.activate
def test_an_instance_that_now_resolves_to_a_private_address_is_never_sent_the_token(provider: MastodonProvider) -> None:
    RESOLVED["mastodon.example"] = "10.0.0.5"  # it passed the check at connect time; DNS changed since
    responses.post(f"{INSTANCE}/api/v1/statuses", json=status())
    with pytest.raises(UnsafeHostError, match="private or local network address"):
        provider.publish(account(), OutboundPost(text="Hi", idempotency_key="k"))
    with pytest.raises(UnsafeHostError):
        provider.fetch_profile(TokenSet(access_token=TOKEN))
    with pytest.raises(UnsafeHostError):
        provider.exchange_code(code="c0de", redirect_uri=REDIRECT)
    assert not responses.calls


@pytest.mark.parametrize("instance", ["https://[2001:db8::1", "https://mastodon.example]", "http://mastodon.example",
                                      "https://mastodon.example:0x50"])
@responses.activate
def test_a_malformed_or_plain_http_instance_is_refused_not_a_crash(instance: str) -> None:
    provider = MastodonProvider(ClientCredentials("cid", "cs", instance_url=instance), HttpClient())
    with pytest.raises(UnsafeHostError):
        provider.register_app(instance, REDIRECT)
    with pytest.raises(UnsafeHostError):
        provider.fetch_profile(TokenSet(access_token=TOKEN))
    assert not responses.calls
