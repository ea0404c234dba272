"""The Mastodon stand-in enforces an instance's OAuth and posting rules, and the real adapter round-trips through it."""

from __future__ import annotations

import base64
import hashlib
import io
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from stella.providers.base import Account, ClientCredentials, MediaItem, OutboundPost
from stella.providers.errors import AuthExpiredError
from stella.providers.http import HttpClient
from stella.providers.mastodon import MastodonProvider
from stella.sandbox.platforms.mastodon import countable_length
from stella.sandbox.server import RunningServer
from tests.sandbox.conftest import STELLA_URL

HOST = "mastodon.example"
REDIRECT = f"{STELLA_URL}/connections/mastodon/callback"
SCOPES = "read:statuses write:statuses write:media profile"
VERIFIER = "v" * 64
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()


def register(client: FlaskClient, host: str = HOST, scopes: str = SCOPES) -> dict[str, Any]:
    response = client.post(f"/{host}/api/v1/apps",
                           json={"client_name": "Stella", "redirect_uris": REDIRECT, "scopes": scopes})
    assert response.status_code == 200, response.json
    return dict(response.json)


def authorize_query(app: dict[str, Any], **overrides: str) -> dict[str, str]:
    query = {"response_type": "code", "client_id": app["client_id"], "redirect_uri": REDIRECT, "scope": SCOPES,
             "state": "st", "code_challenge": CHALLENGE, "code_challenge_method": "S256"}
    query.update(overrides)
    return query


def get_code(client: FlaskClient, app: dict[str, Any], host: str = HOST, **overrides: str) -> str:
    response = client.post(f"/{host}/oauth/authorize", query_string=authorize_query(app, **overrides),
                           data={"decision": "allow"})
    assert response.status_code == 302, response.data
    return parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]


def token_form(app: dict[str, Any], code: str, **overrides: str | None) -> dict[str, str]:
    form: dict[str, str | None] = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                                   "code_verifier": VERIFIER, "client_id": app["client_id"],
                                   "client_secret": app["client_secret"]}
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def login(client: FlaskClient, host: str = HOST) -> str:
    app = register(client, host)
    response = client.post(f"/{host}/oauth/token", data=token_form(app, get_code(client, app, host)))
    assert response.status_code == 200, response.json
    return str(response.json["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def upload(client: FlaskClient, token: str, mime: str = "image/jpeg", data: bytes = b"\xff\xd8img") -> Any:
    return client.post(f"/{HOST}/api/v2/media", headers=bearer(token),
                       data={"file": (io.BytesIO(data), "file.bin", mime), "description": "Front porch"},
                       content_type="multipart/form-data")


# -- apps and OAuth ---------------------------------------------------------------------------------------


def test_register_app_returns_credentials_for_that_instance(sandbox_client: FlaskClient) -> None:
    app = register(sandbox_client)
    assert app["client_id"] and app["client_secret"] and app["redirect_uris"] == [REDIRECT]
    assert app["scopes"] == SCOPES.split() and app["client_secret_expires_at"] == 0


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"redirect_uris": REDIRECT, "scopes": "read"}, "Application name can't be blank"),
        ({"client_name": "Stella", "redirect_uris": "not a uri", "scopes": "read"}, "must be an absolute URI"),
        ({"client_name": "Stella", "redirect_uris": REDIRECT, "scopes": "read write:everything"}, "Scopes"),
    ],
)
def test_register_app_refuses_invalid_registrations_with_422(
    sandbox_client: FlaskClient, payload: dict[str, str], message: str
) -> None:
    response = sandbox_client.post(f"/{HOST}/api/v1/apps", json=payload)
    assert response.status_code == 422 and message in response.json["error"]


def test_consent_allow_redirects_back_with_code_and_state(sandbox_client: FlaskClient) -> None:
    app = register(sandbox_client)
    page = sandbox_client.get(f"/{HOST}/oauth/authorize", query_string=authorize_query(app))
    assert page.status_code == 200 and b"@harborvine@mastodon.example" in page.data
    response = sandbox_client.post(f"/{HOST}/oauth/authorize", query_string=authorize_query(app),
                                   data={"decision": "allow"})
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    assert parse_qs(location.query)["state"] == ["st"] and parse_qs(location.query)["code"]


