"""The X sandbox is strict where X is, and the real adapter completes a full round trip against it."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from stella.providers.base import Account, ClientCredentials, MediaItem, OutboundPost, TokenSet
from stella.providers.errors import AuthExpiredError, UnknownOutcomeError
from stella.providers.http import HttpClient
from stella.providers.pkce import make_pkce_pair
from stella.providers.x import XProvider
from stella.sandbox.server import RunningServer
from tests.sandbox.conftest import STELLA_URL

CLIENT_ID, SECRET = "sandbox-x-id", "sandbox-x-secret"
REDIRECT = f"{STELLA_URL}/connections/x/callback"
SCOPES = "tweet.read tweet.write users.read media.write offline.access"
AUTHORIZE = "/x.com/i/oauth2/authorize"
TOKEN = "/api.x.com/2/oauth2/token"


def basic(client_id: str = CLIENT_ID, secret: str = SECRET) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def authorize_query(**overrides: str) -> str:
    _, challenge = make_pkce_pair()  # a valid challenge; callers that redeem the code pass their own
    params = {"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT, "scope": SCOPES,
              "state": "s-123", "code_challenge": challenge, "code_challenge_method": "S256"}
    params.update(overrides)
    return urlencode({k: v for k, v in params.items() if v != ""})


def get_code(client: FlaskClient, scopes: str = SCOPES) -> tuple[str, str]:
    verifier, challenge = make_pkce_pair()
    query = authorize_query(code_challenge=challenge, scope=scopes)
    response = client.post(f"{AUTHORIZE}?{query}", data={"decision": "allow"})
    assert response.status_code == 302
    location = parse_qs(urlsplit(response.headers["Location"]).query)
    assert location["state"] == ["s-123"]
    return location["code"][0], verifier


def exchange(client: FlaskClient, code: str, verifier: str, headers: dict[str, str] | None = None,
             **form: str) -> dict:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier}
    data.update(form)
    response = client.post(TOKEN, data=data, headers=basic() if headers is None else headers)
    return {"status": response.status_code, **response.get_json()}


def tokens(client: FlaskClient, scopes: str = SCOPES) -> dict:
    code, verifier = get_code(client, scopes)
    body = exchange(client, code, verifier)
    assert body["status"] == 200
    return body


def bearer(access: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access}"}


# -- authorization ---------------------------------------------------------------------------------------------


def test_consent_page_is_shown_for_a_good_request(sandbox_client: FlaskClient) -> None:
    response = sandbox_client.get(f"{AUTHORIZE}?{authorize_query()}")
    assert response.status_code == 200
    assert b"Harbor &amp; Vine Realty" in response.data and b"offline.access" in response.data


def test_wrong_redirect_uri_is_refused_without_redirecting(sandbox_client: FlaskClient) -> None:
    response = sandbox_client.get(f"{AUTHORIZE}?{authorize_query(redirect_uri=REDIRECT + '/')}")
    assert response.status_code == 400
    assert "Location" not in response.headers


def test_missing_code_challenge_is_an_invalid_request(sandbox_client: FlaskClient) -> None:
    response = sandbox_client.get(f"{AUTHORIZE}?{authorize_query(code_challenge='')}")
    assert response.status_code == 302
    assert parse_qs(urlsplit(response.headers["Location"]).query)["error"] == ["invalid_request"]


def test_deny_redirects_with_access_denied(sandbox_client: FlaskClient) -> None:
    response = sandbox_client.post(f"{AUTHORIZE}?{authorize_query()}", data={"decision": "deny"})
    assert parse_qs(urlsplit(response.headers["Location"]).query)["error"] == ["access_denied"]


def test_token_exchange_with_basic_auth_and_verifier_succeeds(sandbox_client: FlaskClient) -> None:
    body = tokens(sandbox_client)
    assert body["token_type"] == "bearer" and body["expires_in"] == 7200
    assert body["refresh_token"] and body["scope"] == SCOPES


def test_client_secret_in_the_body_is_refused(sandbox_client: FlaskClient) -> None:
    code, verifier = get_code(sandbox_client)
    body = exchange(sandbox_client, code, verifier, headers={}, client_id=CLIENT_ID, client_secret=SECRET)
    assert body["status"] == 401
    assert body["error"] == "unauthorized_client"


def test_wrong_client_secret_is_refused(sandbox_client: FlaskClient) -> None:
    code, verifier = get_code(sandbox_client)
    assert exchange(sandbox_client, code, verifier, headers=basic(secret="nope"))["status"] == 401


def test_missing_or_wrong_verifier_is_refused(sandbox_client: FlaskClient) -> None:
    code, _ = get_code(sandbox_client)
    body = exchange(sandbox_client, code, "")
    assert body["status"] == 400 and "code verifier" in body["error_description"]
    code, _ = get_code(sandbox_client)
    other_verifier, _ = make_pkce_pair()
    assert exchange(sandbox_client, code, other_verifier)["status"] == 400


def test_redirect_uri_must_match_the_code(sandbox_client: FlaskClient) -> None:
    code, verifier = get_code(sandbox_client)
    body = exchange(sandbox_client, code, verifier, redirect_uri="http://127.0.0.1:5000/other")
    assert body["status"] == 400 and "redirect uri" in body["error_description"]


def test_a_code_works_once(sandbox_client: FlaskClient) -> None:
    code, verifier = get_code(sandbox_client)
    assert exchange(sandbox_client, code, verifier)["status"] == 200
    body = exchange(sandbox_client, code, verifier)
    assert body["status"] == 400 and body["error_description"] == "Value passed for the authorization code was invalid."


def test_a_code_expires_after_30_seconds(sandbox_app: Flask, sandbox_client: FlaskClient) -> None:
    code, verifier = get_code(sandbox_client)
    sandbox_client.post("/_sandbox/clock", json={"advance_seconds": 31})
    assert exchange(sandbox_client, code, verifier)["status"] == 400


def test_no_refresh_token_without_offline_access(sandbox_client: FlaskClient) -> None:
    body = tokens(sandbox_client, scopes="tweet.read tweet.write users.read")
    assert "refresh_token" not in body


def test_refresh_rotates_and_the_old_refresh_token_stops_working(sandbox_client: FlaskClient) -> None:
    first = tokens(sandbox_client)
    refreshed = sandbox_client.post(TOKEN, data={"grant_type": "refresh_token",
                                                 "refresh_token": first["refresh_token"]}, headers=basic())
    assert refreshed.status_code == 200
    assert refreshed.get_json()["refresh_token"] != first["refresh_token"]
    reused = sandbox_client.post(TOKEN, data={"grant_type": "refresh_token",
                                              "refresh_token": first["refresh_token"]}, headers=basic())
    assert reused.status_code == 400
    assert reused.get_json()["error_description"] == "Value passed for the token was invalid."


def test_expired_access_token_gets_a_401_problem(sandbox_client: FlaskClient) -> None:
    access = tokens(sandbox_client)["access_token"]
    sandbox_client.post("/_sandbox/clock", json={"advance_seconds": 7201})
    response = sandbox_client.get("/api.x.com/2/users/me", headers=bearer(access))
    assert response.status_code == 401
    assert response.get_json()["title"] == "Unauthorized"


def test_revoked_token_no_longer_works(sandbox_client: FlaskClient) -> None:
    access = tokens(sandbox_client)["access_token"]
    assert sandbox_client.post("/api.x.com/2/oauth2/revoke", data={"token": access}, headers=basic()).status_code == 200
    assert sandbox_client.get("/api.x.com/2/users/me", headers=bearer(access)).status_code == 401


# -- posting ---------------------------------------------------------------------------------------------------


def test_text_over_280_weighted_characters_is_refused(sandbox_client: FlaskClient) -> None:
    access = tokens(sandbox_client)["access_token"]
    response = sandbox_client.post("/api.x.com/2/tweets", json={"text": "你" * 141}, headers=bearer(access))
    assert response.status_code == 403
    assert "too long" in response.get_json()["detail"]
    ok = sandbox_client.post("/api.x.com/2/tweets", json={"text": "你" * 140}, headers=bearer(access))
    assert ok.status_code == 201


def test_unknown_fields_are_an_invalid_request(sandbox_client: FlaskClient) -> None:
    access = tokens(sandbox_client)["access_token"]
    response = sandbox_client.post("/api.x.com/2/tweets", json={"text": "hi", "title": "x"}, headers=bearer(access))
    assert response.status_code == 400
    assert response.get_json()["type"] == "https://api.x.com/2/problems/invalid-request"


def test_empty_post_without_media_is_refused(sandbox_client: FlaskClient) -> None:
    access = tokens(sandbox_client)["access_token"]
    assert sandbox_client.post("/api.x.com/2/tweets", json={"text": ""}, headers=bearer(access)).status_code == 400


def test_duplicate_text_is_refused(sandbox_client: FlaskClient) -> None:
    access = tokens(sandbox_client)["access_token"]
    first = sandbox_client.post("/api.x.com/2/tweets", json={"text": "Open house!"}, headers=bearer(access))
    assert first.status_code == 201
    again = sandbox_client.post("/api.x.com/2/tweets", json={"text": "Open house!"}, headers=bearer(access))
    assert again.status_code == 403 and "duplicate content" in again.get_json()["detail"]


def test_posting_needs_the_tweet_write_scope(sandbox_client: FlaskClient) -> None:
    access = tokens(sandbox_client, scopes="tweet.read users.read")["access_token"]
    response = sandbox_client.post("/api.x.com/2/tweets", json={"text": "hi"}, headers=bearer(access))
    assert response.status_code == 403


def _upload_image(client: FlaskClient, access: str) -> str:
    response = client.post("/api.x.com/2/media/upload", headers=bearer(access), content_type="multipart/form-data",
                           data={"media_category": "tweet_image",
                                 "media": (__import__("io").BytesIO(b"\xff\xd8jpeg"), "p.jpg", "image/jpeg")})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]["id"]


def test_more_than_four_photos_are_refused(sandbox_client: FlaskClient) -> None:
    access = tokens(sandbox_client)["access_token"]
    ids = [_upload_image(sandbox_client, access) for _ in range(5)]
    response = sandbox_client.post("/api.x.com/2/tweets", json={"text": "Gallery", "media": {"media_ids": ids}},
                                   headers=bearer(access))
    assert response.status_code == 400
    four = sandbox_client.post("/api.x.com/2/tweets", json={"text": "Gallery", "media": {"media_ids": ids[:4]}},
                               headers=bearer(access))
    assert four.status_code == 201


def test_unfinished_video_cannot_be_attached(sandbox_client: FlaskClient) -> None:
    access = tokens(sandbox_client)["access_token"]
    init = sandbox_client.post("/api.x.com/2/media/upload/initialize", headers=bearer(access), json={
        "media_type": "video/mp4", "total_bytes": 8, "media_category": "tweet_video"}).get_json()
    media_id = init["data"]["id"]
    response = sandbox_client.post("/api.x.com/2/tweets", json={"text": "Tour", "media": {"media_ids": [media_id]}},
                                   headers=bearer(access))
    assert response.status_code == 400
    short = sandbox_client.post(f"/api.x.com/2/media/upload/{media_id}/finalize", headers=bearer(access))
    assert short.status_code == 400 and "do not add up" in short.get_json()["errors"][0]["message"]


def test_post_metrics_use_x_field_names(sandbox_client: FlaskClient) -> None:
    access = tokens(sandbox_client)["access_token"]
    post_id = sandbox_client.post("/api.x.com/2/tweets", json={"text": "Metrics"},
                                  headers=bearer(access)).get_json()["data"]["id"]
    sandbox_client.post("/_sandbox/clock", json={"advance_seconds": 3600 * 5})
    access = tokens(sandbox_client)["access_token"]
    data = sandbox_client.get(f"/api.x.com/2/tweets/{post_id}?tweet.fields=public_metrics,non_public_metrics",
                              headers=bearer(access)).get_json()["data"]
    assert set(data["public_metrics"]) == {"retweet_count", "reply_count", "like_count", "quote_count",
                                           "bookmark_count", "impression_count"}
    assert data["public_metrics"]["impression_count"] > 0
    assert set(data["non_public_metrics"]) == {"impression_count", "url_link_clicks", "user_profile_clicks",
                                               "engagements"}


# -- the real adapter against the served sandbox -------------------------------------------------------------


def _connect(provider: XProvider) -> TokenSet:
    verifier, challenge = make_pkce_pair()
    url = provider.authorization_url(redirect_uri=REDIRECT, state="round-trip", code_challenge=challenge)
    page = requests.get(url, timeout=10)
    assert page.status_code == 200 and "Allow" in page.text
    allowed = requests.post(url, data={"decision": "allow"}, allow_redirects=False, timeout=10)
    location = urlsplit(allowed.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == ["round-trip"]
    return provider.exchange_code(code=query["code"][0], redirect_uri=REDIRECT, code_verifier=verifier)


def test_round_trip_with_the_real_adapter(sandbox_server: RunningServer) -> None:
    provider = XProvider(ClientCredentials(CLIENT_ID, SECRET), HttpClient(sandbox_url=sandbox_server.url))
    tokens_ = _connect(provider)
    assert tokens_.refresh_token and tokens_.expires_at

    profile = provider.fetch_profile(tokens_)
    assert profile.handle == "harborvine" and profile.display_name == "Harbor & Vine Realty"
    assert provider.list_targets(tokens_, profile) == []
    account = Account(access_token=tokens_.access_token, platform_account_id=profile.platform_account_id,
                      handle=profile.handle, metadata=dict(profile.metadata))

    photo = MediaItem(url="https://media.harborvine.example/kitchen.jpg", kind="image", mime_type="image/jpeg",
                      data=b"\xff\xd8 kitchen")
    text = "Just listed: 3BR craftsman with a chef's kitchen 🏡 https://harborvine.example/listings/12-elm"
    result = provider.publish(account, OutboundPost(text=text, media=(photo,)))
    assert result.state == "published" and result.platform_post_id
    assert result.permalink == f"https://x.com/harborvine/status/{result.platform_post_id}"

    video = MediaItem(url="https://media.harborvine.example/tour.mp4", kind="video", mime_type="video/mp4",
                      data=b"\0" * (5 * 1024 * 1024 + 17))
    pending = provider.publish(account, OutboundPost(text="Video tour of 12 Elm", media=(video,)))
    assert pending.state == "processing"
    for _ in range(5):
        pending = provider.check_publish(account, pending.poll or {})
        if pending.state == "published":
            break
    assert pending.state == "published" and pending.platform_post_id

    posts = requests.get(f"{sandbox_server.url}/_sandbox/posts", params={"platform": "x"}, timeout=10).json()
    assert [p["platform_post_id"] for p in posts] == [result.platform_post_id, pending.platform_post_id]
    assert posts[0]["text"] == text and posts[0]["media"][0]["kind"] == "image"
    assert posts[1]["media"][0]["kind"] == "video"

    # A retry after a lost answer finds the existing post instead of failing or posting twice.
    again = provider.publish(account, OutboundPost(text=text, media=()))
    assert again.platform_post_id == result.platform_post_id

    fresh = provider.refresh(tokens_)
    assert fresh.refresh_token and fresh.refresh_token != tokens_.refresh_token
    assert provider.fetch_profile(fresh).platform_account_id == profile.platform_account_id
    with pytest.raises(AuthExpiredError):
        provider.refresh(tokens_)  # the rotated-out refresh token is dead
    provider.revoke(fresh)
    with pytest.raises(AuthExpiredError):
        provider.fetch_profile(fresh)


def test_retry_after_a_timeout_once_created_finds_the_post_instead_of_posting_twice(
    sandbox_server: RunningServer,
) -> None:
    provider = XProvider(ClientCredentials(CLIENT_ID, SECRET),
                         HttpClient(sandbox_url=sandbox_server.url, read_timeout=0.5))
    tokens_ = _connect(provider)
    profile = provider.fetch_profile(tokens_)
    account = Account(access_token=tokens_.access_token, platform_account_id=profile.platform_account_id,
                      handle=profile.handle)
    fault = {"kind": "timeout_after_create", "platform": "x", "endpoint": "/2/tweets", "method": "POST", "count": 1}
    assert requests.post(f"{sandbox_server.url}/_sandbox/faults", json=fault, timeout=10).status_code == 201
    post = OutboundPost(text="Price improved on 4 Bay Rd https://harborvine.example/4-bay")
    with pytest.raises(UnknownOutcomeError):
        provider.publish(account, post)
    retried = provider.publish(account, post)
    posts = requests.get(f"{sandbox_server.url}/_sandbox/posts", params={"platform": "x"}, timeout=10).json()
    assert [p["platform_post_id"] for p in posts] == [retried.platform_post_id]
