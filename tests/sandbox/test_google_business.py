"""The Google Business Profile stand-in: accounts → locations, v4 localPosts with review, metrics, a round trip."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from flask.testing import FlaskClient

from stella.providers.base import Account, ClientCredentials, MediaItem, OutboundPost
from stella.providers.errors import RejectedError
from stella.providers.google_business import GoogleBusinessProvider
from stella.providers.http import HttpClient
from tests.sandbox.conftest import STELLA_URL

CLIENT_ID, SECRET = "sandbox-google_business-id", "sandbox-google_business-secret"
REDIRECT = f"{STELLA_URL}/connections/google_business/callback"
SCOPE = "https://www.googleapis.com/auth/business.manage"
VERIFIER = "gbp-verifier-0123456789-abcdefghijklmnopqrstuvwxyz"
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()
ACCOUNT = "accounts/4432109876543210987"
PARENT = f"{ACCOUNT}/locations/6214387701928374650"
POSTS = f"/mybusiness.googleapis.com/v4/{PARENT}/localPosts"


def token(client: FlaskClient) -> str:
    query = urlencode({"client_id": CLIENT_ID, "redirect_uri": REDIRECT, "response_type": "code", "scope": SCOPE,
                       "state": "s", "access_type": "offline", "prompt": "consent", "code_challenge": CHALLENGE,
                       "code_challenge_method": "S256"})
    allowed = client.post(f"/accounts.google.com/o/oauth2/v2/auth?{query}", data={"decision": "allow"})
    location = allowed.headers["Location"]
    code = parse_qs(urlsplit(location).query)["code"][0]
    answer = client.post("/oauth2.googleapis.com/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": VERIFIER,
        "client_id": CLIENT_ID, "client_secret": SECRET})
    return str(answer.get_json()["access_token"])


@pytest.fixture()
def auth(sandbox_client: FlaskClient) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(sandbox_client)}"}


def test_google_sign_in_sends_this_client_back_to_its_own_callback(sandbox_client: FlaskClient) -> None:
    query = urlencode({"client_id": CLIENT_ID, "redirect_uri": REDIRECT, "response_type": "code", "scope": SCOPE})
    location = sandbox_client.post(f"/accounts.google.com/o/oauth2/v2/auth?{query}",
                                   data={"decision": "allow"}).headers["Location"]
    assert location.startswith(REDIRECT + "?code=")
    youtube_redirect = f"{STELLA_URL}/connections/youtube/callback"
    query = urlencode({"client_id": CLIENT_ID, "redirect_uri": youtube_redirect, "response_type": "code",
                       "scope": SCOPE})
    assert sandbox_client.get(f"/accounts.google.com/o/oauth2/v2/auth?{query}").status_code == 400


def test_locations_need_a_read_mask(sandbox_client: FlaskClient, auth: dict[str, str]) -> None:
    response = sandbox_client.get(f"/mybusinessbusinessinformation.googleapis.com/v1/{ACCOUNT}/locations", headers=auth)
    body = response.get_json()["error"]
    assert response.status_code == 400 and body["status"] == "INVALID_ARGUMENT"
    assert body["details"][0]["fieldViolations"][0]["field"] == "read_mask"


def test_locations_return_only_the_masked_fields_with_the_short_name(sandbox_client: FlaskClient,
                                                                     auth: dict[str, str]) -> None:
    response = sandbox_client.get(
        f"/mybusinessbusinessinformation.googleapis.com/v1/{ACCOUNT}/locations?readMask=name,title", headers=auth)
    locations = response.get_json()["locations"]
    assert locations[0] == {"name": "locations/6214387701928374650",
                            "title": "Harbor & Vine Realty — Waterfront Office"}


def test_local_posts_are_not_served_on_a_v1_path(sandbox_client: FlaskClient, auth: dict[str, str]) -> None:
    response = sandbox_client.post(f"/mybusinessbusinessinformation.googleapis.com/v1/{PARENT}/localPosts",
                                   json={"summary": "x", "topicType": "STANDARD"}, headers=auth)
    assert response.status_code == 404


def test_a_standard_post_goes_live_with_a_search_url(sandbox_client: FlaskClient, auth: dict[str, str]) -> None:
    response = sandbox_client.post(POSTS, json={"languageCode": "en-US", "summary": "Open house Saturday, 1–3 pm.",
                                                "topicType": "STANDARD"}, headers=auth)
    body = response.get_json()
    assert response.status_code == 200 and body["state"] == "LIVE"
    assert body["name"].startswith(PARENT + "/localPosts/")
    assert body["searchUrl"].startswith("https://local.google.com/place?id=") and "lpsid=" in body["searchUrl"]


@pytest.mark.parametrize(("post", "field"), [
    ({"summary": "no type"}, "local_post.topic_type"),
    ({"summary": "x" * 1501, "topicType": "STANDARD"}, "local_post.summary"),
    ({"summary": "Open house", "topicType": "EVENT"}, "local_post.event"),
    ({"summary": "Call", "topicType": "STANDARD", "callToAction": {"actionType": "CALL", "url": "https://x.example"}},
     "local_post.call_to_action.url"),
    ({"summary": "Two", "topicType": "STANDARD", "media": [
        {"mediaFormat": "PHOTO", "sourceUrl": "https://cdn.example/a.jpg"},
        {"mediaFormat": "PHOTO", "sourceUrl": "https://cdn.example/b.jpg"}]}, "local_post.media"),
    ({"summary": "Video", "topicType": "STANDARD", "media": [
        {"mediaFormat": "VIDEO", "sourceUrl": "https://cdn.example/a.mp4"}]}, "local_post.media.media_format"),
])
def test_invalid_local_posts_get_invalid_argument(sandbox_client: FlaskClient, auth: dict[str, str], post: dict,
                                                  field: str) -> None:
    response = sandbox_client.post(POSTS, json=post, headers=auth)
    error = response.get_json()["error"]
    assert response.status_code == 400 and error["status"] == "INVALID_ARGUMENT"
    assert error["details"][0]["fieldViolations"][0]["field"] == field


def test_a_phone_number_is_rejected_by_review_with_http_200(sandbox_client: FlaskClient, auth: dict[str, str]) -> None:
    response = sandbox_client.post(POSTS, json={"summary": "Call (617) 555-0142 today!", "topicType": "STANDARD"},
                                   headers=auth)
    assert response.status_code == 200 and response.get_json()["state"] == "REJECTED"
    assert "searchUrl" not in response.get_json()
    assert sandbox_client.get("/_sandbox/posts?platform=google_business").get_json() == []


def test_another_users_location_is_permission_denied(sandbox_client: FlaskClient, auth: dict[str, str]) -> None:
    response = sandbox_client.post("/mybusiness.googleapis.com/v4/accounts/1/locations/2/localPosts",
                                   json={"summary": "x", "topicType": "STANDARD"}, headers=auth)
    assert response.status_code == 403 and response.get_json()["error"]["status"] == "PERMISSION_DENIED"


def test_a_youtube_token_does_not_open_business_profile(sandbox_client: FlaskClient) -> None:
    response = sandbox_client.get("/mybusinessaccountmanagement.googleapis.com/v1/accounts",
                                  headers={"Authorization": "Bearer ya29.not-a-business-token"})
    assert response.status_code == 401 and response.get_json()["error"]["status"] == "UNAUTHENTICATED"


def test_daily_metrics_use_the_performance_api_shape(sandbox_client: FlaskClient, auth: dict[str, str]) -> None:
    sandbox_client.post(POSTS, json={"summary": "New listing on Elm Street.", "topicType": "STANDARD"}, headers=auth)
    sandbox_client.post("/_sandbox/clock", json={"advance_seconds": 30 * 3600})
    fresh = {"Authorization": f"Bearer {token(sandbox_client)}"}
    start = datetime.now(UTC).date()
    end = start + timedelta(days=2)
    query = (f"dailyMetrics=WEBSITE_CLICKS&dailyMetrics=BUSINESS_IMPRESSIONS_MOBILE_SEARCH"
             f"&dailyRange.startDate.year={start.year}&dailyRange.startDate.month={start.month}"
             f"&dailyRange.startDate.day={start.day}&dailyRange.endDate.year={end.year}"
             f"&dailyRange.endDate.month={end.month}&dailyRange.endDate.day={end.day}")
    body = sandbox_client.get(f"/businessprofileperformance.googleapis.com/v1/locations/6214387701928374650"
                              f":fetchMultiDailyMetricsTimeSeries?{query}", headers=fresh).get_json()
    series = body["multiDailyMetricTimeSeries"][0]["dailyMetricTimeSeries"]
    assert [s["dailyMetric"] for s in series] == ["WEBSITE_CLICKS", "BUSINESS_IMPRESSIONS_MOBILE_SEARCH"]
    impressions = series[1]["timeSeries"]["datedValues"]
    assert len(impressions) == 3
    assert sum(int(v.get("value", "0")) for v in impressions) > 0
    assert all(isinstance(v.get("value", ""), str) for v in impressions)


def test_round_trip_with_the_real_adapter(sandbox_server) -> None:
    http = HttpClient(sandbox_url=sandbox_server.url, allow_private_hosts=True)
    provider = GoogleBusinessProvider(ClientCredentials(CLIENT_ID, SECRET), http)
    url = provider.authorization_url(redirect_uri=REDIRECT, state="rt", code_challenge=CHALLENGE)
    assert requests.get(url, timeout=5).status_code == 200
    allowed = requests.post(url, data={"decision": "allow"}, allow_redirects=False, timeout=5)
    code = parse_qs(urlsplit(allowed.headers["Location"]).query)["code"][0]

    tokens = provider.exchange_code(code=code, redirect_uri=REDIRECT, code_verifier=VERIFIER)
    profile = provider.fetch_profile(tokens)
    assert profile.display_name == "Maya Lindqvist"
    targets = provider.list_targets(tokens, profile)
    assert [t.name for t in targets] == [
        "Harbor & Vine Realty — Waterfront Office", "Harbor & Vine Realty — Beacon Hill"]
    tokens, chosen = provider.apply_target(tokens, targets[0])
    assert chosen.platform_account_id == PARENT
    assert chosen.avatar_url == f"{sandbox_server.url}/_sandbox/avatars/google_business/waterfront-office.svg"
    assert chosen.metadata["location_name"] == "locations/6214387701928374650"

    account = Account(access_token=tokens.access_token, platform_account_id=chosen.platform_account_id,
                      metadata=dict(chosen.metadata))
    post = OutboundPost(text="Just listed: a sunny two-bedroom on the waterfront.",
                        link="https://harborvine.example/listings/waterfront-2br",
                        media=(MediaItem(url="https://cdn.harborvine.example/waterfront-2br.jpg", kind="image"),))
    result = provider.publish(account, post)
    assert result.state == "processing"  # Google fetches the photo first
    requests.post(f"{sandbox_server.url}/_sandbox/clock", json={"advance_seconds": 60}, timeout=5)
    done = provider.check_publish(account, result.poll or {})
    assert done.state == "published" and done.permalink and "lpsid=" in done.permalink

    # Publishing the same text again finds the earlier post instead of creating a second one.
    again = provider.publish(account, post)
    assert again.platform_post_id == result.platform_post_id
    with pytest.raises(RejectedError, match="rejected the post"):
        provider.publish(account, OutboundPost(text="Questions? Call 617-555-0142."))

    posts = requests.get(f"{sandbox_server.url}/_sandbox/posts?platform=google_business", timeout=5).json()
    assert [(p["platform_post_id"], p["text"]) for p in posts] == [(result.platform_post_id, post.text)]

    fresh = provider.refresh(tokens)
    assert fresh.access_token != tokens.access_token and fresh.refresh_token == tokens.refresh_token