def test_authorize_refuses_unknown_clients_and_unregistered_redirects_on_its_own_page(
    sandbox_client: FlaskClient,
) -> None:
    app = register(sandbox_client)
    unknown = sandbox_client.get(f"/{HOST}/oauth/authorize", query_string=authorize_query(app, client_id="nope"))
    assert unknown.status_code == 401 and "Location" not in unknown.headers
    wrong_redirect = sandbox_client.get(f"/{HOST}/oauth/authorize",
                                        query_string=authorize_query(app, redirect_uri=REDIRECT + "/evil"))
    assert wrong_redirect.status_code == 400 and b"redirect uri included is not valid" in wrong_redirect.data
    # An app belongs to the instance it was registered on.
    elsewhere = sandbox_client.get("/other.example/oauth/authorize", query_string=authorize_query(app))
    assert elsewhere.status_code == 401


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"scope": "read:statuses write:statuses admin:write"}, "invalid_scope"),  # wider than registered
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
    ],
)
def test_authorize_redirects_back_with_the_oauth_error(
    sandbox_client: FlaskClient, overrides: dict[str, str], error: str
) -> None:
    app = register(sandbox_client)
    response = sandbox_client.get(f"/{HOST}/oauth/authorize", query_string=authorize_query(app, **overrides))
    assert response.status_code == 302
    assert parse_qs(urlsplit(response.headers["Location"]).query)["error"] == [error]


def test_token_issues_a_never_expiring_bearer_token_without_refresh(sandbox_client: FlaskClient) -> None:
    app = register(sandbox_client)
    response = sandbox_client.post(f"/{HOST}/oauth/token", data=token_form(app, get_code(sandbox_client, app)))
    assert response.status_code == 200
    assert response.json["token_type"] == "Bearer" and response.json["scope"] == SCOPES
    assert "refresh_token" not in response.json and "expires_in" not in response.json


def test_token_accepts_http_basic_client_auth_too(sandbox_client: FlaskClient) -> None:
    app = register(sandbox_client)
    form = token_form(app, get_code(sandbox_client, app))
    del form["client_id"], form["client_secret"]
    basic = base64.b64encode(f"{app['client_id']}:{app['client_secret']}".encode()).decode()
    response = sandbox_client.post(f"/{HOST}/oauth/token", data=form, headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 200


def test_token_refuses_a_wrong_client_secret(sandbox_client: FlaskClient) -> None:
    app = register(sandbox_client)
    response = sandbox_client.post(f"/{HOST}/oauth/token",
                                   data=token_form(app, get_code(sandbox_client, app), client_secret="wrong"))
    assert response.status_code == 401 and response.json["error"] == "invalid_client"


@pytest.mark.parametrize(
    "overrides",
    [
        {"code_verifier": None},
        {"code_verifier": "w" * 64},
        {"redirect_uri": REDIRECT + "?x=1"},
    ],
    ids=["missing-verifier", "wrong-verifier", "wrong-redirect-uri"],
)
def test_token_refuses_codes_without_the_right_verifier_or_redirect(
    sandbox_client: FlaskClient, overrides: dict[str, str | None]
) -> None:
    app = register(sandbox_client)
    form = token_form(app, get_code(sandbox_client, app), **overrides)
    response = sandbox_client.post(f"/{HOST}/oauth/token", data=form)
    assert response.status_code == 400 and response.json["error"] == "invalid_grant"


def test_codes_are_single_use_and_expire_after_ten_minutes(sandbox_client: FlaskClient) -> None:
    app = register(sandbox_client)
    code = get_code(sandbox_client, app)
    assert sandbox_client.post(f"/{HOST}/oauth/token", data=token_form(app, code)).status_code == 200
    reused = sandbox_client.post(f"/{HOST}/oauth/token", data=token_form(app, code))
    assert reused.status_code == 400 and reused.json["error"] == "invalid_grant"

    late = get_code(sandbox_client, app)
    sandbox_client.post("/_sandbox/clock", json={"advance_seconds": 601})
    expired = sandbox_client.post(f"/{HOST}/oauth/token", data=token_form(app, late))
    assert expired.status_code == 400 and expired.json["error"] == "invalid_grant"


def test_refresh_grant_is_not_supported(sandbox_client: FlaskClient) -> None:
    app = register(sandbox_client)
    response = sandbox_client.post(f"/{HOST}/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": "x", "client_id": app["client_id"],
        "client_secret": app["client_secret"]})
    assert response.status_code == 400 and response.json["error"] == "unsupported_grant_type"


def test_revoked_token_gets_401_the_access_token_is_invalid(sandbox_client: FlaskClient) -> None:
    app = register(sandbox_client)
    token = sandbox_client.post(f"/{HOST}/oauth/token",
                                data=token_form(app, get_code(sandbox_client, app))).json["access_token"]
    assert sandbox_client.get(f"/{HOST}/api/v1/accounts/verify_credentials", headers=bearer(token)).status_code == 200
    revoked = sandbox_client.post(f"/{HOST}/oauth/revoke", data={
        "token": token, "client_id": app["client_id"], "client_secret": app["client_secret"]})
    assert revoked.status_code == 200
    after = sandbox_client.get(f"/{HOST}/api/v1/accounts/verify_credentials", headers=bearer(token))
    assert after.status_code == 401 and after.json == {"error": "The access token is invalid"}


