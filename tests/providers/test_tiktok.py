"""The TikTok adapter: exact requests and how it reads TikTok's real answers (doc §6)."""

from __future__ import annotations

import ipaddress
import json
import socket
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from responses import matchers

from stella.providers.base import Account, ClientCredentials, MediaItem, OutboundPost, TokenSet
from stella.providers.errors import (
    AuthExpiredError,
    ProviderError,
    RateLimitedError,
    RejectedError,
    TransientError,
    UnknownOutcomeError,
    UnsafeHostError,
)
from stella.providers.http import HttpClient
from stella.providers.tiktok import TikTokProvider, chunk_plan, chunk_ranges

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
TOKEN_URL = "https://open.tiktokapis.com/v2/oauth/token/"
ACCESS = "act.example12345Example12345Example"
REFRESH = "rft.example12345Example12345Example"
OPEN_ID = "723f24d7-e717-40f8-a2b6-cb8464cd23b4"
ACCOUNT = Account(access_token=ACCESS, platform_account_id=OPEN_ID, handle="harborvinerealty")
PUBLIC = {"privacy_level": "PUBLIC_TO_EVERYONE"}
CREATOR_INFO = {
    "data": {
        "creator_avatar_url": "https://lf16-tt4d.tiktokcdn.com/obj/avatar.jpeg",
        "creator_username": "harborvinerealty",
        "creator_nickname": "Harbor & Vine Realty",
        "privacy_level_options": ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"],
        "comment_disabled": False,
        "duet_disabled": False,
        "stitch_disabled": True,
        "max_video_post_duration_sec": 300,
    },
    "error": {"code": "ok", "message": "", "log_id": "202210112248442CB9319E1FB30C1073F3"},
}
OK = {"code": "ok", "message": "", "log_id": "202210112248442CB9319E1FB30C1073F4"}


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
def provider() -> TikTokProvider:
    return TikTokProvider(ClientCredentials("ckey", "csecret"), HttpClient(), clock=lambda: NOW)


def form(call: responses.Call) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(str(call.request.body)).items()}


# -- authorization -------------------------------------------------------------------------------------------


def test_authorization_url_uses_client_key_and_comma_scopes(provider: TikTokProvider) -> None:
    url = provider.authorization_url(redirect_uri="https://stella.example/connections/tiktok/callback", state="s1")
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://www.tiktok.com/v2/auth/authorize/"
    assert query["client_key"] == ["ckey"]
    assert "client_id" not in query
    assert query["scope"] == ["user.info.basic,user.info.profile,video.publish,video.list"]
    assert query["response_type"] == ["code"] and query["state"] == ["s1"]


@responses.activate
def test_exchange_code_sends_client_key_and_secret_in_the_form(provider: TikTokProvider) -> None:
    responses.post(TOKEN_URL, json={
        "access_token": ACCESS, "expires_in": 86400, "open_id": OPEN_ID, "refresh_expires_in": 31536000,
        "refresh_token": REFRESH, "scope": "user.info.basic,video.publish", "token_type": "Bearer"})
    tokens = provider.exchange_code(code="CODE*!4", redirect_uri="https://s/cb")
    call = responses.calls[0]
    assert "Authorization" not in call.request.headers
    assert call.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form(call) == {"grant_type": "authorization_code", "code": "CODE*!4", "redirect_uri": "https://s/cb",
                          "client_key": "ckey", "client_secret": "csecret"}
    assert tokens.extra["open_id"] == OPEN_ID
    assert tokens.scopes == frozenset({"user.info.basic", "video.publish"})
    assert tokens.expires_at == NOW + timedelta(days=1)
    assert tokens.refresh_expires_at == NOW + timedelta(days=365)


@responses.activate
def test_refresh_rotates_the_refresh_token(provider: TikTokProvider) -> None:
    responses.post(TOKEN_URL, json={
        "access_token": "act.new", "expires_in": 7200, "open_id": OPEN_ID, "refresh_expires_in": 15552000,
        "refresh_token": "rft.new", "scope": "user.info.basic,video.publish", "token_type": "Bearer"})
    fresh = provider.refresh(TokenSet(access_token=ACCESS, refresh_token=REFRESH))
    assert form(responses.calls[0]) == {"grant_type": "refresh_token", "refresh_token": REFRESH,
                                        "client_key": "ckey", "client_secret": "csecret"}
    assert fresh.refresh_token == "rft.new"
    assert fresh.refresh_expires_at == NOW + timedelta(days=180)


