"""YouTube adapter: the exact requests it sends and how it reads YouTube's real answers and errors.

Bodies follow /work/shared/platforms/youtube-pinterest-bluesky-mastodon-google.md §1.
"""

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

from stella.providers.base import Account, ClientCredentials, MediaItem, OutboundPost, TokenSet
from stella.providers.errors import AuthExpiredError, RateLimitedError, RejectedError, TransientError, UnsafeHostError
from stella.providers.http import HttpClient
from stella.providers.youtube import UPLOAD_URL, YouTubeProvider

NOW = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
TOKEN_URL = "https://oauth2.googleapis.com/token"
CHANNELS_URL = "https://www.googleapis.com/youtube/v3/channels"
VIDEOS_URL = "https://www.googleapis.com/youtube/v3/videos"
SESSION_URI = "https://www.googleapis.com/upload/youtube/v3/videos?uploadType=resumable&upload_id=xa298sd_f"
ACCESS = "ya29.a0AfH6SMBsecretaccess"
REFRESH = "1//0gsecretrefreshtoken"

CHANNEL = {
    "kind": "youtube#channel",
    "etag": "x",
    "id": "UC_x5XG1OV2P6uZZ5FSM9Ttw",
    "snippet": {
        "title": "Harbor & Vine Realty",
        "description": "Homes on the harbor.",
        "customUrl": "@harborvinerealty",
        "thumbnails": {
            "default": {"url": "https://yt3.ggpht.com/a/default.jpg", "width": 88, "height": 88},
            "high": {"url": "https://yt3.ggpht.com/a/high.jpg", "width": 800, "height": 800},
        },
    },
    "statistics": {"viewCount": "1200", "subscriberCount": "350", "videoCount": "12"},
}

QUOTA_ERROR = {
    "error": {
        "code": 403,
        "message": "The request cannot be completed because you have exceeded your quota.",
        "errors": [{"message": "The request cannot be completed because you have exceeded your quota.",
                    "domain": "youtube.quota", "reason": "quotaExceeded"}],
    }
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
def provider() -> YouTubeProvider:
    return YouTubeProvider(ClientCredentials("cid", "csecret"), HttpClient(), clock=lambda: NOW)


def account() -> Account:
    return Account(access_token=ACCESS, platform_account_id="UC_x5XG1OV2P6uZZ5FSM9Ttw")


def video_post(**changes: object) -> OutboundPost:
    values: dict = {
        "text": "Tour 12 Harbor Lane: three bedrooms and a view of the marina.",
        "title": "12 Harbor Lane — video tour",
        "media": (MediaItem(url="https://cdn.example.com/tour.mp4", kind="video", mime_type="video/mp4",
                            data=b"\x00" * 1000),),
    }
    values.update(changes)
    return OutboundPost(**values)  # type: ignore[arg-type]


def form(call: responses.Call) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(str(call.request.body)).items()}


def test_authorization_url_asks_for_offline_access_consent_and_s256(provider: YouTubeProvider) -> None:
    url = provider.authorization_url(redirect_uri="https://stella.example/cb", state="st", code_challenge="chal")
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://accounts.google.com/o/oauth2/v2/auth"
    assert query["access_type"] == "offline"
    assert query["prompt"] == "consent"
    assert query["code_challenge"] == "chal" and query["code_challenge_method"] == "S256"
    assert query["scope"].split(" ") == [
        "https://www.googleapis.com/auth/youtube.upload",
        "https://www.googleapis.com/auth/youtube.readonly",
        "https://www.googleapis.com/auth/yt-analytics.readonly",
    ]


@responses.activate
def test_exchange_code_posts_client_credentials_in_the_body(provider: YouTubeProvider) -> None:
    responses.post(TOKEN_URL, json={
        "access_token": ACCESS, "expires_in": 3599, "refresh_token": REFRESH,
        "scope": "https://www.googleapis.com/auth/youtube.upload https://www.googleapis.com/auth/youtube.readonly",
        "token_type": "Bearer",
    })
    tokens = provider.exchange_code(code="4/0Acode", redirect_uri="https://stella.example/cb", code_verifier="v" * 43)
    call = responses.calls[0]
    assert "Authorization" not in call.request.headers
    assert form(call) == {
        "grant_type": "authorization_code", "code": "4/0Acode", "redirect_uri": "https://stella.example/cb",
        "code_verifier": "v" * 43, "client_id": "cid", "client_secret": "csecret",
    }
    assert tokens.access_token == ACCESS and tokens.refresh_token == REFRESH
    assert tokens.expires_at == NOW + timedelta(seconds=3599)
    assert "https://www.googleapis.com/auth/youtube.upload" in tokens.scopes


