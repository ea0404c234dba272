"""Pinterest adapter: Basic client auth, rotating refresh, boards, image and video pins, Pinterest's error shape.

Bodies follow /work/shared/platforms/youtube-pinterest-bluesky-mastodon-google.md §2.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import socket
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from stella.providers.base import Account, ClientCredentials, MediaItem, OutboundPost, Profile, TokenSet
from stella.providers.errors import AuthExpiredError, RateLimitedError, RejectedError, TransientError, UnsafeHostError
from stella.providers.http import HttpClient
from stella.providers.pinterest import PinterestProvider

NOW = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
API = "https://api.pinterest.com/v5"
TOKEN_URL = f"{API}/oauth/token"
ACCESS = "pina_AMAsecretaccesstoken"
REFRESH = "pinr_AMAsecretrefreshtoken"
BASIC = "Basic " + base64.b64encode(b"cid:csecret").decode()
UPLOAD_URL = "https://pinterest-media-upload.s3-accelerate.amazonaws.com/"

TOKEN_BODY = {
    "access_token": ACCESS,
    "refresh_token": REFRESH,
    "response_type": "authorization_code",
    "token_type": "bearer",
    "expires_in": 2592000,
    "refresh_token_expires_in": 5184000,
    "refresh_token_expires_at": 1777000000,
    "scope": "boards:read,pins:read,pins:write,user_accounts:read",
}


@pytest.fixture(autouse=True)
def public_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Upload URLs named by the API are checked like any URL handed to Stella: a name resolves to a public
    address here, an IP literal to itself."""

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        try:
            address = str(ipaddress.ip_address(host))
        except ValueError:
            address = "93.184.216.34"
        return [(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture()
def provider() -> PinterestProvider:
    return PinterestProvider(ClientCredentials("cid", "csecret"), HttpClient(), clock=lambda: NOW)


def account(**metadata: object) -> Account:
    return Account(access_token=ACCESS, platform_account_id="549755885175",
                   metadata={"default_board_id": "549755885175", **metadata})


def form(call: responses.Call) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(str(call.request.body)).items()}


def test_authorization_url_uses_comma_separated_scopes_and_no_pkce(provider: PinterestProvider) -> None:
    url = provider.authorization_url(redirect_uri="https://stella.example/cb", state="st", code_challenge="c")
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert url.startswith("https://www.pinterest.com/oauth/?")
    assert query["scope"] == "boards:read,pins:read,pins:write,user_accounts:read"
    assert query["response_type"] == "code" and query["client_id"] == "cid"
    assert "code_challenge" not in query


@responses.activate
def test_exchange_code_uses_basic_auth_and_asks_for_continuous_refresh(provider: PinterestProvider) -> None:
    responses.post(TOKEN_URL, json=TOKEN_BODY)
    tokens = provider.exchange_code(code="abc123", redirect_uri="https://stella.example/cb")
    call = responses.calls[0]
    assert call.request.headers["Authorization"] == BASIC
    assert call.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form(call) == {"grant_type": "authorization_code", "code": "abc123",
                          "redirect_uri": "https://stella.example/cb", "continuous_refresh": "true"}
    assert tokens.access_token == ACCESS and tokens.refresh_token == REFRESH
    assert tokens.expires_at == NOW + timedelta(days=30)
    assert tokens.refresh_expires_at == NOW + timedelta(days=60)
    assert tokens.scopes == {"boards:read", "pins:read", "pins:write", "user_accounts:read"}


@responses.activate
def test_refresh_stores_the_rotated_refresh_token(provider: PinterestProvider) -> None:
    responses.post(TOKEN_URL, json={**TOKEN_BODY, "access_token": "pina_new", "refresh_token": "pinr_new",
                                    "response_type": "refresh_token"})
    fresh = provider.refresh(TokenSet(access_token=ACCESS, refresh_token=REFRESH))
    call = responses.calls[0]
    assert call.request.headers["Authorization"] == BASIC
    assert form(call) == {"grant_type": "refresh_token", "refresh_token": REFRESH, "continuous_refresh": "true"}
    assert fresh.access_token == "pina_new"
    assert fresh.refresh_token == "pinr_new"
    assert fresh.refresh_expires_at == NOW + timedelta(days=60)


@responses.activate
def test_refused_refresh_token_is_auth_expired_without_secrets_in_the_message(provider: PinterestProvider) -> None:
    responses.post(TOKEN_URL, status=400, json={"code": 1, "message": f"Invalid refresh token {REFRESH}"})
    with pytest.raises(AuthExpiredError) as info:
        provider.refresh(TokenSet(access_token=ACCESS, refresh_token=REFRESH))
    assert REFRESH not in str(info.value) and "csecret" not in str(info.value)


@responses.activate
def test_refused_client_credentials_are_not_mistaken_for_an_expired_login(provider: PinterestProvider) -> None:
    responses.post(TOKEN_URL, status=401, json={"code": 2, "message": "Authentication failed.", "status": "failure"})
    with pytest.raises(RejectedError, match="app credentials"):
        provider.exchange_code(code="abc", redirect_uri="https://stella.example/cb")


@responses.activate
def test_profile_and_boards_make_the_picked_board_the_default(provider: PinterestProvider) -> None:
    responses.get(f"{API}/user_account", json={
        "account_type": "BUSINESS", "id": "1234567890", "username": "harborvine",
        "profile_image": "https://i.pinimg.com/600x600_R/hv.jpg", "website_url": "https://harborvine.example",
        "business_name": "Harbor & Vine Realty", "follower_count": 812, "monthly_views": 40210,
    })
    responses.get(f"{API}/boards", json={"items": [
        {"id": "549755885175", "name": "Waterfront Listings", "privacy": "PUBLIC", "owner": {"username": "harborvine"}},
    ], "bookmark": "bm1"})
    responses.get(f"{API}/boards", json={"items": [{"id": "549755885176", "name": "Staging Ideas",
                                                    "privacy": "PUBLIC"}], "bookmark": None})
    tokens = TokenSet(access_token=ACCESS)
    profile = provider.fetch_profile(tokens)
    targets = provider.list_targets(tokens, profile)
    _, stored = provider.apply_target(tokens, targets[0])

    assert profile == Profile(platform_account_id="1234567890", handle="harborvine",
                              display_name="Harbor & Vine Realty", avatar_url="https://i.pinimg.com/600x600_R/hv.jpg",
                              metadata={"account_type": "BUSINESS", "website_url": "https://harborvine.example"})
    assert parse_qs(urlsplit(responses.calls[2].request.url).query) == {"page_size": ["250"], "bookmark": ["bm1"]}
    assert [(t.id, t.name, t.kind) for t in targets] == [
        ("549755885175", "Waterfront Listings", "board"), ("549755885176", "Staging Ideas", "board")]
    assert stored.platform_account_id == "1234567890"
    assert stored.handle == "harborvine"
    assert stored.metadata["default_board_id"] == "549755885175"
    assert stored.metadata["default_board_name"] == "Waterfront Listings"


@responses.activate
def test_image_pin_from_a_url_lets_pinterest_fetch_it(provider: PinterestProvider) -> None:
    responses.post(f"{API}/pins", status=201, json={
        "id": "813744226420795884", "board_id": "549755885175", "created_at": "2026-03-02T18:00:00",
        "media": {"media_type": "image"}})
    post = OutboundPost(
        text="Sun-filled kitchen at 12 Harbor Lane.",
        title="12 Harbor Lane",
        link="https://harborvine.example/12-harbor-lane",
        media=(MediaItem(url="https://cdn.example.com/kitchen.jpg", kind="image", alt_text="Bright kitchen"),),
    )
    result = provider.publish(account(), post)
    request = responses.calls[0].request
    assert request.headers["Authorization"] == f"Bearer {ACCESS}"
    assert json.loads(request.body) == {
        "board_id": "549755885175", "description": "Sun-filled kitchen at 12 Harbor Lane.", "title": "12 Harbor Lane",
        "link": "https://harborvine.example/12-harbor-lane", "alt_text": "Bright kitchen",
        "media_source": {"source_type": "image_url", "url": "https://cdn.example.com/kitchen.jpg"},
    }
    assert result.state == "published"
    assert result.platform_post_id == "813744226420795884"
    assert result.permalink == "https://www.pinterest.com/pin/813744226420795884/"


@responses.activate
def test_carousel_with_bytes_is_sent_as_base64_items(provider: PinterestProvider) -> None:
    responses.post(f"{API}/pins", status=201, json={"id": "1"})
    images = tuple(MediaItem(url=f"https://x/{i}.png", kind="image", mime_type="image/png", data=bytes([i]) * 3)
                   for i in range(2))
    provider.publish(account(), OutboundPost(text="Two views", media=images, options={"board_id": "42"}))
    body = json.loads(responses.calls[0].request.body)
    assert body["board_id"] == "42"
    assert body["media_source"] == {"source_type": "multiple_image_base64", "items": [
        {"content_type": "image/png", "data": base64.b64encode(b"\x00\x00\x00").decode()},
        {"content_type": "image/png", "data": base64.b64encode(b"\x01\x01\x01").decode()},
    ]}


@responses.activate
def test_video_pin_registers_uploads_without_bearer_then_pins_once_processed(provider: PinterestProvider) -> None:
    responses.post(f"{API}/media", status=201, json={
        "media_id": "12345", "media_type": "video", "upload_url": UPLOAD_URL,
        "upload_parameters": {"key": "uploads/12345.mp4", "x-amz-date": "20260302T180000Z",
                              "policy": "eyJleHBpcmF0aW9uIjoi", "x-amz-signature": "abc",
                              "Content-Type": "multipart/form-data"},
    })
    responses.post(UPLOAD_URL, status=204)
    responses.get(f"{API}/media/12345", json={"media_id": "12345", "media_type": "video", "status": "processing"})
    responses.get(f"{API}/media/12345", json={"media_id": "12345", "media_type": "video", "status": "succeeded"})
    responses.get(f"{API}/boards/549755885175/pins", json={"items": [], "bookmark": None})
    responses.post(f"{API}/pins", status=201, json={"id": "999", "media": {"media_type": "video"}})
    post = OutboundPost(text="Walkthrough of 12 Harbor Lane", title="Video tour",
                        media=(MediaItem(url="https://x/tour.mp4", kind="video", mime_type="video/mp4",
                                         data=b"mp4data"),))

    started = provider.publish(account(), post)
    register, upload = responses.calls[0].request, responses.calls[1].request
    assert json.loads(register.body) == {"media_type": "video"}
    assert "Authorization" not in upload.headers
    assert b'name="key"' in upload.body and b"uploads/12345.mp4" in upload.body and b"mp4data" in upload.body
    assert started.state == "processing" and started.poll and started.poll["media_id"] == "12345"

    waiting = provider.check_publish(account(), started.poll)
    assert waiting.state == "processing" and waiting.poll == started.poll
    done = provider.check_publish(account(), started.poll)
    pin_body = json.loads(responses.calls[-1].request.body)
    assert pin_body["media_source"] == {"source_type": "video_id", "media_id": "12345",
                                        "cover_image_key_frame_time": 1}
    assert pin_body["title"] == "Video tour" and pin_body["board_id"] == "549755885175"
    assert done.state == "published" and done.permalink == "https://www.pinterest.com/pin/999/"


@responses.activate
def test_video_pin_made_by_a_lost_earlier_check_is_not_created_again(provider: PinterestProvider) -> None:
    responses.get(f"{API}/media/12345", json={"media_id": "12345", "status": "succeeded"})
    responses.get(f"{API}/boards/549755885175/pins", json={"items": [
        {"id": "777", "title": "Video tour", "description": "Walkthrough", "link": None,
         "created_at": "2026-03-02T18:00:05", "media": {"media_type": "video"}},
    ]})
    poll = {"media_id": "12345", "started_at": NOW.isoformat(),
            "pin": {"board_id": "549755885175", "title": "Video tour", "description": "Walkthrough"}}
    result = provider.check_publish(account(), poll)
    assert result.platform_post_id == "777"
    assert all(c.request.method == "GET" for c in responses.calls)


@responses.activate
def test_failed_video_processing_is_rejected(provider: PinterestProvider) -> None:
    responses.get(f"{API}/media/12345", json={"media_id": "12345", "status": "failed"})
    with pytest.raises(RejectedError, match="could not process"):
        provider.check_publish(account(), {"media_id": "12345", "pin": {"board_id": "1"}})


def test_pin_without_a_board_is_refused_with_a_clear_message(provider: PinterestProvider) -> None:
    bare = Account(access_token=ACCESS, platform_account_id="1")
    with pytest.raises(RejectedError, match="Choose a Pinterest board"):
        provider.publish(bare, OutboundPost(text="x", media=(MediaItem(url="https://x/a.jpg", kind="image"),)))


def test_pin_without_media_is_refused(provider: PinterestProvider) -> None:
    with pytest.raises(RejectedError, match="needs an image or a video"):
        provider.publish(account(), OutboundPost(text="Just words"))


@responses.activate
def test_expired_token_is_auth_expired(provider: PinterestProvider) -> None:
    responses.get(f"{API}/user_account", status=401,
                  json={"code": 2, "message": "Authentication failed.", "status": "failure"})
    with pytest.raises(AuthExpiredError) as info:
        provider.fetch_profile(TokenSet(access_token=ACCESS))
    assert info.value.code == "2"
    assert ACCESS not in str(info.value)


@responses.activate
def test_trial_access_refusal_explains_the_access_tier(provider: PinterestProvider) -> None:
    responses.post(f"{API}/pins", status=403, json={
        "code": 29,
        "message": "You have provided an invalid parameter. Apps with Trial access may not create Pins in production. "
                   "Please request Standard access or use API Sandbox https://api-sandbox.pinterest.com"})
    with pytest.raises(RejectedError, match="Trial access") as info:
        provider.publish(account(), OutboundPost(text="x", media=(MediaItem(url="https://x/a.jpg", kind="image"),)))
    assert info.value.code == "29"
    assert "STELLA_PINTEREST_API_URL" in info.value.message  # says how to keep going with a Trial app


# -- the API Sandbox for Trial apps (STELLA_PINTEREST_API_URL; platform-verification.md item 4) ------------------

SANDBOX_API = "https://api-sandbox.pinterest.com/v5"


@pytest.fixture()
def sandbox_provider() -> PinterestProvider:
    return PinterestProvider(ClientCredentials("cid", "csecret"), HttpClient(), clock=lambda: NOW,
                             options={"api_url": "https://api-sandbox.pinterest.com"})


def test_api_sandbox_keeps_the_consent_page_on_www_pinterest_com(sandbox_provider: PinterestProvider) -> None:
    url = sandbox_provider.authorization_url(redirect_uri="https://stella.example/cb", state="st")
    assert url.startswith("https://www.pinterest.com/oauth/?")


@responses.activate
def test_api_sandbox_gets_its_tokens_from_the_sandbox_token_endpoint(sandbox_provider: PinterestProvider) -> None:
    responses.post(f"{SANDBOX_API}/oauth/token", json=TOKEN_BODY)
    tokens = sandbox_provider.exchange_code(code="abc123", redirect_uri="https://stella.example/cb")
    call = responses.calls[0]
    assert call.request.url == f"{SANDBOX_API}/oauth/token"
    assert call.request.headers["Authorization"] == BASIC
    assert form(call)["grant_type"] == "authorization_code"
    assert tokens.access_token == ACCESS
    sandbox_provider.refresh(tokens)
    assert [c.request.url for c in responses.calls] == [f"{SANDBOX_API}/oauth/token"] * 2


@responses.activate
def test_api_sandbox_sends_every_api_call_to_the_sandbox_host(sandbox_provider: PinterestProvider) -> None:
    responses.get(f"{SANDBOX_API}/user_account", json={"id": "1234567890", "username": "harborvine"})
    responses.get(f"{SANDBOX_API}/boards", json={"items": [{"id": "549755885175", "name": "Waterfront Listings",
                                                            "privacy": "PUBLIC"}], "bookmark": None})
    responses.post(f"{SANDBOX_API}/pins", status=201, json={"id": "813744226420795884",
                                                            "board_id": "549755885175"})
    tokens = TokenSet(access_token=ACCESS)
    profile = sandbox_provider.fetch_profile(tokens)
    sandbox_provider.list_targets(tokens, profile)
    result = sandbox_provider.publish(account(), OutboundPost(
        text="Kitchen", media=(MediaItem(url="https://cdn.example.com/kitchen.jpg", kind="image"),)))
    assert result.platform_post_id == "813744226420795884"
    assert {urlsplit(c.request.url).netloc for c in responses.calls} == {"api-sandbox.pinterest.com"}


@responses.activate
def test_api_sandbox_refuses_video_pins_before_uploading_anything(sandbox_provider: PinterestProvider) -> None:
    video = MediaItem(url="https://cdn.example.com/tour.mp4", kind="video", mime_type="video/mp4", data=b"mp4")
    with pytest.raises(RejectedError, match="cannot create video pins"):
        sandbox_provider.publish(account(), OutboundPost(text="Tour", media=(video,)))
    assert len(responses.calls) == 0


def test_production_is_the_default_api(provider: PinterestProvider) -> None:
    assert provider.api == API and not provider.uses_api_sandbox


@responses.activate
def test_unreachable_image_url_is_transient(provider: PinterestProvider) -> None:
    responses.post(f"{API}/pins", status=400, json={"code": 1, "message": "Unable to reach the URL"})
    with pytest.raises(TransientError):
        provider.publish(account(), OutboundPost(text="x", media=(MediaItem(url="https://x/a.jpg", kind="image"),)))


@responses.activate
def test_rate_limit_reads_retry_after(provider: PinterestProvider) -> None:
    responses.get(f"{API}/user_account", status=429, headers={"Retry-After": "12"},
                  json={"code": 8, "message": "You have exceeded your rate limit. Try again later."})
    with pytest.raises(RateLimitedError) as info:
        provider.fetch_profile(TokenSet(access_token=ACCESS))
    assert info.value.retry_after == 12


@responses.activate
def test_board_validation_error_keeps_pinterests_message(provider: PinterestProvider) -> None:
    responses.post(f"{API}/pins", status=400,
                   json={"code": 1, "message": "Invalid request: board_id 'abc' does not match '^\\d+$'"})
    with pytest.raises(RejectedError, match="does not match"):
        provider.publish(account(default_board_id="abc"),
                         OutboundPost(text="x", media=(MediaItem(url="https://x/a.jpg", kind="image"),)))


@responses.activate
def test_a_video_upload_url_naming_a_private_address_is_never_sent_the_video(provider: PinterestProvider) -> None:
    responses.post(f"{API}/media", status=201, json={
        "media_id": "12345", "media_type": "video", "upload_url": "https://[2002:a9fe:a9fe::]/",
        "upload_parameters": {"key": "uploads/12345.mp4"}})
    post = OutboundPost(text="Walkthrough", title="Video tour",
                        media=(MediaItem(url="https://x/tour.mp4", kind="video", mime_type="video/mp4", data=b"mp4"),))
    with pytest.raises(UnsafeHostError, match="private or local"):
        provider.publish(account(), post)
    assert len(responses.calls) == 1
