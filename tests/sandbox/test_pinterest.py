"""The Pinterest stand-in: Basic-only token endpoint, rotating refresh, pins and video uploads, a round trip."""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from flask.testing import FlaskClient

from stella.providers.base import Account, ClientCredentials, MediaItem, OutboundPost
from stella.providers.errors import AuthExpiredError
from stella.providers.http import HttpClient
from stella.providers.pinterest import PinterestProvider
from stella.sandbox.platforms.pinterest import BOARDS, USER
from tests.sandbox.conftest import STELLA_URL

CLIENT_ID, SECRET = "sandbox-pinterest-id", "sandbox-pinterest-secret"
REDIRECT = f"{STELLA_URL}/connections/pinterest/callback"
SCOPES = "boards:read,pins:read,pins:write,user_accounts:read"
BASIC = {"Authorization": "Basic " + base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()}
TOKEN_PATH = "/api.pinterest.com/v5/oauth/token"
BOARD = BOARDS[0]["id"]


def get_code(client: FlaskClient, scope: str = SCOPES) -> str:
    query = urlencode({"client_id": CLIENT_ID, "redirect_uri": REDIRECT, "response_type": "code", "scope": scope,
                       "state": "st"})
    location = client.post(f"/www.pinterest.com/oauth/?{query}", data={"decision": "allow"}).headers["Location"]
    return parse_qs(urlsplit(location).query)["code"][0]


def exchange(client: FlaskClient, code: str, headers: dict[str, str] | None = None, **form: str):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, **form}
    return client.post(TOKEN_PATH, data=data, headers=BASIC if headers is None else headers)


@pytest.fixture()
def tokens(sandbox_client: FlaskClient) -> dict:
    return dict(exchange(sandbox_client, get_code(sandbox_client)).get_json())


def bearer(tokens: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def test_good_exchange_returns_pinterest_tokens_and_lifetimes(tokens: dict) -> None:
    assert tokens["access_token"].startswith("pina_") and tokens["refresh_token"].startswith("pinr_")
    assert tokens["expires_in"] == 2592000 and tokens["refresh_token_expires_in"] == 5184000
    assert tokens["response_type"] == "authorization_code" and tokens["token_type"] == "bearer"


def test_client_credentials_in_the_body_are_refused(sandbox_client: FlaskClient) -> None:
    response = exchange(sandbox_client, get_code(sandbox_client), headers={}, client_id=CLIENT_ID,
                        client_secret=SECRET)
    assert response.status_code == 401 and response.get_json()["code"] == 2


def test_wrong_secret_is_refused(sandbox_client: FlaskClient) -> None:
    wrong = {"Authorization": "Basic " + base64.b64encode(f"{CLIENT_ID}:nope".encode()).decode()}
    assert exchange(sandbox_client, get_code(sandbox_client), headers=wrong).status_code == 401


def test_redirect_uri_is_checked_on_the_consent_page_and_at_the_token_endpoint(sandbox_client: FlaskClient) -> None:
    query = urlencode({"client_id": CLIENT_ID, "redirect_uri": REDIRECT + "x", "response_type": "code",
                       "scope": SCOPES})
    assert sandbox_client.get(f"/www.pinterest.com/oauth/?{query}").status_code == 400
    response = exchange(sandbox_client, get_code(sandbox_client), redirect_uri=f"{STELLA_URL}/other")
    assert response.status_code == 400 and "redirect_uri" in response.get_json()["message"]


def test_codes_are_single_use_and_expire(sandbox_client: FlaskClient) -> None:
    code = get_code(sandbox_client)
    assert exchange(sandbox_client, code).status_code == 200
    assert exchange(sandbox_client, code).status_code == 400
    late = get_code(sandbox_client)
    sandbox_client.post("/_sandbox/clock", json={"advance_seconds": 15 * 60})
    assert exchange(sandbox_client, late).status_code == 400


def test_unknown_scope_is_refused_on_the_consent_page(sandbox_client: FlaskClient) -> None:
    query = urlencode({"client_id": CLIENT_ID, "redirect_uri": REDIRECT, "response_type": "code",
                       "scope": "pins:write,everything"})
    assert sandbox_client.get(f"/www.pinterest.com/oauth/?{query}").status_code == 400


def test_refresh_rotates_and_the_replaced_refresh_token_stops_working(sandbox_client: FlaskClient,
                                                                      tokens: dict) -> None:
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "continuous_refresh": "true"}
    fresh = sandbox_client.post(TOKEN_PATH, data=form, headers=BASIC).get_json()
    assert fresh["refresh_token"] != tokens["refresh_token"] and fresh["response_type"] == "refresh_token"
    reused = sandbox_client.post(TOKEN_PATH, data=form, headers=BASIC)
    assert reused.status_code == 400