def test_a_token_is_only_good_on_its_own_instance_and_within_its_scopes(sandbox_client: FlaskClient) -> None:
    token = login(sandbox_client)
    assert sandbox_client.get("/other.example/api/v1/accounts/verify_credentials",
                              headers=bearer(token)).status_code == 401
    app = register(sandbox_client, scopes="read:statuses write:statuses")
    narrow = sandbox_client.post(f"/{HOST}/oauth/token", data=token_form(
        app, get_code(sandbox_client, app, scope="read:statuses write:statuses"))).json["access_token"]
    refused = sandbox_client.get(f"/{HOST}/api/v1/accounts/verify_credentials", headers=bearer(narrow))
    assert refused.status_code == 403 and refused.json["error"] == "This action is outside the authorized scopes"


# -- instance --------------------------------------------------------------------------------------------


def test_instance_reports_its_limits_and_legacy_servers_have_no_v2(sandbox_client: FlaskClient) -> None:
    statuses = sandbox_client.get(f"/{HOST}/api/v2/instance").json["configuration"]["statuses"]
    assert statuses == {"max_characters": 500, "max_media_attachments": 4, "characters_reserved_per_url": 23}
    assert sandbox_client.get("/legacy.example/api/v2/instance").status_code == 404
    assert sandbox_client.get("/legacy.example/api/v1/instance").json["max_toot_chars"] == 5000


# -- statuses and media ----------------------------------------------------------------------------------


def test_text_over_the_limit_is_refused_but_urls_count_as_23(sandbox_client: FlaskClient) -> None:
    token = login(sandbox_client)
    too_long = sandbox_client.post(f"/{HOST}/api/v1/statuses", headers=bearer(token), json={"status": "x" * 501})
    assert too_long.status_code == 422
    assert too_long.json["error"] == "Validation failed: Text character limit of 500 exceeded"
    url = "https://harborvine.example/listings/" + "a" * 80
    text = "x" * 476 + " " + url  # 477 + 23 = 500 as Mastodon counts it
    assert len(text) > 500 and countable_length(text) == 500
    ok = sandbox_client.post(f"/{HOST}/api/v1/statuses", headers=bearer(token), json={"status": text})
    assert ok.status_code == 200
    assert countable_length("hi @agent@realestate.social") == len("hi @agent")


def test_empty_status_without_media_is_refused(sandbox_client: FlaskClient) -> None:
    token = login(sandbox_client)
    response = sandbox_client.post(f"/{HOST}/api/v1/statuses", headers=bearer(token), json={"status": "  "})
    assert response.status_code == 422 and response.json["error"] == "Validation failed: Text can't be blank"


def test_a_repeated_idempotency_key_returns_the_same_status(sandbox_client: FlaskClient) -> None:
    token = login(sandbox_client)
    headers = {**bearer(token), "Idempotency-Key": "post-9:mastodon"}
    first = sandbox_client.post(f"/{HOST}/api/v1/statuses", headers=headers, json={"status": "Open house"})
    second = sandbox_client.post(f"/{HOST}/api/v1/statuses", headers=headers, json={"status": "Open house"})
    assert first.json["id"] == second.json["id"]
    assert first.json["url"] == f"https://{HOST}/@harborvine/{first.json['id']}"
    assert len(sandbox_client.get("/_sandbox/posts?platform=mastodon").json) == 1


def test_media_rules_unsupported_type_unprocessed_video_too_many_and_mixed(sandbox_client: FlaskClient) -> None:
    token = login(sandbox_client)
    bad_type = upload(sandbox_client, token, mime="application/pdf")
    assert bad_type.status_code == 422 and "file type is not allowed" in bad_type.json["error"]

    video = upload(sandbox_client, token, mime="video/mp4", data=b"mp4")
    assert video.status_code == 202 and video.json["url"] is None
    unprocessed = sandbox_client.post(f"/{HOST}/api/v1/statuses", headers=bearer(token),
                                      json={"status": "Tour", "media_ids": [video.json["id"]]})
    assert unprocessed.status_code == 422 and "not finished processing" in unprocessed.json["error"]
    polls = [sandbox_client.get(f"/{HOST}/api/v1/media/{video.json['id']}", headers=bearer(token)).status_code
             for _ in range(2)]
    assert polls == [206, 200]

    images = [upload(sandbox_client, token).json["id"] for _ in range(5)]
    too_many = sandbox_client.post(f"/{HOST}/api/v1/statuses", headers=bearer(token),
                                   json={"status": "Gallery", "media_ids": images})
    assert too_many.status_code == 422 and too_many.json["error"] == "Cannot attach more than 4 files"
    mixed = sandbox_client.post(f"/{HOST}/api/v1/statuses", headers=bearer(token),
                                json={"status": "Mixed", "media_ids": [images[0], video.json["id"]]})
    assert mixed.status_code == 422
    unknown = sandbox_client.post(f"/{HOST}/api/v1/statuses", headers=bearer(token),
                                  json={"status": "Ghost", "media_ids": ["123"]})
    assert unknown.status_code == 422 and "not found" in unknown.json["error"]
    assert sandbox_client.get("/_sandbox/posts?platform=mastodon").json == []


