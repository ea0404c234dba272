"""Bluesky adapter: the exact XRPC requests it sends and how it reads real bodies (platform doc §3)."""

from __future__ import annotations

import base64
import ipaddress
import json
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import responses
from responses import matchers

from stella.providers.base import Account, ClientCredentials, MediaItem, OutboundPost, TokenSet
from stella.providers.bluesky import (
    BlueskyProvider,
    detect_facets,
    jwt_expiry,
    pds_from_did_doc,
    record_key,
)
from stella.providers.errors import AuthExpiredError, RateLimitedError, RejectedError, TransientError, UnsafeHostError
from stella.providers.http import HttpClient

NOW = datetime(2026, 3, 2, 15, 30, 0, 123000, tzinfo=UTC)
SERVICE = "https://bsky.social"
PDS = "https://morel.us-east.host.bsky.network"
DID = "did:plc:hvrealty7k2m4q6s3u2w4y6z"
XRPC = f"{PDS}/xrpc"


def jwt(exp: datetime, marker: str) -> str:
    def part(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'ES256K'})}.{part({'sub': DID, 'exp': int(exp.timestamp()), 'm': marker})}.c2ln"


ACCESS = jwt(NOW + timedelta(hours=2), "access")
REFRESH = jwt(NOW + timedelta(days=90), "refresh")
DID_DOC = {
    "id": DID,
    "alsoKnownAs": ["at://harborvine.bsky.social"],
    "service": [
        {"id": "#atproto_labeler", "type": "AtprotoLabeler", "serviceEndpoint": "https://labeler.example"},
        {"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": PDS},
    ],
}
# Shape of createSession's output (lexicon com/atproto/server/createSession.json, doc §3.2).
SESSION = {
    "accessJwt": ACCESS, "refreshJwt": REFRESH, "handle": "harborvine.bsky.social", "did": DID,
    "didDoc": DID_DOC, "email": "social@harborvine.example", "emailConfirmed": True, "emailAuthFactor": False,
    "active": True,
}