def test_missing_scope_is_refused(sandbox_client: FlaskClient) -> None:
    limited = exchange(sandbox_client, get_code(sandbox_client, scope="boards:read")).get_json()
    response = sandbox_client.get("/api.pinterest.com/v5/user_account", headers=bearer(limited))
    assert response.status_code == 403 and "user_accounts:read" in response.get_json()["message"]


def test_expired_access_token_is_authentication_failed(sandbox_client: FlaskClient, tokens: dict) -> None:
    sandbox_client.post("/_sandbox/clock", json={"advance_seconds": 31 * 24 * 3600})
    response = sandbox_client.get("/api.pinterest.com/v5/user_account", headers=bearer(tokens))
    assert response.status_code == 401
    assert response.get_json() == {"code": 2, "message": "Authentication failed.", "status": "failure"}


def test_secret_boards_are_hidden_without_the_secret_scope(sandbox_client: FlaskClient, tokens: dict) -> None:
    items = sandbox_client.get("/api.pinterest.com/v5/boards", headers=bearer(tokens)).get_json()["items"]
    assert {b["privacy"] for b in items} == {"PUBLIC"}


@pytest.mark.parametrize(("body", "status", "fragment"), [
    ({"board_id": "abc", "media_source": {"source_type": "image_url", "url": "https://cdn.example/a.jpg"}}, 400,
     "does not match"),
    ({"board_id": "999", "media_source": {"source_type": "image_url", "url": "https://cdn.example/a.jpg"}}, 404,
     "Board not found"),
    ({"board_id": BOARD}, 400, "media_source is required"),
    ({"board_id": BOARD, "title": "t" * 101,
      "media_source": {"source_type": "image_url", "url": "https://cdn.example/a.jpg"}}, 400, "maxLength=100"),
    ({"board_id": BOARD, "description": "d" * 801,
      "media_source": {"source_type": "image_url", "url": "https://cdn.example/a.jpg"}}, 400, "maxLength=800"),
    ({"board_id": BOARD, "media_source": {"source_type": "image_url", "url": "http://localhost/a.jpg"}}, 400,
     "Unable to reach the URL"),
    ({"board_id": BOARD, "media_source": {"source_type": "multiple_image_urls", "items": [
        {"url": f"https://cdn.example/{i}.jpg"} for i in range(6)]}}, 400, "maxItems=5"),
])
def test_invalid_pins_get_pinterests_error(sandbox_client: FlaskClient, tokens: dict, body: dict, status: int,
                                           fragment: str) -> None:
    response = sandbox_client.post("/api.pinterest.com/v5/pins", json=body, headers=bearer(tokens))
    assert response.status_code == status
    assert fragment in response.get_json()["message"]


def test_an_image_pin_is_created_with_a_numeric_id(sandbox_client: FlaskClient, tokens: dict) -> None:
    response = sandbox_client.post("/api.pinterest.com/v5/pins", headers=bearer(tokens), json={
        "board_id": BOARD, "title": "12 Harbor Lane", "description": "Sunny kitchen",
        "media_source": {"source_type": "image_url", "url": "https://cdn.example/kitchen.jpg"}})
    pin = response.get_json()
    assert response.status_code == 201 and pin["id"].isdigit() and pin["board_id"] == BOARD
    posts = sandbox_client.get("/_sandbox/posts?platform=pinterest").get_json()
    assert posts[0]["permalink"] == f"https://www.pinterest.com/pin/{pin['id']}/"