def test_status_counts_use_mastodon_field_names(sandbox_client: FlaskClient) -> None:
    token = login(sandbox_client)
    status_id = sandbox_client.post(f"/{HOST}/api/v1/statuses", headers=bearer(token),
                                    json={"status": "Sold!"}).json["id"]
    sandbox_client.post("/_sandbox/clock", json={"advance_seconds": 72 * 3600})
    body = sandbox_client.get(f"/{HOST}/api/v1/statuses/{status_id}").json
    assert body["favourites_count"] > 0
    assert {"reblogs_count", "replies_count", "quotes_count"} <= set(body)
    assert sandbox_client.get(f"/other.example/api/v1/statuses/{status_id}").status_code == 404


# -- the real adapter against the sandbox -------------------------------------------------------------------


def test_adapter_round_trip_through_the_sandbox(sandbox_server: RunningServer, sandbox_app: Flask) -> None:
    from stella.providers.pkce import make_pkce_pair

    http = HttpClient(sandbox_url=sandbox_server.url)
    instance = http.check_user_host("mastodon.example")
    credentials = MastodonProvider(ClientCredentials("", ""), http).register_app(instance, REDIRECT)
    provider = MastodonProvider(credentials, http)

    verifier, challenge = make_pkce_pair()
    url = provider.authorization_url(redirect_uri=REDIRECT, state="xyz", code_challenge=challenge)
    assert url.startswith(f"{sandbox_server.url}/mastodon.example/oauth/authorize?")
    assert requests.get(url, timeout=10).status_code == 200
    consent = requests.post(url, data={"decision": "allow"}, allow_redirects=False, timeout=10)
    query = parse_qs(urlsplit(consent.headers["Location"]).query)
    assert query["state"] == ["xyz"]

    tokens = provider.exchange_code(code=query["code"][0], redirect_uri=REDIRECT, code_verifier=verifier)
    profile = provider.fetch_profile(tokens)
    assert profile.handle == "@harborvine@mastodon.example"
    assert profile.metadata["max_characters"] == 500
    assert provider.list_targets(tokens, profile) == []
    account = Account(access_token=tokens.access_token, platform_account_id=profile.platform_account_id,
                      handle=profile.handle, metadata=dict(profile.metadata))

    image = MediaItem(url="https://cdn.example/porch.jpg", kind="image", mime_type="image/jpeg",
                      alt_text="Front porch", data=b"\xff\xd8porch")
    post = OutboundPost(text="Just listed: 12 Elm St https://harborvine.example/12-elm", media=(image,),
                        idempotency_key="post-1:mastodon")
    result = provider.publish(account, post)
    assert result.state == "published"
    assert result.permalink == f"https://mastodon.example/@harborvine/{result.platform_post_id}"
    # A retry with the same key gets the same status back.
    assert provider.publish(account, post).platform_post_id == result.platform_post_id

    video = MediaItem(url="https://cdn.example/tour.mp4", kind="video", mime_type="video/mp4", data=b"mp4-tour")
    outcome = provider.publish(account, OutboundPost(text="Video tour", media=(video,), idempotency_key="post-2"))
    assert outcome.state == "processing"
    for _ in range(5):
        outcome = provider.check_publish(account, outcome.poll or {})
        if outcome.state == "published":
            break
    assert outcome.state == "published"

    with sandbox_app.app_context():
        from stella.sandbox.core import store

        posts = store().posts("mastodon")
    assert [p.platform_post_id for p in posts] == [result.platform_post_id, outcome.platform_post_id]
    assert posts[0].media[0]["kind"] == "image" and posts[1].media[0]["kind"] == "video"

    # No refresh on Mastodon: the token simply keeps working until revoked, then the account must reconnect.
    assert provider.can_refresh(tokens) is False
    provider.revoke(tokens)
    with pytest.raises(AuthExpiredError):
        provider.fetch_profile(tokens)


def test_adapter_reads_limits_from_a_legacy_instance(sandbox_server: RunningServer) -> None:
    http = HttpClient(sandbox_url=sandbox_server.url)
    provider = MastodonProvider(ClientCredentials("", "", instance_url="https://legacy.example"), http)
    assert provider.fetch_instance_limits()["max_characters"] == 5000