@pytest.mark.parametrize("status", [200, 400])
@responses.activate
def test_used_refresh_token_error_body_means_reconnect(provider: TikTokProvider, status: int) -> None:
    responses.post(TOKEN_URL, status=status, json={
        "error": "invalid_grant", "error_description": "Refresh token is invalid or expired.",
        "log_id": "20230525074233E9C6F3EC4B8E2A1DEA25"})
    with pytest.raises(AuthExpiredError) as info:
        provider.refresh(TokenSet(access_token=ACCESS, refresh_token=REFRESH))
    assert REFRESH not in str(info.value) and "csecret" not in str(info.value)


@responses.activate
def test_invalid_client_is_rejected(provider: TikTokProvider) -> None:
    responses.post(TOKEN_URL, status=401, json={
        "error": "invalid_client", "error_description": "Client key or secret is incorrect.", "log_id": "x"})
    with pytest.raises(RejectedError, match="Client key or secret is incorrect"):
        provider.exchange_code(code="c", redirect_uri="https://s/cb")


@responses.activate
def test_revoke_posts_the_token_with_client_key(provider: TikTokProvider) -> None:
    responses.post("https://open.tiktokapis.com/v2/oauth/revoke/", body=b"")
    provider.revoke(TokenSet(access_token=ACCESS, refresh_token=REFRESH))
    assert form(responses.calls[0]) == {"token": ACCESS, "client_key": "ckey", "client_secret": "csecret"}


@responses.activate
def test_fetch_profile_reads_user_info(provider: TikTokProvider) -> None:
    responses.get(
        "https://open.tiktokapis.com/v2/user/info/",
        match=[matchers.query_param_matcher({"fields": "open_id,union_id,avatar_url,display_name,username"})],
        json={"data": {"user": {"avatar_url": "https://p19-sign.tiktokcdn-us.com/tos-useast5-avt-0068-tx/b17f0e4b3a4f4a50993cf72cda8b88b8~c5_168x168.jpeg",
                                "open_id": OPEN_ID, "union_id": "c9c60f44-a68e-4f5d-84dd-ce22faeb0ba1",
                                "display_name": "Harbor & Vine Realty", "username": "harborvinerealty"}},
              "error": OK},
    )
    profile = provider.fetch_profile(TokenSet(access_token=ACCESS))
    assert responses.calls[0].request.headers["Authorization"] == f"Bearer {ACCESS}"
    assert profile.platform_account_id == OPEN_ID
    assert profile.handle == "harborvinerealty" and profile.display_name == "Harbor & Vine Realty"
    assert profile.metadata["union_id"] == "c9c60f44-a68e-4f5d-84dd-ce22faeb0ba1"


# -- publishing ------------------------------------------------------------------------------------------------


def test_chunk_plan_follows_the_media_transfer_rules() -> None:
    assert chunk_plan(3 * 1024 * 1024) == (3 * 1024 * 1024, 1)
    size = 47_483_920
    chunk_size, count = chunk_plan(size)
    assert chunk_size == 10 * 1024 * 1024 and count == size // chunk_size == 4
    ranges = chunk_ranges(size)
    assert ranges[0] == (0, chunk_size - 1)
    assert ranges[-1][1] == size - 1  # the remainder joins the last chunk
    assert sum(last - first + 1 for first, last in ranges) == size


def test_text_only_post_is_refused_before_any_request(provider: TikTokProvider) -> None:
    with pytest.raises(RejectedError, match="video or photos"):
        provider.publish(ACCOUNT, OutboundPost(text="Just listed"))


@responses.activate
def test_publish_video_queries_creator_inits_uploads_and_returns_publish_id(provider: TikTokProvider) -> None:
    responses.post("https://open.tiktokapis.com/v2/post/publish/creator_info/query/", json=CREATOR_INFO)
    responses.post("https://open.tiktokapis.com/v2/post/publish/video/init/", json={"data": {
        "publish_id": "v_pub_file~v2-1.7164545", "upload_url":
        "https://open-upload.tiktokapis.com/video/?upload_id=67890&upload_token=Xza123"}, "error": OK})
    responses.put("https://open-upload.tiktokapis.com/video/?upload_id=67890&upload_token=Xza123", status=201)
    video = MediaItem(url="https://cdn/tour.mp4", kind="video", mime_type="video/mp4", data=b"v" * 1000)
    result = provider.publish(ACCOUNT, OutboundPost(text="Lakeside cottage tour #realestate", media=(video,),
                                                    options=PUBLIC))

    creator_call, init_call, put_call = responses.calls
    assert creator_call.request.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert json.loads(init_call.request.body) == {
        "post_info": {"title": "Lakeside cottage tour #realestate", "privacy_level": "PUBLIC_TO_EVERYONE",
                      "disable_comment": False, "disable_duet": False, "disable_stitch": True,
                      "video_cover_timestamp_ms": 0, "brand_content_toggle": False, "brand_organic_toggle": False,
                      "is_aigc": False},
        "source_info": {"source": "FILE_UPLOAD", "video_size": 1000, "chunk_size": 1000, "total_chunk_count": 1},
    }
    assert put_call.request.headers["Content-Range"] == "bytes 0-999/1000"
    assert put_call.request.headers["Content-Type"] == "video/mp4"
    assert "Authorization" not in put_call.request.headers
    assert result.state == "processing"
    assert result.poll == {"publish_id": "v_pub_file~v2-1.7164545", "kind": "video",
                           "privacy_level": "PUBLIC_TO_EVERYONE", "username": "harborvinerealty"}