def test_the_upload_bucket_refuses_a_bearer_token(sandbox_client: FlaskClient, tokens: dict) -> None:
    media = sandbox_client.post("/api.pinterest.com/v5/media", json={"media_type": "video"},
                                headers=bearer(tokens)).get_json()
    form = {**media["upload_parameters"], "file": (io.BytesIO(b"mp4"), "v.mp4", "video/mp4")}
    response = sandbox_client.post("/pinterest-media-upload.s3-accelerate.amazonaws.com/", data=form,
                                   headers=bearer(tokens), content_type="multipart/form-data")
    assert response.status_code == 400 and b"Only one auth mechanism allowed" in response.data


def test_a_video_pin_needs_a_processed_video_and_a_cover(sandbox_client: FlaskClient, tokens: dict) -> None:
    media = sandbox_client.post("/api.pinterest.com/v5/media", json={"media_type": "video"},
                                headers=bearer(tokens)).get_json()
    form = {**media["upload_parameters"], "file": (io.BytesIO(b"mp4 bytes"), "v.mp4", "video/mp4")}
    assert sandbox_client.post("/pinterest-media-upload.s3-accelerate.amazonaws.com/", data=form,
                               content_type="multipart/form-data").status_code == 204
    source = {"source_type": "video_id", "media_id": media["media_id"], "cover_image_key_frame_time": 1}
    early = sandbox_client.post("/api.pinterest.com/v5/pins", json={"board_id": BOARD, "media_source": source},
                                headers=bearer(tokens))
    assert early.status_code == 400 and "not ready" in early.get_json()["message"]
    sandbox_client.post("/_sandbox/clock", json={"advance_seconds": 60})
    status = sandbox_client.get(f"/api.pinterest.com/v5/media/{media['media_id']}", headers=bearer(tokens)).get_json()
    assert status["status"] == "succeeded"
    coverless = sandbox_client.post("/api.pinterest.com/v5/pins", headers=bearer(tokens), json={
        "board_id": BOARD, "media_source": {"source_type": "video_id", "media_id": media["media_id"]}})
    assert coverless.status_code == 400 and "cover_image_url" in coverless.get_json()["message"]
    ok = sandbox_client.post("/api.pinterest.com/v5/pins", json={"board_id": BOARD, "media_source": source},
                             headers=bearer(tokens))
    assert ok.status_code == 201 and ok.get_json()["media"]["media_type"] == "video"


def test_pin_analytics_use_pinterests_metric_names(sandbox_client: FlaskClient, tokens: dict) -> None:
    pin = sandbox_client.post("/api.pinterest.com/v5/pins", headers=bearer(tokens), json={
        "board_id": BOARD, "media_source": {"source_type": "image_url", "url": "https://cdn.example/a.jpg"}}).get_json()
    sandbox_client.post("/_sandbox/clock", json={"advance_seconds": 3 * 24 * 3600})
    today = (datetime.now(UTC) + timedelta(days=3)).date()
    start = today - timedelta(days=4)
    body = sandbox_client.get(
        f"/api.pinterest.com/v5/pins/{pin['id']}/analytics?start_date={start}&end_date={today}"
        "&metric_types=IMPRESSION,SAVE,PIN_CLICK,TOTAL_REACTIONS&app_types=ALL&split_field=NO_SPLIT",
        headers=bearer(tokens)).get_json()["all"]
    assert {d["data_status"] for d in body["daily_metrics"][:-1]} == {"READY"}
    assert set(body["summary_metrics"]) == {"IMPRESSION", "SAVE", "PIN_CLICK", "TOTAL_REACTIONS"}
    assert body["summary_metrics"]["IMPRESSION"] > 0
    assert set(body["lifetime_metrics"]) == {"TOTAL_COMMENTS", "TOTAL_REACTIONS"}
    too_old = sandbox_client.get(
        f"/api.pinterest.com/v5/pins/{pin['id']}/analytics?start_date={today - timedelta(days=120)}"
        f"&end_date={today}&metric_types=IMPRESSION", headers=bearer(tokens))
    assert too_old.status_code == 400