@responses.activate
def test_refresh_keeps_the_refresh_token_google_does_not_resend(provider: YouTubeProvider) -> None:
    responses.post(TOKEN_URL, json={"access_token": "ya29.new", "expires_in": 3599, "token_type": "Bearer",
                                    "scope": "https://www.googleapis.com/auth/youtube.upload"})
    fresh = provider.refresh(TokenSet(access_token=ACCESS, refresh_token=REFRESH))
    assert form(responses.calls[0]) == {"grant_type": "refresh_token", "refresh_token": REFRESH,
                                        "client_id": "cid", "client_secret": "csecret"}
    assert fresh.access_token == "ya29.new"
    assert fresh.refresh_token == REFRESH


@responses.activate
def test_dead_refresh_token_is_auth_expired_without_the_token_in_the_message(provider: YouTubeProvider) -> None:
    responses.post(TOKEN_URL, status=400,
                   json={"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
    with pytest.raises(AuthExpiredError) as info:
        provider.refresh(TokenSet(access_token=ACCESS, refresh_token=REFRESH))
    assert "expired or revoked" in str(info.value)
    assert REFRESH not in str(info.value) and "csecret" not in str(info.value)


@responses.activate
def test_revoke_sends_the_refresh_token_and_tolerates_an_already_revoked_one(provider: YouTubeProvider) -> None:
    responses.post("https://oauth2.googleapis.com/revoke", status=400,
                   json={"error": "invalid_token", "error_description": "Token expired or revoked"})
    provider.revoke(TokenSet(access_token=ACCESS, refresh_token=REFRESH))
    assert form(responses.calls[0]) == {"token": REFRESH}


@responses.activate
def test_fetch_profile_reads_the_channel_not_the_google_account(provider: YouTubeProvider) -> None:
    responses.get(CHANNELS_URL, json={"kind": "youtube#channelListResponse", "items": [CHANNEL]})
    profile = provider.fetch_profile(TokenSet(access_token=ACCESS))
    request = responses.calls[0].request
    assert request.headers["Authorization"] == f"Bearer {ACCESS}"
    assert parse_qs(urlsplit(request.url).query) == {"part": ["snippet,statistics"], "mine": ["true"],
                                                     "maxResults": ["50"]}
    assert profile.platform_account_id == "UC_x5XG1OV2P6uZZ5FSM9Ttw"
    assert profile.handle == "@harborvinerealty"
    assert profile.display_name == "Harbor & Vine Realty"
    assert profile.avatar_url == "https://yt3.ggpht.com/a/high.jpg"
    assert profile.metadata["channel_id"] == "UC_x5XG1OV2P6uZZ5FSM9Ttw"
    assert profile.metadata["subscriber_count"] == 350


@responses.activate
def test_account_without_a_channel_is_refused_with_a_clear_message(provider: YouTubeProvider) -> None:
    responses.get(CHANNELS_URL, json={"kind": "youtube#channelListResponse", "items": []})
    with pytest.raises(RejectedError, match="no YouTube channel"):
        provider.fetch_profile(TokenSet(access_token=ACCESS))


@responses.activate
def test_channels_are_targets_and_applying_one_keeps_its_id(provider: YouTubeProvider) -> None:
    second = {**CHANNEL, "id": "UCbrand0000000000000000", "snippet": {**CHANNEL["snippet"], "title": "H&V Rentals"}}
    responses.get(CHANNELS_URL, json={"items": [CHANNEL, second]})
    tokens = TokenSet(access_token=ACCESS)
    targets = provider.list_targets(tokens, provider._channel_profile(CHANNEL))
    assert [(t.id, t.name, t.kind) for t in targets] == [
        ("UC_x5XG1OV2P6uZZ5FSM9Ttw", "Harbor & Vine Realty", "channel"),
        ("UCbrand0000000000000000", "H&V Rentals", "channel"),
    ]
    _, profile = provider.apply_target(tokens, targets[1])
    assert profile.platform_account_id == "UCbrand0000000000000000"
    assert profile.metadata["channel_id"] == "UCbrand0000000000000000"


@responses.activate
def test_publish_opens_a_resumable_session_then_puts_the_bytes(provider: YouTubeProvider) -> None:
    responses.post(UPLOAD_URL, status=200, headers={"Location": SESSION_URI})
    responses.put(SESSION_URI, status=200, json={
        "kind": "youtube#video", "id": "dQw4w9WgXcQ",
        "snippet": {"title": "12 Harbor Lane — video tour"}, "status": {"uploadStatus": "uploaded"},
    })
    result = provider.publish(account(), video_post(options={"tags": ["realestate", "harbor"]}))

    start, put = responses.calls[0].request, responses.calls[1].request
    assert parse_qs(urlsplit(start.url).query) == {"uploadType": ["resumable"], "part": ["snippet,status"]}
    assert start.headers["Authorization"] == f"Bearer {ACCESS}"
    assert start.headers["X-Upload-Content-Length"] == "1000"
    assert start.headers["X-Upload-Content-Type"] == "video/mp4"
    assert json.loads(start.body) == {
        "snippet": {"title": "12 Harbor Lane — video tour",
                    "description": "Tour 12 Harbor Lane: three bedrooms and a view of the marina.",
                    "categoryId": "22", "tags": ["realestate", "harbor"]},
        "status": {"privacyStatus": "public", "selfDeclaredMadeForKids": False},
    }
    assert put.method == "PUT" and put.url == SESSION_URI
    assert put.body == b"\x00" * 1000 and put.headers["Content-Type"] == "video/mp4"
    assert result.state == "processing"
    assert result.platform_post_id == "dQw4w9WgXcQ"
    assert result.permalink == "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
    assert result.poll == {"video_id": "dQw4w9WgXcQ"}


@responses.activate
def test_interrupted_upload_is_probed_and_resumed_not_restarted(provider: YouTubeProvider) -> None:
    responses.post(UPLOAD_URL, status=200, headers={"Location": SESSION_URI})
    # First PUT: the connection drops; the probe says 400 bytes arrived; the resumed PUT finishes.
    responses.put(SESSION_URI, body=requests.exceptions.ConnectionError("reset"))
    responses.put(SESSION_URI, status=308, headers={"Range": "bytes=0-399"})
    responses.put(SESSION_URI, status=201, json={"id": "abcDEF12345", "status": {"uploadStatus": "uploaded"}})
    result = provider.publish(account(), video_post())

    assert [c.request.method for c in responses.calls] == ["POST", "PUT", "PUT", "PUT"]
    probe, resume = responses.calls[2].request, responses.calls[3].request
    assert probe.headers["Content-Range"] == "bytes */1000"
    assert resume.headers["Content-Range"] == "bytes 400-999/1000"
    assert len(resume.body) == 600
    assert result.platform_post_id == "abcDEF12345"


@responses.activate
def test_probe_that_finds_the_upload_finished_returns_the_video_without_resending(provider: YouTubeProvider) -> None:
    responses.post(UPLOAD_URL, status=200, headers={"Location": SESSION_URI})
    responses.put(SESSION_URI, body=requests.exceptions.ConnectionError("reset"))
    responses.put(SESSION_URI, status=200, json={"id": "doneDONE123", "status": {"uploadStatus": "uploaded"}})
    result = provider.publish(account(), video_post())
    assert len(responses.calls) == 3
    assert result.platform_post_id == "doneDONE123"


def test_publish_refuses_angle_brackets_before_uploading(provider: YouTubeProvider) -> None:
    with pytest.raises(RejectedError, match="< or >"):
        provider.publish(account(), video_post(text="Open house <Saturday>"))


def test_publish_refuses_a_post_without_video(provider: YouTubeProvider) -> None:
    with pytest.raises(RejectedError, match="exactly one video"):
        provider.publish(account(), video_post(media=()))


def test_description_limit_counts_bytes_not_characters(provider: YouTubeProvider) -> None:
    with pytest.raises(RejectedError, match="5000 bytes"):
        provider.publish(account(), video_post(text="é" * 2501))


@responses.activate
def test_check_publish_maps_processing_states(provider: YouTubeProvider) -> None:
    responses.get(VIDEOS_URL, json={"items": [{"id": "dQw4w9WgXcQ", "status": {"uploadStatus": "uploaded"},
                                               "processingDetails": {"processingStatus": "processing"}}]})
    responses.get(VIDEOS_URL, json={"items": [{"id": "dQw4w9WgXcQ", "status": {"uploadStatus": "processed"},
                                               "processingDetails": {"processingStatus": "succeeded"}}]})
    poll = {"video_id": "dQw4w9WgXcQ"}
    first = provider.check_publish(account(), poll)
    second = provider.check_publish(account(), poll)
    query = parse_qs(urlsplit(responses.calls[0].request.url).query)
    assert query == {"part": ["status,processingDetails"], "id": ["dQw4w9WgXcQ"]}
    assert first.state == "processing" and first.poll == poll
    assert second.state == "published"
    assert second.permalink == "https://www.youtube.com/watch?v=dQw4w9WgXcQ"


@responses.activate
def test_check_publish_reports_a_rejected_video_with_its_reason(provider: YouTubeProvider) -> None:
    responses.get(VIDEOS_URL, json={"items": [{"id": "x", "status": {"uploadStatus": "rejected",
                                                                      "rejectionReason": "duplicate"}}]})
    with pytest.raises(RejectedError, match="duplicate"):
        provider.check_publish(account(), {"video_id": "x"})


@responses.activate
def test_quota_exceeded_is_rate_limited_until_midnight_pacific(provider: YouTubeProvider) -> None:
    responses.post(UPLOAD_URL, status=403, json=QUOTA_ERROR)
    with pytest.raises(RateLimitedError) as info:
        provider.publish(account(), video_post())
    # 18:00 UTC on 2 March is 10:00 PST: fourteen hours to midnight.
    assert info.value.retry_after == pytest.approx(14 * 3600)
    assert info.value.code == "quotaExceeded"


@responses.activate
def test_upload_limit_exceeded_waits_a_day(provider: YouTubeProvider) -> None:
    message = "The user has exceeded the number of videos they may upload."
    responses.post(UPLOAD_URL, status=400, json={"error": {"code": 400, "message": message, "errors": [
        {"domain": "youtube.video", "reason": "uploadLimitExceeded", "message": message}]}})
    with pytest.raises(RateLimitedError) as info:
        provider.publish(account(), video_post())
    assert info.value.retry_after == 24 * 3600


@responses.activate
def test_expired_access_token_is_auth_expired_and_never_echoes_the_token(provider: YouTubeProvider) -> None:
    responses.get(CHANNELS_URL, status=401, json={"error": {
        "code": 401, "message": f"Request had invalid authentication credentials: {ACCESS}",
        "errors": [{"message": "Invalid Credentials", "domain": "global", "reason": "authError",
                    "location": "Authorization", "locationType": "header"}],
        "status": "UNAUTHENTICATED"}})
    with pytest.raises(AuthExpiredError) as info:
        provider.fetch_profile(TokenSet(access_token=ACCESS))
    assert ACCESS not in str(info.value)


@responses.activate
def test_invalid_title_is_rejected_with_youtubes_message(provider: YouTubeProvider) -> None:
    message = "The request metadata specifies an invalid video title."
    responses.post(UPLOAD_URL, status=400, json={"error": {"code": 400, "message": message, "errors": [
        {"domain": "youtube.video", "reason": "invalidTitle", "message": message}]}})
    with pytest.raises(RejectedError, match="invalid video title") as info:
        provider.publish(account(), video_post())
    assert info.value.code == "invalidTitle"


@responses.activate
def test_server_errors_are_transient(provider: YouTubeProvider) -> None:
    responses.get(VIDEOS_URL, status=503, json={"error": {"code": 503, "message": "Backend Error",
                                                          "status": "UNAVAILABLE"}})
    with pytest.raises(TransientError):
        provider.check_publish(account(), {"video_id": "x"})


@pytest.mark.parametrize("location", ["https://169.254.169.254/upload", "http://www.googleapis.com/upload/x",
                                      "https://[::ffff:10.0.0.1]/upload", "/upload/youtube/v3/videos?upload_id=1"])
@responses.activate
def test_an_upload_session_address_that_fails_the_guard_is_never_sent_the_video(provider: YouTubeProvider,
                                                                                location: str) -> None:
    responses.post(UPLOAD_URL, status=200, headers={"Location": location})
    with pytest.raises(UnsafeHostError):
        provider.publish(account(), video_post())
    assert len(responses.calls) == 1  # the session was opened; nothing went to the address it named
