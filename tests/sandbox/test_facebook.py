"""The Facebook stand-in is as strict as Facebook Login and the Pages API (doc §2); the real adapter works with it."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from flask.testing import FlaskClient

from stella.providers.base import Account, ClientCredentials, MediaItem, OutboundPost
from stella.providers.facebook import FacebookProvider
from stella.providers.http import HttpClient
from stella.sandbox.server import RunningServer
from tests.sandbox.conftest import STELLA_URL

CLIENT_ID, SECRET = "sandbox-facebook-id", "sandbox-facebook-secret"
REDIRECT = f"{STELLA_URL}/connections/facebook/callback"
GRAPH = "/graph.facebook.com/v23.0"
PAGE_ID = "104321987654321"
SCOPES = "pages_show_list,pages_manage_posts,pages_read_engagement,read_insights,publish_video"


def dialog(client: FlaskClient, **overrides: str) -> str:
    params = {"client_id": CLIENT_ID, "redirect_uri": REDIRECT, "state": "st", "scope": SCOPES,
              "response_type": "code", **overrides}
    return "/www.facebook.com/v23.0/dialog/oauth?" + urlencode(params)


def authorize(client: FlaskClient, **overrides: str) -> str:
    response = client.post(dialog(client, **overrides), data={"decision": "allow"})
    assert response.status_code == 302, response.get_data(as_text=True)
    return parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]


def exchange(client: FlaskClient, code: str, **overrides: str) -> Any:
    params = {"client_id": CLIENT_ID, "client_secret": SECRET, "redirect_uri": REDIRECT, "code": code, **overrides}
    return client.get(f"{GRAPH}/oauth/access_token", query_string=params)


def long_lived(client: FlaskClient, short: str) -> str:
    response = client.get(f"{GRAPH}/oauth/access_token", query_string={
        "grant_type": "fb_exchange_token", "client_id": CLIENT_ID, "client_secret": SECRET, "fb_exchange_token": short})
    assert response.status_code == 200, response.json
    return str(response.json["access_token"])


def user_token(client: FlaskClient) -> str:
    return long_lived(client, exchange(client, authorize(client)).json["access_token"])


def page_token(client: FlaskClient, user: str, page_id: str = PAGE_ID) -> str:
    return str(client.get(f"{GRAPH}/{page_id}", query_string={"fields": "access_token", "access_token": user})
               .json["access_token"])


def advance(client: FlaskClient, seconds: float) -> None:
    client.post("/_sandbox/clock", json={"advance_seconds": seconds})


def error(response: Any) -> dict[str, Any]:
    assert response.status_code == 400, response.get_data(as_text=True)
    return dict(response.json["error"])


# -- authorization ---------------------------------------------------------------------------------------------


def test_the_dialog_redirects_back_with_code_state_and_facebooks_fragment(sandbox_client: FlaskClient) -> None:
    assert "Harbor &amp; Vine Realty" in sandbox_client.get(dialog(sandbox_client)).get_data(as_text=True)
    response = sandbox_client.post(dialog(sandbox_client), data={"decision": "allow"})
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    assert parse_qs(location.query)["state"] == ["st"] and location.fragment == "_=_"


@pytest.mark.parametrize("overrides, message", [
    ({"redirect_uri": "http://127.0.0.1:5000/connections/facebook/callback/"}, "URL Blocked"),
    ({"client_id": "someone-else"}, "Invalid App ID"),
    ({"scope": "pages_show_list pages_manage_posts"}, "Invalid Scopes"),
])
def test_the_dialog_refuses_a_wrong_redirect_client_or_space_separated_scopes(
    sandbox_client: FlaskClient, overrides: dict[str, str], message: str
) -> None:
    response = sandbox_client.get(dialog(sandbox_client, **overrides))
    assert response.status_code == 400 and message in response.get_data(as_text=True)


def test_the_code_exchange_gives_a_short_token_and_the_exchange_a_sixty_day_one(sandbox_client: FlaskClient) -> None:
    short = exchange(sandbox_client, authorize(sandbox_client))
    assert short.status_code == 200 and short.json["expires_in"] == 3600
    response = sandbox_client.get(f"{GRAPH}/oauth/access_token", query_string={
        "grant_type": "fb_exchange_token", "client_id": CLIENT_ID, "client_secret": SECRET,
        "fb_exchange_token": short.json["access_token"]})
    assert response.json["expires_in"] == 5183944 and response.json["token_type"] == "bearer"


def test_a_code_works_once(sandbox_client: FlaskClient) -> None:
    code = authorize(sandbox_client)
    assert exchange(sandbox_client, code).status_code == 200
    assert error(exchange(sandbox_client, code))["error_subcode"] == 36009


def test_an_expired_code_is_refused(sandbox_client: FlaskClient) -> None:
    code = authorize(sandbox_client)
    advance(sandbox_client, 11 * 60)
    assert error(exchange(sandbox_client, code))["error_subcode"] == 36007


def test_the_redirect_uri_must_match_the_one_in_the_dialog(sandbox_client: FlaskClient) -> None:
    body = error(exchange(sandbox_client, authorize(sandbox_client), redirect_uri=REDIRECT + "?x=1"))
    assert body["error_subcode"] == 36008


def test_the_secret_must_be_a_parameter_not_http_basic(sandbox_client: FlaskClient) -> None:
    code = authorize(sandbox_client)
    response = sandbox_client.get(
        f"{GRAPH}/oauth/access_token",
        query_string={"client_id": CLIENT_ID, "redirect_uri": REDIRECT, "code": code},
        headers={"Authorization": "Basic " + base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()},
    )
    assert error(response)["message"] == "Error validating client secret."
    assert error(exchange(sandbox_client, code, client_secret="wrong"))["code"] == 1


def test_an_expired_short_token_cannot_be_exchanged(sandbox_client: FlaskClient) -> None:
    short = exchange(sandbox_client, authorize(sandbox_client)).json["access_token"]
    advance(sandbox_client, 2 * 3600)
    response = sandbox_client.get(f"{GRAPH}/oauth/access_token", query_string={
        "grant_type": "fb_exchange_token", "client_id": CLIENT_ID, "client_secret": SECRET, "fb_exchange_token": short})
    assert error(response)["code"] == 190


def test_pages_come_with_page_tokens_that_do_not_expire(sandbox_client: FlaskClient) -> None:
    user = user_token(sandbox_client)
    pages = sandbox_client.get(f"{GRAPH}/me/accounts", query_string={
        "fields": "id,name,access_token,tasks", "access_token": user}).json["data"]
    assert [p["name"] for p in pages][:2] == ["Harbor & Vine Realty", "Harbor & Vine Property Management"]
    page = pages[0]["access_token"]
    advance(sandbox_client, 200 * 86400)  # the user token is long dead; the Page token still works
    me = sandbox_client.get(f"{GRAPH}/me", query_string={"fields": "id,name", "access_token": page})
    assert me.json == {"id": PAGE_ID, "name": "Harbor & Vine Realty"}


# -- publishing --------------------------------------------------------------------------------------------------


def test_posting_needs_the_page_token_not_the_user_token(sandbox_client: FlaskClient) -> None:
    user = user_token(sandbox_client)
    body = error(sandbox_client.post(f"{GRAPH}/{PAGE_ID}/feed", query_string={"access_token": user},
                                     json={"message": "Hi"}))
    assert body["code"] == 200


def test_a_text_post_is_created_with_a_page_scoped_id_and_duplicates_are_refused(sandbox_client: FlaskClient) -> None:
    page = page_token(sandbox_client, user_token(sandbox_client))
    created = sandbox_client.post(f"{GRAPH}/{PAGE_ID}/feed", query_string={"access_token": page},
                                  json={"message": "Open house Saturday", "published": True})
    post_id = created.json["id"]
    assert post_id.startswith(f"{PAGE_ID}_")
    node = sandbox_client.get(f"{GRAPH}/{post_id}", query_string={"fields": "permalink_url,message",
                                                                   "access_token": page}).json
    assert node["message"] == "Open house Saturday" and node["permalink_url"].startswith("https://www.facebook.com/")
    again = sandbox_client.post(f"{GRAPH}/{PAGE_ID}/feed", query_string={"access_token": page},
                                json={"message": "Open house Saturday"})
    assert error(again)["code"] == 506
    assert len(sandbox_client.get("/_sandbox/posts?platform=facebook").json) == 1


@pytest.mark.parametrize("body, code", [
    ({}, 100), ({"message": "x" * 63207}, 100), ({"message": "a", "link": "nope"}, 100),
])
def test_empty_overlong_or_bad_link_posts_are_refused(sandbox_client: FlaskClient, body: dict[str, str],
                                                      code: int) -> None:
    page = page_token(sandbox_client, user_token(sandbox_client))
    response = sandbox_client.post(f"{GRAPH}/{PAGE_ID}/feed", query_string={"access_token": page}, json=body)
    assert error(response)["code"] == code


def test_a_page_the_user_cannot_create_content_on_refuses_posts(sandbox_client: FlaskClient) -> None:
    page = page_token(sandbox_client, user_token(sandbox_client), "106555000111222")
    response = sandbox_client.post("/graph.facebook.com/v23.0/106555000111222/feed",
                                   query_string={"access_token": page}, json={"message": "Hi"})
    assert error(response)["code"] == 200


def test_photos_are_uploaded_unpublished_and_attached_once(sandbox_client: FlaskClient) -> None:
    page = page_token(sandbox_client, user_token(sandbox_client))
    photo = sandbox_client.post(f"{GRAPH}/{PAGE_ID}/photos", query_string={"access_token": page},
                                data={"url": "https://cdn.harborvine.example/a.jpg", "published": "false"}).json["id"]
    assert sandbox_client.get("/_sandbox/posts").json == []  # an unpublished photo is no post
    first = sandbox_client.post(f"{GRAPH}/{PAGE_ID}/feed", query_string={"access_token": page},
                                json={"message": "Kitchen", "attached_media": [{"media_fbid": photo}]})
    assert first.status_code == 200
    second = sandbox_client.post(f"{GRAPH}/{PAGE_ID}/feed", query_string={"access_token": page},
                                 json={"message": "Again", "attached_media": [{"media_fbid": photo}]})
    assert error(second)["code"] == 100
    posts = sandbox_client.get("/_sandbox/posts").json
    assert [p["media"][0]["url"] for p in posts] == ["https://cdn.harborvine.example/a.jpg"]


def test_a_photo_in_an_unsupported_format_is_refused(sandbox_client: FlaskClient) -> None:
    page = page_token(sandbox_client, user_token(sandbox_client))
    response = sandbox_client.post(f"{GRAPH}/{PAGE_ID}/photos", query_string={"access_token": page},
                                   data={"url": "https://cdn.harborvine.example/a.heic", "published": "false"})
    assert error(response)["error_subcode"] == 1366046


def test_a_video_is_processing_then_ready(sandbox_client: FlaskClient) -> None:
    page = page_token(sandbox_client, user_token(sandbox_client))
    video = sandbox_client.post(f"{GRAPH}/{PAGE_ID}/videos", query_string={"access_token": page}, data={
        "file_url": "https://cdn.harborvine.example/tour.mp4", "description": "Tour"}).json["id"]
    status = sandbox_client.get(f"{GRAPH}/{video}", query_string={"fields": "status", "access_token": page})
    assert status.json["status"]["video_status"] == "processing"
    advance(sandbox_client, 5)
    status = sandbox_client.get(f"{GRAPH}/{video}", query_string={"fields": "status", "access_token": page})
    assert status.json["status"]["video_status"] == "ready"


def test_post_insights_grow_with_time_under_the_current_metric_names(sandbox_client: FlaskClient) -> None:
    page = page_token(sandbox_client, user_token(sandbox_client))
    post_id = sandbox_client.post(f"{GRAPH}/{PAGE_ID}/feed", query_string={"access_token": page},
                                  json={"message": "Metrics"}).json["id"]
    advance(sandbox_client, 48 * 3600)
    insights = sandbox_client.get(f"{GRAPH}/{post_id}/insights", query_string={
        "metric": "post_total_media_view_unique,post_clicks", "access_token": page}).json["data"]
    assert [m["name"] for m in insights] == ["post_total_media_view_unique", "post_clicks"]
    assert insights[0]["values"][0]["value"] > 0
    old = sandbox_client.get(f"{GRAPH}/{post_id}/insights", query_string={
        "metric": "post_impressions_unique", "access_token": page})
    assert error(old)["code"] == 100


def test_an_unknown_token_gets_the_graph_190_error(sandbox_client: FlaskClient) -> None:
    response = sandbox_client.get(f"{GRAPH}/me", query_string={"access_token": "EAAGnot-a-token"})
    assert error(response)["code"] == 190


# -- round trip with the real adapter --------------------------------------------------------------------------


def test_round_trip_with_the_real_adapter(sandbox_server: RunningServer) -> None:
    provider = FacebookProvider(ClientCredentials(CLIENT_ID, SECRET), HttpClient(sandbox_url=sandbox_server.url))
    url = provider.authorization_url(redirect_uri=REDIRECT, state="round-trip")
    assert url.startswith(sandbox_server.url + "/www.facebook.com/")
    assert "Allow" in requests.get(url, timeout=5).text
    answer = requests.post(url, data={"decision": "allow"}, allow_redirects=False, timeout=5)
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["state"] == ["round-trip"]

    tokens = provider.exchange_code(code=query["code"][0], redirect_uri=REDIRECT)
    assert "pages_manage_posts" in tokens.scopes and tokens.expires_at is not None
    profile = provider.fetch_profile(tokens)
    assert profile.display_name == "Maya Lindqvist"
    targets = provider.list_targets(tokens, profile)
    assert [t.name for t in targets] == ["Harbor & Vine Realty", "Harbor & Vine Property Management"]
    page_tokens, page_profile = provider.apply_target(tokens, targets[0])
    assert page_profile.platform_account_id == PAGE_ID and page_tokens.expires_at is None

    account = Account(access_token=page_tokens.access_token, platform_account_id=PAGE_ID, handle=page_profile.handle)
    result = provider.publish(account, OutboundPost(text="Just listed: 3-bed craftsman on Alder St."))
    assert result.state == "published" and result.platform_post_id and result.permalink

    photo = provider.publish(account, OutboundPost(text="Sunset from the deck", media=(
        MediaItem(url="https://cdn.harborvine.example/deck.jpg", kind="image"),)))
    video = provider.publish(account, OutboundPost(text="Walkthrough", media=(
        MediaItem(url="https://cdn.harborvine.example/walk.mp4", kind="video"),)))
    assert photo.state == "published" and video.state == "processing"
    requests.post(sandbox_server.url + "/_sandbox/clock", json={"advance_seconds": 5}, timeout=5)
    done = provider.check_publish(account, video.poll or {})
    assert done.state == "published" and done.permalink and done.permalink.startswith("https://www.facebook.com/")

    posts = requests.get(sandbox_server.url + "/_sandbox/posts?platform=facebook", timeout=5).json()
    assert {p["platform_post_id"] for p in posts} == {result.platform_post_id, photo.platform_post_id,
                                                       done.platform_post_id}

    # Refresh: the user token is re-exchanged while valid; the Page token never needs it.
    fresh = provider.refresh(tokens)
    assert fresh.access_token != tokens.access_token
    assert provider.fetch_profile(fresh).platform_account_id == profile.platform_account_id
    assert not provider.can_refresh(page_tokens)


def test_a_retry_after_a_lost_answer_finds_the_post_instead_of_duplicating_it(sandbox_server: RunningServer) -> None:
    from stella.providers.errors import UnknownOutcomeError

    provider = FacebookProvider(ClientCredentials(CLIENT_ID, SECRET),
                                HttpClient(sandbox_url=sandbox_server.url, read_timeout=0.5))
    url = provider.authorization_url(redirect_uri=REDIRECT, state="s")
    location = requests.post(url, data={"decision": "allow"}, allow_redirects=False, timeout=5).headers["Location"]
    tokens = provider.exchange_code(code=parse_qs(urlsplit(location).query)["code"][0], redirect_uri=REDIRECT)
    target = provider.list_targets(tokens, provider.fetch_profile(tokens))[0]
    page_tokens, _ = provider.apply_target(tokens, target)
    account = Account(access_token=page_tokens.access_token, platform_account_id=PAGE_ID)
    requests.post(sandbox_server.url + "/_sandbox/faults", json={
        "kind": "timeout_after_create", "endpoint": "*/feed", "method": "POST", "count": 1}, timeout=5)

    post = OutboundPost(text="Price improvement on Birch Lane!")
    with pytest.raises(UnknownOutcomeError):
        provider.publish(account, post)
    retry = provider.publish(account, post)  # Facebook answers 506; the adapter finds the first post

    posts = requests.get(sandbox_server.url + "/_sandbox/posts?platform=facebook", timeout=5).json()
    assert len(posts) == 1 and retry.platform_post_id == posts[0]["platform_post_id"]


# -- Facebook Login for Business configurations (STELLA_FACEBOOK_LOGIN_CONFIG_ID) ----------------------------------


def config_dialog(config_id: str, client_id: str = CLIENT_ID, redirect: str = REDIRECT) -> str:
    params = {"client_id": client_id, "redirect_uri": redirect, "state": "st", "response_type": "code",
              "config_id": config_id, "auth_type": "rerequest"}
    return "/www.facebook.com/v23.0/dialog/oauth?" + urlencode(params)


def test_a_login_configuration_grants_its_permissions_instead_of_a_scope(sandbox_client: FlaskClient) -> None:
    from stella.sandbox.platforms.facebook import DEMO_LOGIN_CONFIG_ID

    page = sandbox_client.get(config_dialog(DEMO_LOGIN_CONFIG_ID))
    assert page.status_code == 200 and "pages_manage_posts" in page.get_data(as_text=True)
    allowed = sandbox_client.post(config_dialog(DEMO_LOGIN_CONFIG_ID), data={"decision": "allow"})
    code = parse_qs(urlsplit(allowed.headers["Location"]).query)["code"][0]
    user = long_lived(sandbox_client, exchange(sandbox_client, code).json["access_token"])
    granted = {p["permission"] for p in sandbox_client.get(f"{GRAPH}/me/permissions",
                                                          query_string={"access_token": user}).json["data"]}
    assert {"pages_show_list", "pages_manage_posts", "instagram_basic", "instagram_content_publish",
            "public_profile"} <= granted


def test_a_login_configuration_serves_instagram_apps_too(sandbox_client: FlaskClient) -> None:
    from stella.sandbox.platforms.facebook import DEMO_LOGIN_CONFIG_ID

    page = sandbox_client.get(config_dialog(DEMO_LOGIN_CONFIG_ID, "sandbox-instagram-id",
                                            f"{STELLA_URL}/connections/instagram/callback"))
    assert page.status_code == 200 and "instagram_content_publish" in page.get_data(as_text=True)


@pytest.mark.parametrize("config_id", ["123456789012345", "not-a-number", ""])
def test_an_unknown_login_configuration_is_an_error_page_not_a_redirect(sandbox_client: FlaskClient,
                                                                         config_id: str) -> None:
    for response in (sandbox_client.get(config_dialog(config_id)),
                     sandbox_client.post(config_dialog(config_id), data={"decision": "allow"})):
        assert response.status_code == 400 and "Location" not in response.headers
        assert "config_id" in response.get_data(as_text=True)


def test_a_login_configuration_does_not_excuse_a_wrong_redirect_uri(sandbox_client: FlaskClient) -> None:
    from stella.sandbox.platforms.facebook import DEMO_LOGIN_CONFIG_ID

    response = sandbox_client.get(config_dialog(DEMO_LOGIN_CONFIG_ID, redirect=f"{STELLA_URL}/elsewhere"))
    assert response.status_code == 400 and "URL Blocked" in response.get_data(as_text=True)


def test_the_real_adapter_connects_with_a_login_configuration(sandbox_server: RunningServer) -> None:
    from stella.sandbox.platforms.facebook import DEMO_LOGIN_CONFIG_ID

    http = HttpClient(sandbox_url=sandbox_server.url, allow_private_hosts=True)
    provider = FacebookProvider(ClientCredentials(CLIENT_ID, SECRET), http,
                                options={"login_config_id": DEMO_LOGIN_CONFIG_ID})
    url = provider.authorization_url(redirect_uri=REDIRECT, state="cfg")
    assert "config_id=" in url and "scope=" not in url
    allowed = requests.post(url, data={"decision": "allow"}, allow_redirects=False, timeout=5)
    code = parse_qs(urlsplit(allowed.headers["Location"]).query)["code"][0]
    tokens = provider.exchange_code(code=code, redirect_uri=REDIRECT)
    assert {"pages_show_list", "pages_manage_posts"} <= tokens.scopes