@responses.activate
def test_lost_answer_to_the_last_chunk_still_returns_the_publish_id_to_poll(provider: TikTokProvider) -> None:
    responses.post("https://open.tiktokapis.com/v2/post/publish/creator_info/query/", json=CREATOR_INFO)
    responses.post("https://open.tiktokapis.com/v2/post/publish/video/init/", json={"data": {
        "publish_id": "v_pub_file~v2-1.9", "upload_url": "https://open-upload.tiktokapis.com/video/?upload_id=1"},
        "error": OK})
    responses.put("https://open-upload.tiktokapis.com/video/?upload_id=1",
                  body=requests.exceptions.ReadTimeout("read timed out"))
    video = MediaItem(url="https://cdn/tour.mp4", kind="video", mime_type="video/mp4", data=b"v" * 10)
    result = provider.publish(ACCOUNT, OutboundPost(text="Tour", media=(video,), options=PUBLIC))
    assert result.state == "processing" and result.poll and result.poll["publish_id"] == "v_pub_file~v2-1.9"


@responses.activate
def test_lost_answer_to_an_earlier_chunk_is_an_unknown_outcome(provider: TikTokProvider) -> None:
    responses.post("https://open.tiktokapis.com/v2/post/publish/creator_info/query/", json=CREATOR_INFO)
    responses.post("https://open.tiktokapis.com/v2/post/publish/video/init/", json={"data": {
        "publish_id": "v_pub_file~v2-1.9", "upload_url": "https://open-upload.tiktokapis.com/video/?upload_id=1"},
        "error": OK})
    responses.put("https://open-upload.tiktokapis.com/video/?upload_id=1",
                  body=requests.exceptions.ReadTimeout("read timed out"))
    video = MediaItem(url="https://cdn/tour.mp4", kind="video", mime_type="video/mp4", data=b"v" * (21 * 1024 * 1024))
    with pytest.raises(UnknownOutcomeError):
        provider.publish(ACCOUNT, OutboundPost(text="Tour", media=(video,), options=PUBLIC))


@responses.activate
def test_an_explicit_only_me_choice_is_sent_as_self_only(provider: TikTokProvider) -> None:
    info = json.loads(json.dumps(CREATOR_INFO))
    info["data"]["privacy_level_options"] = ["SELF_ONLY"]
    responses.post("https://open.tiktokapis.com/v2/post/publish/creator_info/query/", json=info)
    responses.post("https://open.tiktokapis.com/v2/post/publish/content/init/",
                   json={"data": {"publish_id": "p_pub_url~v2.123456789"}, "error": OK})
    photos = tuple(MediaItem(url=f"https://media.harborvine.example/{i}.jpg", kind="image") for i in range(2))
    result = provider.publish(ACCOUNT, OutboundPost(text="Sunny kitchen", title="New listing", media=photos,
                                                    options={"privacy_level": "SELF_ONLY"}))
    body = json.loads(responses.calls[1].request.body)
    assert body["media_type"] == "PHOTO" and body["post_mode"] == "DIRECT_POST"
    assert body["post_info"]["privacy_level"] == "SELF_ONLY"
    assert body["post_info"]["title"] == "New listing" and body["post_info"]["description"] == "Sunny kitchen"
    assert body["source_info"] == {"source": "PULL_FROM_URL", "photo_cover_index": 0, "photo_images": [
        "https://media.harborvine.example/0.jpg", "https://media.harborvine.example/1.jpg"]}
    assert result.poll and result.poll["kind"] == "photo"