def test_round_trip_with_the_real_adapter(sandbox_server) -> None:
    http = HttpClient(sandbox_url=sandbox_server.url, allow_private_hosts=True)
    provider = PinterestProvider(ClientCredentials(CLIENT_ID, SECRET), http)
    url = provider.authorization_url(redirect_uri=REDIRECT, state="rt")
    assert url.startswith(f"{sandbox_server.url}/www.pinterest.com/oauth/?")
    assert requests.get(url, timeout=5).status_code == 200
    allowed = requests.post(url, data={"decision": "allow"}, allow_redirects=False, timeout=5)
    query = parse_qs(urlsplit(allowed.headers["Location"]).query)
    assert query["state"] == ["rt"]

    tokens = provider.exchange_code(code=query["code"][0], redirect_uri=REDIRECT)
    profile = provider.fetch_profile(tokens)
    assert (profile.platform_account_id, profile.handle, profile.display_name) == (
        USER["id"], "harborvinerealty", "Harbor & Vine Realty")
    targets = provider.list_targets(tokens, profile)
    assert [t.name for t in targets] == ["Waterfront Listings", "Home Staging Ideas", "Neighborhood Guides"]
    tokens, chosen = provider.apply_target(tokens, targets[0])
    assert chosen.platform_account_id == USER["id"] and chosen.metadata["default_board_id"] == BOARD

    account = Account(access_token=tokens.access_token, platform_account_id=chosen.platform_account_id,
                      metadata=dict(chosen.metadata))
    image = provider.publish(account, OutboundPost(
        text="Sun-filled kitchen at 12 Harbor Lane.", title="12 Harbor Lane", link="https://harborvine.example/12",
        media=(MediaItem(url="https://cdn.harborvine.example/kitchen.jpg", kind="image", alt_text="Kitchen"),)))
    assert image.state == "published" and image.permalink == f"https://www.pinterest.com/pin/{image.platform_post_id}/"

    video_post = OutboundPost(text="Walkthrough of 12 Harbor Lane", title="Video tour",
                              media=(MediaItem(url="https://cdn.example/tour.mp4", kind="video",
                                               mime_type="video/mp4", data=b"\x00\x00\x00\x18ftypmp42" * 50),))
    started = provider.publish(account, video_post)
    assert started.state == "processing"
    waiting = provider.check_publish(account, started.poll or {})
    assert waiting.state == "processing"
    requests.post(f"{sandbox_server.url}/_sandbox/clock", json={"advance_seconds": 60}, timeout=5)
    video = provider.check_publish(account, started.poll or {})
    assert video.state == "published"
    # A repeated check (as after a lost answer) finds the same pin instead of pinning twice.
    assert provider.check_publish(account, started.poll or {}).platform_post_id == video.platform_post_id

    posts = requests.get(f"{sandbox_server.url}/_sandbox/posts?platform=pinterest", timeout=5).json()
    assert [p["platform_post_id"] for p in posts] == [image.platform_post_id, video.platform_post_id]
    assert posts[1]["media"][0]["kind"] == "video"

    fresh = provider.refresh(tokens)
    assert fresh.refresh_token and fresh.refresh_token != tokens.refresh_token
    with pytest.raises(AuthExpiredError):
        provider.refresh(tokens)  # the rotated-out refresh token no longer works
    assert provider.fetch_profile(fresh).platform_account_id == USER["id"]


# -- the API Sandbox host (STELLA_PINTEREST_API_URL=https://api-sandbox.pinterest.com) -------------------------------

SANDBOX_API = "/api-sandbox.pinterest.com/v5"


def sandbox_tokens(client: FlaskClient) -> dict:
    data = {"grant_type": "authorization_code", "code": get_code(client), "redirect_uri": REDIRECT}
    response = client.post(f"{SANDBOX_API}/oauth/token", data=data, headers=BASIC)
    assert response.status_code == 200, response.get_json()
    return dict(response.get_json())


