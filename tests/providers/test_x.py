"""The X adapter: the exact requests it sends and how it reads X's real answers (doc §5)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from responses import matchers

from stella.providers.base import Account, ClientCredentials, MediaItem, OutboundPost, TokenSet
from stella.providers.errors import AuthExpiredError, RateLimitedError, RejectedError, TransientError
from stella.providers.http import HttpClient
from stella.providers.x import XProvider

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
TOKEN_URL = "https://api.x.com/2/oauth2/token"
ACCESS = "bWRWa0VOTE9xX0lMQ3A0U3d1c2V5QjNyaUZIbmN4X0V5"
REFRESH = "RkNkUVVVWm9MaXhwTG9oVnB5bDRwbk5UZmNEaGZlOEo"
ACCOUNT = Account(access_token=ACCESS, platform_account_id="1577345010193158144", handle="harborvine")


@pytest.fixture()
def provider() -> XProvider:
    return XProvider(ClientCredentials("cid", "csecret"), HttpClient(), clock=lambda: NOW)


def form(call: responses.Call) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(str(call.request.body)).items()}


def basic(call: responses.Call) -> tuple[str, str]:
    header = call.request.headers["Authorization"]
    assert header.startswith("Basic ")
    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    return user, password


# -- authorization -------------------------------------------------------------------------------------------


def test_authorization_url_requires_pkce_s256_and_offline_access(provider: XProvider) -> None:
    url = provider.authorization_url(redirect_uri="https://stella.example/connections/x/callback", state="st4te",
                                     code_challenge="chal")
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://x.com/i/oauth2/authorize"
    assert query["client_id"] == ["cid"]
    assert query["response_type"] == ["code"]
    assert query["code_challenge"] == ["chal"] and query["code_challenge_method"] == ["S256"]
    assert query["scope"] == ["tweet.read tweet.write users.read media.write offline.access"]
    assert query["state"] == ["st4te"]


def test_authorization_url_is_routed_to_the_sandbox() -> None:
    provider = XProvider(ClientCredentials("cid", "csecret"), HttpClient(sandbox_url="http://127.0.0.1:9000"))
    url = provider.authorization_url(redirect_uri="https://s/cb", state="s", code_challenge="c")
    assert url.startswith("http://127.0.0.1:9000/x.com/i/oauth2/authorize?")


@responses.activate
def test_exchange_code_uses_basic_auth_and_sends_the_verifier(provider: XProvider) -> None:
    responses.post(TOKEN_URL, json={
        "token_type": "bearer", "expires_in": 7200, "access_token": ACCESS,
        "scope": "tweet.read tweet.write users.read media.write offline.access", "refresh_token": REFRESH,
    })
    tokens = provider.exchange_code(code="c0de", redirect_uri="https://s/cb", code_verifier="v" * 50)
    call = responses.calls[0]
    assert basic(call) == ("cid", "csecret")
    body = form(call)
    assert body == {"grant_type": "authorization_code", "code": "c0de", "redirect_uri": "https://s/cb",
                    "code_verifier": "v" * 50}
    assert "client_secret" not in body
    assert tokens.access_token == ACCESS and tokens.refresh_token == REFRESH
    assert tokens.expires_at == NOW + timedelta(hours=2)
    assert "offline.access" in tokens.scopes


@responses.activate
def test_refresh_stores_the_rotated_refresh_token(provider: XProvider) -> None:
    responses.post(TOKEN_URL, json={"token_type": "bearer", "expires_in": 7200, "access_token": "new-access-1",
                                    "scope": "tweet.read offline.access", "refresh_token": "new-refresh-1"})
    fresh = provider.refresh(TokenSet(access_token=ACCESS, refresh_token=REFRESH))
    assert form(responses.calls[0]) == {"grant_type": "refresh_token", "refresh_token": REFRESH}
    assert basic(responses.calls[0]) == ("cid", "csecret")
    assert fresh.access_token == "new-access-1"
    assert fresh.refresh_token == "new-refresh-1"


@responses.activate
def test_refresh_with_a_used_refresh_token_means_reconnect_and_hides_it(provider: XProvider) -> None:
    responses.post(TOKEN_URL, status=400, json={
        "error": "invalid_request", "error_description": f"Value passed for the token was invalid: {REFRESH}"})
    with pytest.raises(AuthExpiredError) as info:
        provider.refresh(TokenSet(access_token=ACCESS, refresh_token=REFRESH))
    assert REFRESH not in str(info.value)
    assert "csecret" not in str(info.value)


def test_refresh_without_a_refresh_token_asks_to_reconnect(provider: XProvider) -> None:
    with pytest.raises(AuthExpiredError):
        provider.refresh(TokenSet(access_token=ACCESS))


@responses.activate
def test_revoke_revokes_refresh_then_access_token_with_basic_auth(provider: XProvider) -> None:
    responses.post("https://api.x.com/2/oauth2/revoke", json={"revoked": True})
    responses.post("https://api.x.com/2/oauth2/revoke", json={"revoked": True})
    provider.revoke(TokenSet(access_token=ACCESS, refresh_token=REFRESH))
    assert [form(c)["token"] for c in responses.calls] == [REFRESH, ACCESS]
    assert [form(c)["token_type_hint"] for c in responses.calls] == ["refresh_token", "access_token"]
    assert all(basic(c) == ("cid", "csecret") for c in responses.calls)


@responses.activate
def test_fetch_profile_reads_users_me(provider: XProvider) -> None:
    responses.get(
        "https://api.x.com/2/users/me",
        match=[matchers.query_param_matcher(
            {"user.fields": "username,name,profile_image_url,verified,verified_type"})],
        json={"data": {"id": "2244994945", "name": "X Dev", "username": "TwitterDev",
                       "profile_image_url": "https://pbs.twimg.com/profile_images/1/normal.jpg",
                       "verified": False, "verified_type": "none"}},
    )
    profile = provider.fetch_profile(TokenSet(access_token=ACCESS))
    assert responses.calls[0].request.headers["Authorization"] == f"Bearer {ACCESS}"
    assert profile.platform_account_id == "2244994945"
    assert profile.handle == "TwitterDev" and profile.display_name == "X Dev"
    assert profile.avatar_url == "https://pbs.twimg.com/profile_images/1/normal.jpg"
    assert profile.metadata["username"] == "TwitterDev"


# -- publishing ------------------------------------------------------------------------------------------------


@responses.activate
def test_publish_text_creates_a_post_and_reads_data_id(provider: XProvider) -> None:
    responses.post(
        "https://api.x.com/2/tweets",
        match=[matchers.json_params_matcher({"text": "Just listed: 3BR craftsman"})],
        status=201,
        json={"data": {"id": "1445880548472328192", "text": "Just listed: 3BR craftsman",
                       "edit_history_tweet_ids": ["1445880548472328192"]}},
    )
    result = provider.publish(ACCOUNT, OutboundPost(text="Just listed: 3BR craftsman"))
    assert result.state == "published"
    assert result.platform_post_id == "1445880548472328192"
    assert result.permalink == "https://x.com/harborvine/status/1445880548472328192"


@responses.activate
def test_publish_with_images_uploads_each_then_attaches_ids(provider: XProvider) -> None:
    responses.post("https://api.x.com/2/media/upload", json={"data": {"id": "1880028106020515840",
                   "media_key": "3_1880028106020515840", "size": 3, "image": {"image_type": "image/jpeg"}}})
    responses.post("https://api.x.com/2/media/upload", json={"data": {"id": "1880028106020515841"}})
    responses.post("https://api.x.com/2/tweets", status=201, json={"data": {"id": "77", "text": "Open house"}})
    media = tuple(MediaItem(url=f"https://cdn/p{i}.jpg", kind="image", mime_type="image/jpeg", data=b"jpg")
                  for i in range(2))
    result = provider.publish(ACCOUNT, OutboundPost(text="Open house", media=media))
    upload = responses.calls[0].request
    assert upload.headers["Content-Type"].startswith("multipart/form-data")
    assert b'name="media_category"' in upload.body and b"tweet_image" in upload.body
    assert b'name="media"' in upload.body
    assert json.loads(responses.calls[2].request.body) == {
        "text": "Open house", "media": {"media_ids": ["1880028106020515840", "1880028106020515841"]}}
    assert result.platform_post_id == "77"


@responses.activate
def test_publish_video_uploads_in_chunks_and_polls_processing(provider: XProvider) -> None:
    responses.post("https://api.x.com/2/media/upload/initialize",
                   json={"data": {"id": "1912090619981877248", "expires_after_secs": 86400}})
    responses.post("https://api.x.com/2/media/upload/1912090619981877248/append", json={})
    responses.post("https://api.x.com/2/media/upload/1912090619981877248/finalize", json={"data": {
        "id": "1912090619981877248", "processing_info": {"state": "pending", "check_after_secs": 1}}})
    video = MediaItem(url="https://cdn/v.mp4", kind="video", mime_type="video/mp4", data=b"\0" * 10)
    result = provider.publish(ACCOUNT, OutboundPost(text="Tour", media=(video,)))
    assert json.loads(responses.calls[0].request.body) == {
        "media_type": "video/mp4", "total_bytes": 10, "media_category": "tweet_video"}
    assert b'name="segment_index"' in responses.calls[1].request.body
    assert result.state == "processing"
    assert result.poll == {"step": "media", "media_ids": ["1912090619981877248"],
                           "pending": ["1912090619981877248"], "text": "Tour"}

    responses.get("https://api.x.com/2/media/upload", match=[matchers.query_param_matcher(
        {"command": "STATUS", "media_id": "1912090619981877248"})],
        json={"data": {"id": "1912090619981877248", "processing_info": {"state": "in_progress",
                                                                       "progress_percent": 40}}})
    again = provider.check_publish(ACCOUNT, result.poll or {})
    assert again.state == "processing"

    responses.replace(responses.GET, "https://api.x.com/2/media/upload", json={
        "data": {"id": "1912090619981877248", "processing_info": {"state": "succeeded"}}})
    responses.post("https://api.x.com/2/tweets", status=201, json={"data": {"id": "99", "text": "Tour"}})
    done = provider.check_publish(ACCOUNT, again.poll or {})
    assert done.state == "published" and done.platform_post_id == "99"
    assert json.loads(responses.calls[-1].request.body)["media"] == {"media_ids": ["1912090619981877248"]}


@responses.activate
def test_failed_video_processing_is_rejected(provider: XProvider) -> None:
    responses.get("https://api.x.com/2/media/upload", json={"data": {"id": "5", "processing_info": {
        "state": "failed", "error": {"code": 1, "name": "InvalidMedia", "message": "Unsupported video format"}}}})
    with pytest.raises(RejectedError, match="Unsupported video format"):
        provider.check_publish(ACCOUNT, {"step": "media", "media_ids": ["5"], "pending": ["5"], "text": "t"})


@responses.activate
def test_duplicate_after_a_lost_answer_returns_the_existing_post(provider: XProvider) -> None:
    responses.post("https://api.x.com/2/tweets", status=403, json={
        "detail": "You are not allowed to create a Tweet with duplicate content.", "type": "about:blank",
        "title": "Forbidden", "status": 403})
    responses.get("https://api.x.com/2/users/1577345010193158144/tweets", json={"data": [
        {"id": "1", "text": "Something else"},
        {"id": "1445880548472328192", "text": "Open house Sunday https://t.co/abc123"},
    ]})
    result = provider.publish(ACCOUNT, OutboundPost(text="Open house Sunday https://harborvine.example/oh"))
    assert result.state == "published" and result.platform_post_id == "1445880548472328192"
    assert sum(1 for c in responses.calls if c.request.method == "POST") == 1


@responses.activate
def test_duplicate_with_no_matching_recent_post_is_rejected(provider: XProvider) -> None:
    responses.post("https://api.x.com/2/tweets", status=403, json={
        "detail": "You are not allowed to create a Tweet with duplicate content.", "type": "about:blank",
        "title": "Forbidden", "status": 403})
    responses.get("https://api.x.com/2/users/1577345010193158144/tweets", json={"data": []})
    with pytest.raises(RejectedError, match="duplicate content"):
        provider.publish(ACCOUNT, OutboundPost(text="Hello"))


# -- errors ------------------------------------------------------------------------------------------------------


@responses.activate
def test_401_means_auth_expired_without_the_token(provider: XProvider) -> None:
    responses.post("https://api.x.com/2/tweets", status=401, json={
        "title": "Unauthorized", "type": "about:blank", "status": 401, "detail": f"Unauthorized {ACCESS}"})
    with pytest.raises(AuthExpiredError) as info:
        provider.publish(ACCOUNT, OutboundPost(text="Hi"))
    assert ACCESS not in str(info.value)


@responses.activate
def test_429_reads_the_reset_header(provider: XProvider) -> None:
    reset = int(NOW.timestamp()) + 600
    responses.post("https://api.x.com/2/tweets", status=429,
                   headers={"x-rate-limit-limit": "100", "x-rate-limit-remaining": "0",
                            "x-rate-limit-reset": str(reset)},
                   json={"errors": [{"code": 88, "message": "Rate limit exceeded"}]})
    with pytest.raises(RateLimitedError) as info:
        provider.publish(ACCOUNT, OutboundPost(text="Hi"))
    assert info.value.retry_after == pytest.approx(600)


@responses.activate
def test_429_prefers_an_exhausted_daily_cap(provider: XProvider) -> None:
    responses.post("https://api.x.com/2/tweets", status=429, headers={
        "x-rate-limit-remaining": "12", "x-rate-limit-reset": str(int(NOW.timestamp()) + 60),
        "x-user-limit-24hour-remaining": "0", "x-user-limit-24hour-reset": str(int(NOW.timestamp()) + 7200)},
        json={"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429})
    with pytest.raises(RateLimitedError) as info:
        provider.publish(ACCOUNT, OutboundPost(text="Hi"))
    assert info.value.retry_after == pytest.approx(7200)


@responses.activate
def test_usage_capped_problem_is_rate_limited(provider: XProvider) -> None:
    responses.post("https://api.x.com/2/tweets", status=429, json={
        "title": "UsageCapExceeded", "detail": "Usage cap exceeded: Monthly product cap",
        "type": "https://api.x.com/2/problems/usage-capped", "period": "Monthly", "scope": "Product"})
    with pytest.raises(RateLimitedError) as info:
        provider.publish(ACCOUNT, OutboundPost(text="Hi"))
    assert info.value.code == "usage-capped"


@responses.activate
def test_invalid_request_problem_is_rejected_with_x_detail(provider: XProvider) -> None:
    responses.post("https://api.x.com/2/tweets", status=400, json={
        "errors": [{"parameters": {}, "message": "Requested invalid"}],
        "title": "Invalid Request", "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.x.com/2/problems/invalid-request"})
    with pytest.raises(RejectedError, match="One or more parameters to your request was invalid") as info:
        provider.publish(ACCOUNT, OutboundPost(text="Hi"))
    assert info.value.code == "invalid-request"


@responses.activate
def test_server_errors_are_transient(provider: XProvider) -> None:
    responses.post("https://api.x.com/2/tweets", status=503, body="Service Unavailable")
    with pytest.raises(TransientError):
        provider.publish(ACCOUNT, OutboundPost(text="Hi"))