@responses.activate
def test_a_post_without_a_visibility_choice_is_not_sent_and_names_the_options(provider: TikTokProvider) -> None:
    responses.post("https://open.tiktokapis.com/v2/post/publish/creator_info/query/", json=CREATOR_INFO)
    video = MediaItem(url="https://cdn/v.mp4", kind="video", data=b"v")
    with pytest.raises(RejectedError, match="PUBLIC_TO_EVERYONE, MUTUAL_FOLLOW_FRIENDS, SELF_ONLY") as exc:
        provider.publish(ACCOUNT, OutboundPost(text="t", media=(video,)))
    assert exc.value.code == "privacy_level_required" and len(responses.calls) == 1


@responses.activate
def test_the_unaudited_client_refusal_says_how_to_post_privately(provider: TikTokProvider) -> None:
    responses.post("https://open.tiktokapis.com/v2/post/publish/creator_info/query/", json=CREATOR_INFO)
    responses.post("https://open.tiktokapis.com/v2/post/publish/video/init/", status=403, json={
        "data": {}, "error": {"code": "unaudited_client_can_only_post_to_private_accounts",
                              "message": "Please review our integration guidelines", "log_id": "x"}})
    video = MediaItem(url="https://cdn/v.mp4", kind="video", data=b"v")
    with pytest.raises(RejectedError, match="private") as exc:
        provider.publish(ACCOUNT, OutboundPost(text="t", media=(video,), options=PUBLIC))
    assert exc.value.code == "unaudited_client_can_only_post_to_private_accounts"


@responses.activate
def test_requested_privacy_level_the_creator_lacks_is_refused(provider: TikTokProvider) -> None:
    info = json.loads(json.dumps(CREATOR_INFO))
    info["data"]["privacy_level_options"] = ["SELF_ONLY"]
    responses.post("https://open.tiktokapis.com/v2/post/publish/creator_info/query/", json=info)
    video = MediaItem(url="https://cdn/v.mp4", kind="video", data=b"v")
    with pytest.raises(RejectedError, match="SELF_ONLY") as exc:
        provider.publish(ACCOUNT, OutboundPost(text="t", media=(video,),
                                               options={"privacy_level": "PUBLIC_TO_EVERYONE"}))
    assert exc.value.code == "privacy_level_option_mismatch"
    assert len(responses.calls) == 1


STATUS_URL = "https://open.tiktokapis.com/v2/post/publish/status/fetch/"
POLL = {"publish_id": "v_pub_file~v2-1.7164545", "kind": "video", "privacy_level": "PUBLIC_TO_EVERYONE",
        "username": "harborvinerealty"}


@responses.activate
def test_check_publish_waits_for_the_public_id(provider: TikTokProvider) -> None:
    responses.post(STATUS_URL, match=[matchers.json_params_matcher({"publish_id": "v_pub_file~v2-1.7164545"})],
                   json={"data": {"status": "PROCESSING_UPLOAD", "uploaded_bytes": 10000}, "error": OK})
    assert provider.check_publish(ACCOUNT, POLL).state == "processing"
    responses.replace(responses.POST, STATUS_URL, json={"data": {
        "status": "PUBLISH_COMPLETE", "publicaly_available_post_id": []}, "error": OK})
    assert provider.check_publish(ACCOUNT, POLL).state == "processing"  # still in moderation
    responses.replace(responses.POST, STATUS_URL, json={"data": {
        "status": "PUBLISH_COMPLETE", "publicaly_available_post_id": [7291006425364630830]}, "error": OK})
    done = provider.check_publish(ACCOUNT, POLL)
    assert done.state == "published"
    assert done.platform_post_id == "7291006425364630830"
    assert done.permalink == "https://www.tiktok.com/@harborvinerealty/video/7291006425364630830"


@responses.activate
def test_private_post_completes_without_a_public_id(provider: TikTokProvider) -> None:
    responses.post(STATUS_URL, json={"data": {"status": "PUBLISH_COMPLETE", "publicaly_available_post_id": []},
                                     "error": OK})
    done = provider.check_publish(ACCOUNT, {**POLL, "privacy_level": "SELF_ONLY"})
    assert done.state == "published" and done.platform_post_id == POLL["publish_id"]


@responses.activate
def test_failed_publish_reports_tiktok_reason(provider: TikTokProvider) -> None:
    responses.post(STATUS_URL, json={"data": {"status": "FAILED", "fail_reason": "file_format_check_failed"},
                                     "error": OK})
    with pytest.raises(RejectedError, match="file_format_check_failed"):
        provider.check_publish(ACCOUNT, POLL)


# -- errors ------------------------------------------------------------------------------------------------------


