"""The Threads stand-in enforces doc §3: Threads app credentials in the form, GET exchange and refresh, containers."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from flask.testing import FlaskClient

from stella.providers.base import Account, ClientCredentials, MediaItem, OutboundPost
from stella.providers.http import HttpClient
from stella.providers.threads import ThreadsProvider
from stella.sandbox.platforms.threads import text_length
from stella.sandbox.server import RunningServer
from tests.sandbox.conftest import STELLA_URL

CLIENT_ID, SECRET = "sandbox-threads-id", "sandbox-threads-secret"
REDIRECT = f"{STELLA_URL}/connections/threads/callback"
API = "/graph.threads.net/v1.0"
USER_ID = "25811234567890123"
SCOPES = "threads_basic,threads_content_publish,threads_manage_insights"


def authorize_url(**overrides: str) -> str:
    params = {"client_id": CLIENT_ID, "redirect_uri": REDIRECT, "scope": SCOPES, "response_type": "code",
              "state": "s", **overrides}
    return "/threads.com/oauth/authorize?" + urlencode(params)


def code(client: FlaskClient, **overrides: str) -> str:
    answer = client.post(authorize_url(**overrides), data={"decision": "allow"})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]


def token_request(client: FlaskClient, value: str, **overrides: str) -> Any:
    form = {"client_id": CLIENT_ID, "client_secret": SECRET, "grant_type": "authorization_code",
            "redirect_uri": REDIRECT, "code": value, **overrides}
    return client.post("/graph.threads.net/oauth/access_token", data=form)


def long_lived(client: FlaskClient) -> str:
    short = token_request(client, code(client)).json["access_token"]
    answer = client.get("/graph.threads.net/access_token", query_string={
        "grant_type": "th_exchange_token", "client_secret": SECRET, "access_token": short})
    assert answer.status_code == 200, answer.json
    return str(answer.json["access_token"])


def create(client: FlaskClient, token: str, **fields: str) -> Any:
    return client.post(f"{API}/{USER_ID}/threads", query_string={"access_token": token}, data=fields)


def publish(client: FlaskClient, token: str, container: str) -> Any:
    return client.post(f"{API}/{USER_ID}/threads_publish", query_string={"access_token": token},
                       data={"creation_id": container})


def error(response: Any) -> dict[str, Any]:
    assert response.status_code == 400, response.get_data(as_text=True)
    return dict(response.json["error"])


def advance(client: FlaskClient, seconds: float) -> None:
    client.post("/_sandbox/clock", json={"advance_seconds": seconds})


# -- authorization ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("overrides, message", [
    ({"client_id": "sandbox-facebook-id"}, "Invalid platform app"),
    ({"redirect_uri": REDIRECT + "/"}, "redirect_uri"),
    ({"scope": "threads_content_publish"}, "threads_basic"),
    ({"response_type": "token"}, "response_type"),
])
def test_the_consent_page_refuses_wrong_apps_redirects_scopes_and_response_types(
    sandbox_client: FlaskClient, overrides: dict[str, str], message: str
) -> None:
    response = sandbox_client.get(authorize_url(**overrides))
    assert response.status_code == 400 and message in response.get_data(as_text=True)


def test_the_code_gives_a_one_hour_token_with_the_user_id(sandbox_client: FlaskClient) -> None:
    answer = token_request(sandbox_client, code(sandbox_client))
    assert answer.status_code == 200
    assert answer.json["user_id"] == int(USER_ID) and answer.json["access_token"].startswith("TH")


def test_codes_are_single_use_expire_and_are_bound_to_the_redirect(sandbox_client: FlaskClient) -> None:
    first = code(sandbox_client)
    token_request(sandbox_client, first)
    assert error(token_request(sandbox_client, first))["error_subcode"] == 36009
    elsewhere = token_request(sandbox_client, code(sandbox_client), redirect_uri=STELLA_URL + "/x")
    assert error(elsewhere)["error_subcode"] == 36008
    late = code(sandbox_client)
    advance(sandbox_client, 11 * 60)
    assert error(token_request(sandbox_client, late))["error_subcode"] == 36007


def test_the_client_secret_must_be_in_the_form_not_basic(sandbox_client: FlaskClient) -> None:
    basic = base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
    answer = sandbox_client.post("/graph.threads.net/oauth/access_token", headers={"Authorization": f"Basic {basic}"},
                                 data={"grant_type": "authorization_code", "redirect_uri": REDIRECT,
                                       "code": code(sandbox_client)})
    assert error(answer)["code"] == 101
    assert error(token_request(sandbox_client, code(sandbox_client), client_secret="nope"))["code"] == 1


def test_the_long_lived_exchange_needs_the_right_secret_and_lasts_sixty_days(sandbox_client: FlaskClient) -> None:
    short = token_request(sandbox_client, code(sandbox_client)).json["access_token"]
    wrong = sandbox_client.get("/graph.threads.net/access_token", query_string={
        "grant_type": "th_exchange_token", "client_secret": "nope", "access_token": short})
    assert error(wrong)["code"] == 1
    right = sandbox_client.get("/graph.threads.net/access_token", query_string={
        "grant_type": "th_exchange_token", "client_secret": SECRET, "access_token": short})
    assert right.json["expires_in"] == 5183944


def test_refresh_needs_a_token_at_least_a_day_old_and_not_expired(sandbox_client: FlaskClient) -> None:
    token = long_lived(sandbox_client)
    params = {"grant_type": "th_refresh_token", "access_token": token}
    assert error(sandbox_client.get("/graph.threads.net/refresh_access_token", query_string=params))["code"] == 10
    advance(sandbox_client, 25 * 3600)
    fresh = sandbox_client.get("/graph.threads.net/refresh_access_token", query_string=params)
    assert fresh.status_code == 200 and fresh.json["expires_in"] == 5183944
    advance(sandbox_client, 61 * 86400)
    dead = sandbox_client.get("/graph.threads.net/refresh_access_token", query_string={
        "grant_type": "th_refresh_token", "access_token": fresh.json["access_token"]})
    assert error(dead)["code"] == 190


# -- publishing ------------------------------------------------------------------------------------------------


def test_a_text_post_goes_through_a_container_and_gets_a_shortcode_permalink(sandbox_client: FlaskClient) -> None:
    token = long_lived(sandbox_client)
    container = create(sandbox_client, token, media_type="TEXT", text="Open house Sunday").json["id"]
    status = sandbox_client.get(f"{API}/{container}", query_string={"fields": "status", "access_token": token})
    assert status.json["status"] == "FINISHED"
    media_id = publish(sandbox_client, token, container).json["id"]
    node = sandbox_client.get(f"{API}/{media_id}",
                              query_string={"fields": "permalink,text", "access_token": token}).json
    assert node["text"] == "Open house Sunday"
    assert node["permalink"].startswith("https://www.threads.net/@harborvine.realty/post/")
    assert error(publish(sandbox_client, token, container))["code"] == 100  # never twice


def test_emoji_count_as_their_utf8_length_against_the_500_limit(sandbox_client: FlaskClient) -> None:
    token = long_lived(sandbox_client)
    assert text_length("🏡") == 4 and text_length("café") == 4
    fits = "x" * 496 + "🏡"
    too_long = "x" * 497 + "🏡"
    assert create(sandbox_client, token, media_type="TEXT", text=fits).status_code == 200
    body = error(create(sandbox_client, token, media_type="TEXT", text=too_long))
    assert "at most 500 characters" in body["error_user_msg"]


@pytest.mark.parametrize("fields, expected", [
    ({"media_type": "TEXT"}, "text is required"),
    ({"media_type": "IMAGE", "text": "No image"}, "image_url is required"),
    ({"media_type": "STORY", "text": "x"}, "media_type"),
    ({"media_type": "TEXT", "text": " ".join(f"https://l{i}.example" for i in range(6))}, "LINK_LIMIT"),
])
def test_missing_media_unknown_types_and_too_many_links_are_refused(
    sandbox_client: FlaskClient, fields: dict[str, str], expected: str
) -> None:
    assert expected in error(create(sandbox_client, long_lived(sandbox_client), **fields))["message"]


def test_a_video_must_finish_processing_first(sandbox_client: FlaskClient) -> None:
    token = long_lived(sandbox_client)
    container = create(sandbox_client, token, media_type="VIDEO", video_url="https://cdn.harborvine.example/t.mp4",
                       text="Tour").json["id"]
    assert error(publish(sandbox_client, token, container))["error_subcode"] == 2207027
    advance(sandbox_client, 6)
    assert publish(sandbox_client, token, container).status_code == 200


def test_insights_are_served_under_threads_metric_names(sandbox_client: FlaskClient) -> None:
    token = long_lived(sandbox_client)
    media_id = publish(sandbox_client, token, create(sandbox_client, token, media_type="TEXT",
                                                     text="Metrics").json["id"]).json["id"]
    advance(sandbox_client, 24 * 3600)
    data = sandbox_client.get(f"{API}/{media_id}/insights", query_string={
        "metric": "views,likes,replies,reposts,quotes", "access_token": token}).json["data"]
    assert [m["name"] for m in data] == ["views", "likes", "replies", "reposts", "quotes"]
    assert data[0]["values"][0]["value"] > 0


# -- round trip with the real adapter -----------------------------------------------------------------------------


def test_round_trip_with_the_real_adapter(sandbox_server: RunningServer) -> None:
    clock = [datetime.now(UTC)]
    provider = ThreadsProvider(ClientCredentials(CLIENT_ID, SECRET), HttpClient(sandbox_url=sandbox_server.url),
                               clock=lambda: clock[0])
    url = provider.authorization_url(redirect_uri=REDIRECT, state="th-trip")
    assert "Allow" in requests.get(url, timeout=5).text
    location = requests.post(url, data={"decision": "allow"}, allow_redirects=False, timeout=5).headers["Location"]
    code_value = parse_qs(urlsplit(location).query)["code"][0]

    tokens = provider.exchange_code(code=code_value, redirect_uri=REDIRECT)
    profile = provider.fetch_profile(tokens)
    assert (profile.platform_account_id, profile.handle) == (USER_ID, "harborvine.realty")
    assert provider.list_targets(tokens, profile) == []

    account = Account(access_token=tokens.access_token, platform_account_id=USER_ID, handle=profile.handle)
    text = provider.publish(account, OutboundPost(text="Open house this Sunday 🏡 1–3pm"))
    assert text.state == "published" and text.permalink and "/post/" in text.permalink
    carousel = provider.publish(account, OutboundPost(text="Two views", media=(
        MediaItem(url="https://cdn.harborvine.example/a.jpg", kind="image"),
        MediaItem(url="https://cdn.harborvine.example/b.png", kind="image", alt_text="Back yard"))))
    assert carousel.state == "published"
    posts = requests.get(sandbox_server.url + "/_sandbox/posts?platform=threads", timeout=5).json()
    assert [p["platform_post_id"] for p in posts] == [text.platform_post_id, carousel.platform_post_id]

    # Refresh only works once the token is a day old: move both clocks forward.
    assert provider.refresh(tokens) is tokens
    requests.post(sandbox_server.url + "/_sandbox/clock", json={"advance_seconds": 2 * 86400}, timeout=5)
    clock[0] += timedelta(days=2)
    fresh = provider.refresh(tokens)
    assert fresh.access_token != tokens.access_token
    assert provider.fetch_profile(fresh).platform_account_id == USER_ID
