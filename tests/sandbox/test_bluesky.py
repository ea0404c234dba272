"""The Bluesky stand-in enforces the AT Protocol's rules, and the real adapter round-trips through it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from stella.providers.base import Account, ClientCredentials, MediaItem, OutboundPost
from stella.providers.bluesky import BlueskyProvider
from stella.providers.errors import AuthExpiredError
from stella.providers.http import HttpClient
from stella.sandbox.platforms.bluesky import DEMO, PDS_HOST, count_graphemes
from stella.sandbox.server import RunningServer

PDS = f"/{PDS_HOST}/xrpc"
DID = DEMO["did"]
CREATED_AT = "2026-03-02T15:30:00.000Z"
RECORD_QUERY = {"repo": DID, "collection": "app.bsky.feed.post"}


def login(client: FlaskClient) -> dict[str, Any]:
    response = client.post("/bsky.social/xrpc/com.atproto.server.createSession",
                           json={"identifier": DEMO["handle"], "password": DEMO["app_password"]})
    assert response.status_code == 200, response.json
    return dict(response.json)


def auth(session: dict[str, Any], key: str = "accessJwt") -> dict[str, str]:
    return {"Authorization": f"Bearer {session[key]}"}


def create(client: FlaskClient, session: dict[str, Any], record: dict[str, Any], rkey: str | None = None) -> Any:
    body: dict[str, Any] = {"repo": DID, "collection": "app.bsky.feed.post", "record": record}
    if rkey:
        body["rkey"] = rkey
    return client.post(f"{PDS}/com.atproto.repo.createRecord", json=body, headers=auth(session))


def post_record(text: str = "Open house Saturday", **extra: Any) -> dict[str, Any]:
    return {"$type": "app.bsky.feed.post", "text": text, "createdAt": CREATED_AT, **extra}


def upload_image(client: FlaskClient, session: dict[str, Any], data: bytes = b"\xff\xd8img") -> dict[str, Any]:
    response = client.post(f"{PDS}/com.atproto.repo.uploadBlob", data=data,
                           headers={**auth(session), "Content-Type": "image/jpeg"})
    assert response.status_code == 200
    return dict(response.json["blob"])


# -- sessions ---------------------------------------------------------------------------------------------


def test_create_session_returns_jwts_and_a_did_doc_pointing_at_the_pds(sandbox_client: FlaskClient) -> None:
    session = login(sandbox_client)
    assert session["did"] == DID and session["handle"] == DEMO["handle"]
    assert session["accessJwt"] != session["refreshJwt"]
    service = session["didDoc"]["service"][0]
    assert service == {"id": "#atproto_pds", "type": "AtprotoPersonalDataServer",
                       "serviceEndpoint": f"https://{PDS_HOST}"}


@pytest.mark.parametrize(
    ("identifier", "password", "status", "error"),
    [
        (DEMO["handle"], "aaaa-bbbb-cccc-dddd", 401, "AuthenticationRequired"),
        ("nobody.bsky.social", DEMO["app_password"], 401, "AuthenticationRequired"),
        (DEMO["handle"], DEMO["main_password"], 401, "AuthFactorTokenRequired"),
        ("", DEMO["app_password"], 400, "InvalidRequest"),
    ],
)
def test_create_session_refuses_bad_credentials_with_xrpc_errors(
    sandbox_client: FlaskClient, identifier: str, password: str, status: int, error: str
) -> None:
    response = sandbox_client.post("/bsky.social/xrpc/com.atproto.server.createSession",
                                   json={"identifier": identifier, "password": password})
    assert response.status_code == status
    assert response.json["error"] == error and response.json["message"]


def test_create_session_is_rate_limited_after_30_logins_in_5_minutes(sandbox_client: FlaskClient) -> None:
    for _ in range(30):
        login(sandbox_client)
    response = sandbox_client.post("/bsky.social/xrpc/com.atproto.server.createSession",
                                   json={"identifier": DEMO["handle"], "password": DEMO["app_password"]})
    assert response.status_code == 429
    assert response.json["error"] == "RateLimitExceeded"
    assert int(response.headers["RateLimit-Reset"]) > datetime.now(UTC).timestamp()


def test_expired_access_token_is_http_400_expired_token(sandbox_client: FlaskClient) -> None:
    session = login(sandbox_client)
    sandbox_client.post("/_sandbox/expire-tokens", json={"platform": "bluesky"})
    response = create(sandbox_client, session, post_record())
    assert response.status_code == 400
    assert response.json == {"error": "ExpiredToken", "message": "Token has expired"}


def test_missing_or_wrong_kind_of_token_is_refused(sandbox_client: FlaskClient) -> None:
    session = login(sandbox_client)
    missing = sandbox_client.post(f"{PDS}/com.atproto.repo.createRecord", json={})
    assert missing.status_code == 401 and missing.json["error"] == "AuthMissing"
    refresh_as_access = sandbox_client.post(f"{PDS}/com.atproto.repo.createRecord", json={},
                                            headers=auth(session, "refreshJwt"))
    assert refresh_as_access.status_code == 400 and refresh_as_access.json["error"] == "InvalidToken"


def test_refresh_rotates_tokens_and_the_old_refresh_token_dies_after_the_two_hour_grace(
    sandbox_client: FlaskClient,
) -> None:
    session = login(sandbox_client)
    first = sandbox_client.post(f"{PDS}/com.atproto.server.refreshSession", headers=auth(session, "refreshJwt"))
    assert first.status_code == 200
    assert first.json["refreshJwt"] != session["refreshJwt"] and first.json["accessJwt"] != session["accessJwt"]
    # Within the grace period the old refresh token still works (a retry after a lost answer).
    again = sandbox_client.post(f"{PDS}/com.atproto.server.refreshSession", headers=auth(session, "refreshJwt"))
    assert again.status_code == 200
    sandbox_client.post("/_sandbox/clock", json={"advance_seconds": 2 * 3600 + 60})
    late = sandbox_client.post(f"{PDS}/com.atproto.server.refreshSession", headers=auth(session, "refreshJwt"))
    assert late.status_code == 400 and late.json["error"] == "ExpiredToken"
    # An access token is not a refresh token.
    wrong = sandbox_client.post(f"{PDS}/com.atproto.server.refreshSession", headers=auth(first.json))
    assert wrong.status_code == 400 and wrong.json["error"] == "InvalidToken"


def test_delete_session_revokes_the_refresh_token(sandbox_client: FlaskClient) -> None:
    session = login(sandbox_client)
    assert sandbox_client.post(f"{PDS}/com.atproto.server.deleteSession",
                               headers=auth(session, "refreshJwt")).status_code == 200
    after = sandbox_client.post(f"{PDS}/com.atproto.server.refreshSession", headers=auth(session, "refreshJwt"))
    assert after.status_code == 400 and after.json["error"] == "ExpiredToken"


# -- records ----------------------------------------------------------------------------------------------


def test_create_record_stores_the_post_with_its_at_uri_and_permalink(sandbox_client: FlaskClient) -> None:
    session = login(sandbox_client)
    response = create(sandbox_client, session, post_record(), rkey="3kqsjldesl5ze")
    assert response.status_code == 200
    assert response.json["uri"] == f"at://{DID}/app.bsky.feed.post/3kqsjldesl5ze"
    assert response.json["cid"].startswith("bafkrei") and response.json["validationStatus"] == "valid"
    [stored] = sandbox_client.get("/_sandbox/posts?platform=bluesky").json
    assert stored["permalink"] == f"https://bsky.app/profile/{DID}/post/3kqsjldesl5ze"
    fetched = sandbox_client.get(f"{PDS}/com.atproto.repo.getRecord",
                                 query_string={**RECORD_QUERY, "rkey": "3kqsjldesl5ze"})
    assert fetched.status_code == 200 and fetched.json["value"]["text"] == "Open house Saturday"


def test_get_record_for_a_missing_key_is_record_not_found(sandbox_client: FlaskClient) -> None:
    response = sandbox_client.get(f"{PDS}/com.atproto.repo.getRecord",
                                  query_string={**RECORD_QUERY, "rkey": "3kqsjldesl5ze"})
    assert response.status_code == 400 and response.json["error"] == "RecordNotFound"


def test_a_record_key_is_never_written_twice(sandbox_client: FlaskClient) -> None:
    session = login(sandbox_client)
    assert create(sandbox_client, session, post_record(), rkey="3kqsjldesl5ze").status_code == 200
    second = create(sandbox_client, session, post_record("again"), rkey="3kqsjldesl5ze")
    assert second.status_code == 500
    assert len(sandbox_client.get("/_sandbox/posts?platform=bluesky").json) == 1


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (post_record("x" * 301), "300 graphemes"),
        (post_record("👨‍👩‍👧‍👦" * 130), "3000 characters"),  # 130 graphemes but 3250 UTF-8 bytes
        ({"$type": "app.bsky.feed.post", "text": "no date"}, "createdAt"),
        (post_record("hi", createdAt="2026-03-02 15:30"), "createdAt"),
        (post_record("hi #tag", facets=[{"index": {"byteStart": 3, "byteEnd": 99},
                                          "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "tag"}]}]),
         "facets/0/index"),
        (post_record("hi", embed={"$type": "app.bsky.embed.images", "images": [
            {"image": {"$type": "blob", "ref": {"$link": "bafkreinope"}, "mimeType": "image/jpeg", "size": 3},
             "alt": ""}]}), "could not find blob"),
        ({**post_record(), "$type": "app.bsky.feed.like"}, "Invalid $type"),
    ],
)
def test_invalid_records_get_invalid_request_naming_the_field(
    sandbox_client: FlaskClient, record: dict[str, Any], message: str
) -> None:
    session = login(sandbox_client)
    response = create(sandbox_client, session, record)
    assert response.status_code == 400
    assert response.json["error"] == "InvalidRequest"
    assert message in response.json["message"]
    assert sandbox_client.get("/_sandbox/posts?platform=bluesky").json == []


def test_three_hundred_emoji_graphemes_fit_even_though_they_are_many_code_points(sandbox_client: FlaskClient) -> None:
    session = login(sandbox_client)
    text = "🏡" * 300  # 300 graphemes, 1200 bytes
    assert count_graphemes(text) == 300
    assert create(sandbox_client, session, post_record(text)).status_code == 200


def test_images_need_alt_and_at_most_four(sandbox_client: FlaskClient) -> None:
    session = login(sandbox_client)
    blob = upload_image(sandbox_client, session)
    no_alt = create(sandbox_client, session, post_record(embed={"$type": "app.bsky.embed.images",
                                                                  "images": [{"image": blob}]}))
    assert no_alt.status_code == 400 and 'property "alt"' in no_alt.json["message"]
    five = create(sandbox_client, session, post_record(embed={"$type": "app.bsky.embed.images",
                                                                "images": [{"image": blob, "alt": ""}] * 5}))
    assert five.status_code == 400 and "more than 4" in five.json["message"]
    four = create(sandbox_client, session, post_record(embed={"$type": "app.bsky.embed.images",
                                                                "images": [{"image": blob, "alt": "Porch"}] * 4}))
    assert four.status_code == 200


def test_upload_blob_needs_a_content_type(sandbox_client: FlaskClient) -> None:
    session = login(sandbox_client)
    response = sandbox_client.post(f"{PDS}/com.atproto.repo.uploadBlob", data=b"img", headers=auth(session))
    assert response.status_code == 400 and response.json["error"] == "InvalidRequest"


def test_another_accounts_repo_is_refused(sandbox_client: FlaskClient) -> None:
    session = login(sandbox_client)
    response = sandbox_client.post(f"{PDS}/com.atproto.repo.createRecord", headers=auth(session), json={
        "repo": "did:plc:someoneelse22222222222222", "collection": "app.bsky.feed.post", "record": post_record()})
    assert response.status_code == 401


# -- video ------------------------------------------------------------------------------------------------


def test_video_upload_needs_a_service_token_bound_to_upload_blob(sandbox_client: FlaskClient) -> None:
    session = login(sandbox_client)
    now = int(datetime.now(UTC).timestamp())
    too_long = sandbox_client.get(f"{PDS}/com.atproto.server.getServiceAuth", headers=auth(session), query_string={
        "aud": f"did:web:{PDS_HOST}", "lxm": "com.atproto.repo.uploadBlob", "exp": now + 7200})
    assert too_long.status_code == 400 and too_long.json["error"] == "BadExpiration"
    with_access_token = sandbox_client.post(
        f"/video.bsky.app/xrpc/app.bsky.video.uploadVideo?did={DID}&name=a.mp4", data=b"mp4",
        headers={**auth(session), "Content-Type": "video/mp4"})
    assert with_access_token.status_code == 401

    token = sandbox_client.get(f"{PDS}/com.atproto.server.getServiceAuth", headers=auth(session), query_string={
        "aud": f"did:web:{PDS_HOST}", "lxm": "com.atproto.repo.uploadBlob", "exp": now + 1800}).json["token"]
    upload = sandbox_client.post(f"/video.bsky.app/xrpc/app.bsky.video.uploadVideo?did={DID}&name=a.mp4",
                                 data=b"mp4-bytes", headers={"Authorization": f"Bearer {token}",
                                                             "Content-Type": "video/mp4"})
    assert upload.status_code == 200
    job = upload.json["jobStatus"]
    assert job["state"] == "JOB_STATE_CREATED"
    states = [sandbox_client.get("/video.bsky.app/xrpc/app.bsky.video.getJobStatus",
                                 query_string={"jobId": job["jobId"]}).json["jobStatus"]["state"] for _ in range(2)]
    assert states == ["JOB_STATE_ENCODING", "JOB_STATE_COMPLETED"]
    again = sandbox_client.post(f"/video.bsky.app/xrpc/app.bsky.video.uploadVideo?did={DID}&name=a.mp4",
                                data=b"mp4-bytes", headers={"Authorization": f"Bearer {token}",
                                                            "Content-Type": "video/mp4"})
    assert again.status_code == 409
    assert again.json["jobStatus"]["error"] == "already_exists" and again.json["jobStatus"]["blob"]


# -- metrics ----------------------------------------------------------------------------------------------


def test_get_posts_reports_counts_in_bluesky_field_names(sandbox_client: FlaskClient) -> None:
    session = login(sandbox_client)
    uri = create(sandbox_client, session, post_record()).json["uri"]
    sandbox_client.post("/_sandbox/clock", json={"advance_seconds": 48 * 3600})
    response = sandbox_client.get("/public.api.bsky.app/xrpc/app.bsky.feed.getPosts", query_string={"uris": [uri]})
    [view] = response.json["posts"]
    assert view["uri"] == uri
    assert {"likeCount", "repostCount", "replyCount", "quoteCount", "bookmarkCount"} <= set(view)
    assert view["likeCount"] > 0
    too_many = sandbox_client.get("/public.api.bsky.app/xrpc/app.bsky.feed.getPosts",
                                  query_string={"uris": [uri] * 26})
    assert too_many.status_code == 400


# -- the real adapter against the sandbox -------------------------------------------------------------------


def test_adapter_round_trip_through_the_sandbox(sandbox_server: RunningServer, sandbox_app: Flask) -> None:
    http = HttpClient(sandbox_url=sandbox_server.url)
    provider = BlueskyProvider(ClientCredentials("", ""), http)
    service = http.check_user_host("bsky.social")
    tokens = provider.create_session(service, DEMO["handle"], DEMO["app_password"])
    assert tokens.extra["pds_url"] == f"https://{PDS_HOST}"

    profile = provider.fetch_profile(tokens)
    assert profile.platform_account_id == DID and profile.display_name == "Harbor & Vine Realty"
    assert provider.list_targets(tokens, profile) == []
    account = Account(access_token=tokens.access_token, platform_account_id=profile.platform_account_id,
                      handle=profile.handle, metadata=dict(profile.metadata))

    image = MediaItem(url="https://cdn.example/porch.jpg", kind="image", mime_type="image/jpeg",
                      alt_text="Front porch", data=b"\xff\xd8porch")
    post = OutboundPost(text="Just listed: 12 Elm St 🏡 https://harborvine.example/12-elm #JustListed",
                        media=(image,), idempotency_key="post-1:bluesky")
    result = provider.publish(account, post)
    assert result.state == "published" and result.platform_post_id
    # A retry of the same publish finds the record instead of writing a second one.
    assert provider.publish(account, post).platform_post_id == result.platform_post_id

    video = MediaItem(url="https://cdn.example/tour.mp4", kind="video", mime_type="video/mp4", data=b"mp4-tour")
    pending = provider.publish(account, OutboundPost(text="Video tour", media=(video,), idempotency_key="post-2"))
    assert pending.state == "processing"
    outcome = pending
    for _ in range(5):
        outcome = provider.check_publish(account, outcome.poll or {})
        if outcome.state == "published":
            break
    assert outcome.state == "published"

    with sandbox_app.app_context():
        from stella.sandbox.core import store

        posts = store().posts("bluesky")
    assert [p.platform_post_id for p in posts] == [result.platform_post_id, outcome.platform_post_id]
    assert posts[0].media[0]["alt"] == "Front porch"
    assert posts[0].extra["record"]["facets"][0]["features"][0]["uri"] == "https://harborvine.example/12-elm"
    assert posts[1].media[0]["kind"] == "video"

    fresh = provider.refresh(tokens)
    assert fresh.access_token != tokens.access_token and fresh.refresh_token != tokens.refresh_token
    assert provider.fetch_profile(fresh).platform_account_id == DID

    provider.revoke(fresh)
    with pytest.raises(AuthExpiredError):
        provider.refresh(fresh)


def test_adapter_sees_an_expired_session_as_auth_expired(sandbox_server: RunningServer, sandbox_app: Flask) -> None:
    provider = BlueskyProvider(ClientCredentials("", ""), HttpClient(sandbox_url=sandbox_server.url))
    tokens = provider.create_session("https://bsky.social", DEMO["handle"], DEMO["app_password"])
    sandbox_app.test_client().post("/_sandbox/clock", json={"advance_seconds": 3 * 3600})
    with pytest.raises(AuthExpiredError):
        provider.fetch_profile(tokens)
    # The refresh token (90 days) outlives the access token (2 hours).
    assert provider.fetch_profile(provider.refresh(tokens)).platform_account_id == DID