@responses.activate
def test_invalid_access_token_is_auth_expired(provider: TikTokProvider) -> None:
    responses.post("https://open.tiktokapis.com/v2/post/publish/creator_info/query/", status=401, json={
        "data": {}, "error": {"code": "access_token_invalid",
                              "message": "The access token is invalid or not found in the request.",
                              "log_id": "20230516075426F0B9E5DB0C1C0B0A0E4F"}})
    with pytest.raises(AuthExpiredError) as info:
        provider.publish(ACCOUNT, OutboundPost(text="t", media=(MediaItem(url="u", kind="video", data=b"v"),),
                                               options=PUBLIC))
    assert info.value.code == "access_token_invalid"


@responses.activate
def test_scope_not_authorized_means_reconnect(provider: TikTokProvider) -> None:
    responses.get("https://open.tiktokapis.com/v2/user/info/", status=401, json={
        "data": {}, "error": {"code": "scope_not_authorized",
                              "message": "The user did not authorize the scope required for completing this request.",
                              "log_id": "x"}})
    with pytest.raises(AuthExpiredError, match="did not authorize the scope"):
        provider.fetch_profile(TokenSet(access_token=ACCESS))


@responses.activate
def test_rate_limit_is_retried_after_the_minute_window(provider: TikTokProvider) -> None:
    responses.post(STATUS_URL, status=429, json={"data": {}, "error": {
        "code": "rate_limit_exceeded", "message": "The API rate limit was exceeded. Please try again later.",
        "log_id": "x"}})
    with pytest.raises(RateLimitedError) as info:
        provider.check_publish(ACCOUNT, POLL)
    assert info.value.retry_after == 60.0


@responses.activate
def test_content_refusal_keeps_tiktok_message(provider: TikTokProvider) -> None:
    responses.post("https://open.tiktokapis.com/v2/post/publish/creator_info/query/", json=CREATOR_INFO)
    responses.post("https://open.tiktokapis.com/v2/post/publish/content/init/", status=403, json={
        "data": {}, "error": {"code": "spam_risk_too_many_posts",
                              "message": "The daily post cap from the API is reached for the current user.",
                              "log_id": "x"}})
    with pytest.raises(RejectedError, match="daily post cap") as info:
        provider.publish(ACCOUNT, OutboundPost(text="t", media=(MediaItem(url="https://e/a.jpg", kind="image"),),
                                               options=PUBLIC))
    assert info.value.code == "spam_risk_too_many_posts"


@responses.activate
def test_error_inside_a_200_answer_is_not_ignored(provider: TikTokProvider) -> None:
    responses.post(STATUS_URL, json={"data": {}, "error": {
        "code": "invalid_params", "message": "publish_id is invalid", "log_id": "x"}})
    with pytest.raises(RejectedError, match="publish_id is invalid"):
        provider.check_publish(ACCOUNT, POLL)


@responses.activate
def test_internal_error_is_transient(provider: TikTokProvider) -> None:
    responses.post(STATUS_URL, status=500, json={"data": {}, "error": {
        "code": "internal_error", "message": "Something went wrong. Please try again later.", "log_id": "x"}})
    with pytest.raises(TransientError):
        provider.check_publish(ACCOUNT, POLL)


@responses.activate
def test_a_refresh_refused_in_the_api_envelope_reads_as_a_sentence(provider: TikTokProvider) -> None:
    responses.post("https://open.tiktokapis.com/v2/oauth/token/", status=400, json={
        "data": {}, "error": {"code": "invalid_params", "message": "refresh token revoked", "log_id": "L42"}})
    with pytest.raises(ProviderError) as exc:
        provider.refresh(TokenSet(access_token="a", refresh_token="r-token"))
    assert "refresh token revoked" in exc.value.message
    assert "log_id" not in exc.value.message and "L42" not in exc.value.message


@responses.activate
def test_an_upload_url_naming_a_private_address_is_never_sent_the_video(provider: TikTokProvider) -> None:
    responses.post("https://open.tiktokapis.com/v2/post/publish/creator_info/query/", json=CREATOR_INFO)
    responses.post("https://open.tiktokapis.com/v2/post/publish/video/init/", json={"data": {
        "publish_id": "v_pub_file~v2-1.9", "upload_url": "https://[64:ff9b::a00:5]/video/?upload_id=1"},
        "error": OK})
    video = MediaItem(url="https://cdn/tour.mp4", kind="video", mime_type="video/mp4", data=b"v" * 10)
    with pytest.raises(UnsafeHostError, match="private or local"):
        provider.publish(ACCOUNT, OutboundPost(text="Tour", media=(video,), options=PUBLIC))
    assert len(responses.calls) == 2  # creator info and init; no upload