def test_the_api_sandbox_host_issues_tokens_that_work_only_there(sandbox_client: FlaskClient, tokens: dict) -> None:
    sandbox = sandbox_tokens(sandbox_client)
    assert sandbox_client.get(f"{SANDBOX_API}/user_account", headers=bearer(sandbox)).get_json()["id"] == USER["id"]
    refused = sandbox_client.get("/api.pinterest.com/v5/user_account", headers=bearer(sandbox))
    assert refused.status_code == 401 and refused.get_json()["code"] == 2
    # ...and a production token is refused by the API Sandbox.
    assert sandbox_client.get(f"{SANDBOX_API}/user_account", headers=bearer(tokens)).status_code == 401


def test_a_refresh_token_is_refused_by_the_other_environment(sandbox_client: FlaskClient) -> None:
    sandbox = sandbox_tokens(sandbox_client)
    form = {"grant_type": "refresh_token", "refresh_token": sandbox["refresh_token"]}
    assert sandbox_client.post(TOKEN_PATH, data=form, headers=BASIC).get_json()["code"] == 283
    fresh = sandbox_client.post(f"{SANDBOX_API}/oauth/token", data=form, headers=BASIC)
    assert fresh.status_code == 200 and fresh.get_json()["refresh_token"] != sandbox["refresh_token"]


def test_the_api_sandbox_creates_image_pins_but_refuses_video_pins(sandbox_client: FlaskClient) -> None:
    sandbox = sandbox_tokens(sandbox_client)
    image = sandbox_client.post(f"{SANDBOX_API}/pins", headers=bearer(sandbox), json={
        "board_id": BOARD, "media_source": {"source_type": "image_url", "url": "https://cdn.example/kitchen.jpg"}})
    assert image.status_code == 201 and image.get_json()["board_id"] == BOARD

    register = sandbox_client.post(f"{SANDBOX_API}/media", headers=bearer(sandbox), json={"media_type": "video"})
    assert register.status_code == 400 and "API Sandbox" in register.get_json()["message"]
    pin = sandbox_client.post(f"{SANDBOX_API}/pins", headers=bearer(sandbox), json={
        "board_id": BOARD, "media_source": {"source_type": "video_id", "media_id": "5071139472003489001",
                                            "cover_image_key_frame_time": 0}})
    assert pin.status_code == 400 and "video Pins cannot be created" in pin.get_json()["message"]
    # Production still takes videos.
    production = exchange(sandbox_client, get_code(sandbox_client)).get_json()
    assert sandbox_client.post("/api.pinterest.com/v5/media", headers=bearer(production),
                               json={"media_type": "video"}).status_code == 201


def test_round_trip_on_the_api_sandbox_with_the_real_adapter(sandbox_server) -> None:
    http = HttpClient(sandbox_url=sandbox_server.url, allow_private_hosts=True)
    provider = PinterestProvider(ClientCredentials(CLIENT_ID, SECRET), http,
                                 options={"api_url": "https://api-sandbox.pinterest.com"})
    url = provider.authorization_url(redirect_uri=REDIRECT, state="rt")
    assert url.startswith(f"{sandbox_server.url}/www.pinterest.com/oauth/?")  # one consent page for both APIs
    allowed = requests.post(url, data={"decision": "allow"}, allow_redirects=False, timeout=5)
    code = parse_qs(urlsplit(allowed.headers["Location"]).query)["code"][0]
    tokens = provider.exchange_code(code=code, redirect_uri=REDIRECT)
    profile = provider.fetch_profile(tokens)
    tokens, chosen = provider.apply_target(tokens, provider.list_targets(tokens, profile)[0])
    account = Account(access_token=tokens.access_token, platform_account_id=chosen.platform_account_id,
                      metadata=dict(chosen.metadata))
    image = provider.publish(account, OutboundPost(
        text="Sun-filled kitchen at 12 Harbor Lane.", title="12 Harbor Lane",
        media=(MediaItem(url="https://cdn.harborvine.example/kitchen.jpg", kind="image"),)))
    assert image.state == "published"
    posts = requests.get(f"{sandbox_server.url}/_sandbox/posts?platform=pinterest", timeout=5).json()
    assert [p["platform_post_id"] for p in posts] == [image.platform_post_id]