@pytest.fixture(autouse=True)
def public_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every call to the service or the PDS is checked: here a name resolves to a public address, an IP to itself."""

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        try:
            address = str(ipaddress.ip_address(host))
        except ValueError:
            address = "93.184.216.34"
        return [(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture()
def provider() -> BlueskyProvider:
    return BlueskyProvider(ClientCredentials("cid", "csecret"), HttpClient(), clock=lambda: NOW)


def account() -> Account:
    return Account(access_token=ACCESS, platform_account_id=DID, handle="harborvine.bsky.social",
                   metadata={"did": DID, "pds_url": PDS, "service_url": SERVICE})


def record_not_found(rkey: str) -> dict[str, object]:
    return {"error": "RecordNotFound", "message": f"Could not locate record: at://{DID}/app.bsky.feed.post/{rkey}"}


@responses.activate
def test_create_session_posts_identifier_and_app_password_and_reads_pds_from_did_doc(provider: BlueskyProvider) -> None:
    responses.post(
        f"{SERVICE}/xrpc/com.atproto.server.createSession",
        json=SESSION,
        match=[matchers.json_params_matcher(
            {"identifier": "harborvine.bsky.social", "password": "abcd-efgh-ijkl-mnop"}
        )],
    )
    tokens = provider.create_session(SERVICE, "@harborvine.bsky.social", "abcd-efgh-ijkl-mnop")
    assert tokens.access_token == ACCESS and tokens.refresh_token == REFRESH
    assert tokens.expires_at == datetime.fromtimestamp(int((NOW + timedelta(hours=2)).timestamp()), tz=UTC)
    assert tokens.refresh_expires_at is not None and tokens.refresh_expires_at > NOW + timedelta(days=89)
    assert tokens.extra["did"] == DID
    assert tokens.extra["pds_url"] == PDS
    assert tokens.extra["service_url"] == SERVICE


def session_naming(pds: str) -> dict[str, object]:
    doc = {**DID_DOC, "service": [{"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": pds}]}
    return {**SESSION, "didDoc": doc}


@pytest.mark.parametrize("pds", ["http://127.0.0.1:2583", "https://10.0.0.5", "https://[::ffff:10.0.0.5]",
                                 "https://100.100.100.200", "https://[fd00::5", "ftp://pds.example"])
@responses.activate
def test_create_session_refuses_a_did_doc_naming_a_private_or_malformed_pds(provider: BlueskyProvider, pds) -> None:
    responses.post(f"{SERVICE}/xrpc/com.atproto.server.createSession", json=session_naming(pds))
    with pytest.raises(UnsafeHostError) as caught:
        provider.create_session(SERVICE, "harborvine.bsky.social", "abcd-efgh-ijkl-mnop")
    assert caught.value.message.startswith(f"Bluesky says this account is hosted on {pds}: ")
    assert ACCESS not in caught.value.message and REFRESH not in caught.value.message
    assert len(responses.calls) == 1  # only createSession: no token ever went to the PDS it named


@responses.activate
def test_create_session_keeps_the_did_doc_pds_normalised(provider: BlueskyProvider) -> None:
    responses.post(f"{SERVICE}/xrpc/com.atproto.server.createSession",
                   json=session_naming("https://Morel.US-East.host.bsky.network/"))
    tokens = provider.create_session(SERVICE, "harborvine.bsky.social", "abcd-efgh-ijkl-mnop")
    assert tokens.extra["pds_url"] == PDS


@pytest.mark.parametrize("pds", ["https://10.0.0.5", "http://pds.example", "https://pds.example:99999"])
@responses.activate
def test_a_stored_pds_that_fails_the_guard_is_never_sent_a_token(provider: BlueskyProvider, pds) -> None:
    tokens = TokenSet(access_token=ACCESS, refresh_token=REFRESH, extra={"did": DID, "pds_url": pds})
    with pytest.raises(UnsafeHostError):
        provider.fetch_profile(tokens)
    with pytest.raises(UnsafeHostError):
        provider.refresh(tokens)
    with pytest.raises(UnsafeHostError):
        provider.publish(Account(access_token=ACCESS, platform_account_id=DID, metadata={"did": DID, "pds_url": pds}),
                         OutboundPost(text="Hi", idempotency_key="k"))
    assert not responses.calls


@responses.activate
def test_refresh_does_not_follow_a_did_doc_to_a_private_pds_and_keeps_the_rotated_tokens(
    provider: BlueskyProvider,
) -> None:
    new_access, new_refresh = jwt(NOW + timedelta(hours=4), "a2"), jwt(NOW + timedelta(days=91), "r2")
    moved = {**session_naming("https://169.254.169.254"), "accessJwt": new_access, "refreshJwt": new_refresh}
    responses.post(f"{XRPC}/com.atproto.server.refreshSession", json=moved)
    fresh = provider.refresh(TokenSet(access_token=ACCESS, refresh_token=REFRESH,
                                      extra={"did": DID, "pds_url": PDS, "service_url": SERVICE}))
    assert fresh.access_token == new_access and fresh.refresh_token == new_refresh
    assert fresh.extra["pds_url"] == PDS


@responses.activate
def test_refresh_follows_a_did_doc_to_a_new_public_pds(provider: BlueskyProvider) -> None:
    responses.post(f"{XRPC}/com.atproto.server.refreshSession", json=session_naming("https://pds.harborvine.example"))
    fresh = provider.refresh(TokenSet(access_token=ACCESS, refresh_token=REFRESH,
                                      extra={"did": DID, "pds_url": PDS, "service_url": SERVICE}))
    assert fresh.extra["pds_url"] == "https://pds.harborvine.example"


@responses.activate
def test_create_session_with_wrong_password_is_rejected_without_echoing_the_password(provider: BlueskyProvider) -> None:
    responses.post(
        f"{SERVICE}/xrpc/com.atproto.server.createSession", status=401,
        json={"error": "AuthenticationRequired", "message": "Invalid identifier or password"},
    )
    with pytest.raises(RejectedError) as caught:
        provider.create_session(SERVICE, "harborvine.bsky.social", "wxyz-wxyz-wxyz-wxyz")
    assert "app password" in str(caught.value)
    assert "wxyz-wxyz-wxyz-wxyz" not in str(caught.value)


@responses.activate
def test_create_session_with_main_password_and_2fa_asks_for_an_app_password(provider: BlueskyProvider) -> None:
    responses.post(
        f"{SERVICE}/xrpc/com.atproto.server.createSession", status=401,
        json={"error": "AuthFactorTokenRequired", "message": "A sign in code has been sent to your email address"},
    )
    with pytest.raises(RejectedError) as caught:
        provider.create_session(SERVICE, "harborvine.bsky.social", "my-main-password")
    assert caught.value.code == "AuthFactorTokenRequired"
    assert "app password" in str(caught.value)


@responses.activate
def test_refresh_sends_the_refresh_jwt_as_bearer_without_body_and_rotates_both_tokens(
    provider: BlueskyProvider,
) -> None:
    new_access, new_refresh = jwt(NOW + timedelta(hours=4), "a2"), jwt(NOW + timedelta(days=91), "r2")
    responses.post(
        f"{XRPC}/com.atproto.server.refreshSession",
        json={"accessJwt": new_access, "refreshJwt": new_refresh, "handle": "harborvine.bsky.social", "did": DID},
        match=[matchers.header_matcher({"Authorization": f"Bearer {REFRESH}"})],
    )
    old = TokenSet(access_token=ACCESS, refresh_token=REFRESH,
                   extra={"did": DID, "pds_url": PDS, "service_url": SERVICE})
    fresh = provider.refresh(old)
    assert responses.calls[0].request.body in (None, b"")
    assert fresh.access_token == new_access
    assert fresh.refresh_token == new_refresh  # rotated: the new one replaces the old
    assert fresh.extra["pds_url"] == PDS  # no didDoc in this answer: the known PDS is kept
    assert fresh.expires_at is not None and fresh.expires_at > NOW + timedelta(hours=3)


@responses.activate
def test_refresh_with_an_expired_refresh_token_needs_reconnecting_and_hides_the_token(
    provider: BlueskyProvider,
) -> None:
    # doc §3.7: an expired JWT is HTTP 400 ExpiredToken, not 401.
    responses.post(f"{XRPC}/com.atproto.server.refreshSession", status=400,
                   json={"error": "ExpiredToken", "message": f"Token has expired: {REFRESH}"})
    with pytest.raises(AuthExpiredError) as caught:
        provider.refresh(TokenSet(access_token=ACCESS, refresh_token=REFRESH, extra={"pds_url": PDS}))
    assert REFRESH not in str(caught.value) and ACCESS not in str(caught.value)


@responses.activate
def test_fetch_profile_reads_get_profile_for_the_session_did(provider: BlueskyProvider) -> None:
    responses.get(
        f"{XRPC}/app.bsky.actor.getProfile",
        match=[matchers.query_param_matcher({"actor": DID}),
               matchers.header_matcher({"Authorization": f"Bearer {ACCESS}"})],
        json={
            "did": DID, "handle": "harborvine.bsky.social", "displayName": "Harbor & Vine Realty",
            "avatar": f"https://cdn.bsky.app/img/avatar/plain/{DID}/bafkreiabc@jpeg", "followersCount": 12,
            "postsCount": 3,
        },
    )
    profile = provider.fetch_profile(TokenSet(access_token=ACCESS, extra={"did": DID, "pds_url": PDS,
                                                                           "service_url": SERVICE}))
    assert profile.platform_account_id == DID
    assert profile.handle == "harborvine.bsky.social"
    assert profile.display_name == "Harbor & Vine Realty"
    assert profile.avatar_url and profile.avatar_url.startswith("https://cdn.bsky.app/")
    assert profile.metadata == {"did": DID, "pds_url": PDS, "service_url": SERVICE}


@responses.activate
def test_publish_text_writes_a_record_at_a_key_derived_from_the_idempotency_key(provider: BlueskyProvider) -> None:
    rkey = record_key("post-1:bluesky")
    responses.get(f"{XRPC}/com.atproto.repo.getRecord", status=400, json=record_not_found(rkey),
                  match=[matchers.query_param_matcher({"repo": DID, "collection": "app.bsky.feed.post", "rkey": rkey})])
    responses.post(f"{XRPC}/com.atproto.repo.createRecord", json={
        "uri": f"at://{DID}/app.bsky.feed.post/{rkey}", "cid": "bafyreib2rxk3rh6kzwq",
        "commit": {"cid": "bafyreic", "rev": "3lbcdefghij22"}, "validationStatus": "valid",
    })
    text = "Open house 🏡 https://harborvine.example/12-elm #OpenHouse"
    result = provider.publish(account(), OutboundPost(text=text, idempotency_key="post-1:bluesky"))

    sent = json.loads(responses.calls[1].request.body)
    assert responses.calls[1].request.headers["Authorization"] == f"Bearer {ACCESS}"
    assert sent["repo"] == DID and sent["collection"] == "app.bsky.feed.post" and sent["rkey"] == rkey
    assert sent["validate"] is True
    record = sent["record"]
    assert record["$type"] == "app.bsky.feed.post" and record["text"] == text
    assert record["createdAt"] == "2026-03-02T15:30:00.123Z"
    link, tag = record["facets"]
    raw = text.encode("utf-8")
    assert raw[link["index"]["byteStart"]:link["index"]["byteEnd"]] == b"https://harborvine.example/12-elm"
    assert link["features"] == [{"$type": "app.bsky.richtext.facet#link", "uri": "https://harborvine.example/12-elm"}]
    assert raw[tag["index"]["byteStart"]:tag["index"]["byteEnd"]] == b"#OpenHouse"
    assert tag["features"] == [{"$type": "app.bsky.richtext.facet#tag", "tag": "OpenHouse"}]
    assert result.state == "published"
    assert result.platform_post_id == f"at://{DID}/app.bsky.feed.post/{rkey}"
    assert result.permalink == f"https://bsky.app/profile/{DID}/post/{rkey}"


@responses.activate
def test_publish_retry_finds_the_existing_record_and_does_not_write_twice(provider: BlueskyProvider) -> None:
    rkey = record_key("post-1:bluesky")
    uri = f"at://{DID}/app.bsky.feed.post/{rkey}"
    responses.get(f"{XRPC}/com.atproto.repo.getRecord",
                  json={"uri": uri, "cid": "bafyrei", "value": {"$type": "app.bsky.feed.post", "text": "Hi"}})
    create = responses.post(f"{XRPC}/com.atproto.repo.createRecord", json={})
    result = provider.publish(account(), OutboundPost(text="Hi", idempotency_key="post-1:bluesky"))
    assert create.call_count == 0
    assert result.state == "published" and result.platform_post_id == uri


@responses.activate
def test_publish_images_uploads_raw_blobs_and_embeds_them_with_alt_text(provider: BlueskyProvider) -> None:
    responses.get(f"{XRPC}/com.atproto.repo.getRecord", status=400, json=record_not_found("x"))
    blobs = [
        {"blob": {"$type": "blob", "ref": {"$link": f"bafkreiimage{i}"}, "mimeType": "image/jpeg", "size": 5}}
        for i in range(2)
    ]
    responses.post(f"{XRPC}/com.atproto.repo.uploadBlob", json=blobs[0])
    responses.post(f"{XRPC}/com.atproto.repo.uploadBlob", json=blobs[1])
    responses.post(f"{XRPC}/com.atproto.repo.createRecord",
                   json={"uri": f"at://{DID}/app.bsky.feed.post/3kqsjldesl5ze", "cid": "bafyrei"})
    media = (
        MediaItem(url="https://cdn.example/front.jpg", kind="image", mime_type="image/jpeg", alt_text="Front porch",
                  data=b"\xff\xd8jpeg"),
        MediaItem(url="https://cdn.example/kitchen.jpg", kind="image", mime_type="image/jpeg", data=b"\xff\xd8two"),
    )
    provider.publish(account(), OutboundPost(text="New listing", media=media, idempotency_key="k"))
    assert [c.request.url.rsplit("/", 1)[-1] for c in responses.calls].count("com.atproto.repo.uploadBlob") == 2
    first_upload = responses.calls[1].request
    assert first_upload.body == b"\xff\xd8jpeg"
    assert first_upload.headers["Content-Type"] == "image/jpeg"
    embed = json.loads(responses.calls[3].request.body)["record"]["embed"]
    assert embed["$type"] == "app.bsky.embed.images"
    assert [i["alt"] for i in embed["images"]] == ["Front porch", ""]
    assert [i["image"]["ref"]["$link"] for i in embed["images"]] == ["bafkreiimage0", "bafkreiimage1"]


@responses.activate
def test_publish_refuses_an_image_over_one_megabyte_before_uploading(provider: BlueskyProvider) -> None:
    responses.get(f"{XRPC}/com.atproto.repo.getRecord", status=400, json=record_not_found("x"))
    upload = responses.post(f"{XRPC}/com.atproto.repo.uploadBlob", json={})
    big = MediaItem(url="https://cdn.example/big.jpg", kind="image", mime_type="image/jpeg", data=b"x" * 1_000_001)
    with pytest.raises(RejectedError, match="1 MB"):
        provider.publish(account(), OutboundPost(text="Big", media=(big,), idempotency_key="k"))
    assert upload.call_count == 0


@responses.activate
def test_publish_video_uploads_with_a_service_token_and_polls_the_job_before_posting(provider: BlueskyProvider) -> None:
    responses.get(f"{XRPC}/com.atproto.repo.getRecord", status=400, json=record_not_found("x"))
    exp = int((NOW + timedelta(minutes=30)).timestamp())
    responses.get(
        f"{XRPC}/com.atproto.server.getServiceAuth", json={"token": "service-token-123"},
        match=[matchers.query_param_matcher({"aud": "did:web:morel.us-east.host.bsky.network",
                                             "lxm": "com.atproto.repo.uploadBlob", "exp": str(exp)})],
    )
    responses.post(
        "https://video.bsky.app/xrpc/app.bsky.video.uploadVideo",
        json={"jobStatus": {"jobId": "job-77", "did": DID, "state": "JOB_STATE_CREATED", "progress": 0}},
        match=[matchers.query_param_matcher({"did": DID, "name": "tour.mp4"}),
               matchers.header_matcher({"Authorization": "Bearer service-token-123", "Content-Type": "video/mp4"})],
    )
    video = MediaItem(url="https://cdn.example/tour.mp4", kind="video", mime_type="video/mp4", alt_text="Tour",
                      data=b"\x00\x00\x00\x18ftypmp42")
    result = provider.publish(account(), OutboundPost(text="Walkthrough", media=(video,), idempotency_key="vid"))
    assert result.state == "processing"
    assert result.poll is not None and result.poll["job_id"] == "job-77"
    poll = json.loads(json.dumps(result.poll))  # what the caller stores must survive JSON

    blob = {"$type": "blob", "ref": {"$link": "bafkreivideo"}, "mimeType": "video/mp4", "size": 12}
    responses.get("https://video.bsky.app/xrpc/app.bsky.video.getJobStatus",
                  json={"jobStatus": {"jobId": "job-77", "did": DID, "state": "JOB_STATE_ENCODING", "progress": 40}})
    assert provider.check_publish(account(), poll).state == "processing"

    responses.replace(responses.GET, "https://video.bsky.app/xrpc/app.bsky.video.getJobStatus",
                      json={"jobStatus": {"jobId": "job-77", "did": DID, "state": "JOB_STATE_COMPLETED", "blob": blob}})
    responses.post(f"{XRPC}/com.atproto.repo.createRecord",
                   json={"uri": f"at://{DID}/app.bsky.feed.post/{poll['rkey']}", "cid": "bafyrei"})
    done = provider.check_publish(account(), poll)
    assert done.state == "published"
    record = json.loads(responses.calls[-1].request.body)["record"]
    assert record["text"] == "Walkthrough"
    assert record["embed"] == {"$type": "app.bsky.embed.video", "video": blob, "alt": "Tour"}


@responses.activate
def test_failed_video_job_is_a_rejection_with_the_platform_reason(provider: BlueskyProvider) -> None:
    responses.get(f"{XRPC}/com.atproto.repo.getRecord", status=400, json=record_not_found("x"))
    responses.get("https://video.bsky.app/xrpc/app.bsky.video.getJobStatus", json={"jobStatus": {
        "jobId": "job-9", "did": DID, "state": "JOB_STATE_FAILED", "error": "video_too_long",
        "message": "Video is longer than 3 minutes"}})
    with pytest.raises(RejectedError, match="longer than 3 minutes"):
        provider.check_publish(account(), {"job_id": "job-9", "rkey": "3kqsjldesl5ze", "record": {}})


@responses.activate
def test_expired_access_token_is_http_400_and_maps_to_auth_expired(provider: BlueskyProvider) -> None:
    responses.get(f"{XRPC}/com.atproto.repo.getRecord", status=400,
                  json={"error": "ExpiredToken", "message": "Token has expired"})
    with pytest.raises(AuthExpiredError) as caught:
        provider.publish(account(), OutboundPost(text="Hi", idempotency_key="k"))
    assert ACCESS not in str(caught.value)


@responses.activate
def test_rate_limit_reads_ratelimit_reset_epoch_seconds(provider: BlueskyProvider) -> None:
    reset = int(datetime.now(UTC).timestamp()) + 120
    responses.get(f"{XRPC}/com.atproto.repo.getRecord", status=429,
                  json={"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
                  headers={"RateLimit-Limit": "5000", "RateLimit-Remaining": "0", "RateLimit-Reset": str(reset),
                           "RateLimit-Policy": "5000;w=3600"})
    with pytest.raises(RateLimitedError) as caught:
        provider.publish(account(), OutboundPost(text="Hi", idempotency_key="k"))
    assert caught.value.retry_after is not None and 100 < caught.value.retry_after <= 120


@responses.activate
def test_record_validation_error_is_rejected_with_the_platform_message(provider: BlueskyProvider) -> None:
    responses.get(f"{XRPC}/com.atproto.repo.getRecord", status=400, json=record_not_found("x"))
    responses.post(f"{XRPC}/com.atproto.repo.createRecord", status=400, json={
        "error": "InvalidRequest",
        "message": "Invalid app.bsky.feed.post record: Record/text must not be longer than 300 graphemes"})
    with pytest.raises(RejectedError, match="300 graphemes") as caught:
        provider.publish(account(), OutboundPost(text="x" * 301, idempotency_key="k"))
    assert caught.value.code == "InvalidRequest"


@responses.activate
def test_server_errors_and_html_proxy_pages_are_transient(provider: BlueskyProvider) -> None:
    responses.get(f"{XRPC}/com.atproto.repo.getRecord", status=502, body="<html>Bad Gateway</html>",
                  content_type="text/html")
    with pytest.raises(TransientError):
        provider.publish(account(), OutboundPost(text="Hi", idempotency_key="k"))


@responses.activate
def test_revoke_deletes_the_session_with_the_refresh_jwt(provider: BlueskyProvider) -> None:
    call = responses.post(f"{XRPC}/com.atproto.server.deleteSession",
                          match=[matchers.header_matcher({"Authorization": f"Bearer {REFRESH}"})])
    provider.revoke(TokenSet(access_token=ACCESS, refresh_token=REFRESH, extra={"pds_url": PDS}))
    assert call.call_count == 1


def test_record_key_is_a_stable_valid_tid() -> None:
    import re

    key = record_key("post-42:bluesky")
    assert key == record_key("post-42:bluesky")
    assert key != record_key("post-43:bluesky")
    assert re.fullmatch(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}", key)


def test_facets_count_utf8_bytes_and_skip_numeric_hashtags() -> None:
    text = "Café 🏡 #Listing #2026 see https://harborvine.example/a."
    facets = detect_facets(text)
    raw = text.encode("utf-8")
    spans = [raw[f["index"]["byteStart"]:f["index"]["byteEnd"]].decode() for f in facets]
    assert spans == ["#Listing", "https://harborvine.example/a"]


def test_pds_comes_from_the_atproto_pds_service_entry_and_jwt_expiry_is_read() -> None:
    assert pds_from_did_doc(DID_DOC) == PDS
    assert pds_from_did_doc({"service": []}) is None
    assert jwt_expiry(ACCESS) == datetime.fromtimestamp(int((NOW + timedelta(hours=2)).timestamp()), tz=UTC)
    assert jwt_expiry("opaque-token") is None


def test_rules_follow_the_lexicon_limits() -> None:
    rules = BlueskyProvider.rules
    assert (rules.max_chars, rules.counting, rules.max_bytes) == (300, "graphemes", 3000)
    assert rules.max_images == 4 and rules.max_image_bytes == 1_000_000 and not rules.mixed_media


@responses.activate
def test_publish_without_an_idempotency_key_uses_a_fresh_record_key_each_time() -> None:
    ticks = iter([NOW, NOW, NOW + timedelta(seconds=1), NOW + timedelta(seconds=1)])
    provider = BlueskyProvider(ClientCredentials("cid", "csecret"), HttpClient(), clock=lambda: next(ticks))
    responses.get(f"{XRPC}/com.atproto.repo.getRecord", status=400, json=record_not_found("x"))
    responses.post(f"{XRPC}/com.atproto.repo.createRecord",
                   json={"uri": f"at://{DID}/app.bsky.feed.post/3kqsjldesl5ze", "cid": "bafyrei"})
    for _ in range(2):
        provider.publish(account(), OutboundPost(text="Same words"))
    keys = [json.loads(c.request.body)["rkey"] for c in responses.calls if c.request.method == "POST"]
    assert len(set(keys)) == 2
