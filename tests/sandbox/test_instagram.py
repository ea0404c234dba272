"""The Instagram stand-in (Facebook Login variant) enforces the container flow and limits of doc §1."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from flask.testing import FlaskClient

from stella.providers.base import Account, ClientCredentials, MediaItem, OutboundPost
from stella.providers.http import HttpClient
from stella.providers.instagram import InstagramProvider
from stella.sandbox.server import RunningServer
from tests.sandbox.conftest import STELLA_URL

CLIENT_ID, SECRET = "sandbox-instagram-id", "sandbox-instagram-secret"
REDIRECT = f"{STELLA_URL}/connections/instagram/callback"
GRAPH = "/graph.facebook.com/v23.0"
IG_ID = "17841405822304914"
SCOPES = "instagram_basic,instagram_content_publish,pages_show_list,pages_read_engagement,instagram_manage_insights"
JPEG = "https://cdn.harborvine.example/front.jpg"
MP4 = "https://cdn.harborvine.example/tour.mp4"


def connect(client: FlaskClient, scopes: str = SCOPES) -> str:
    """A long-lived user token for the Instagram app, obtained the documented way."""
    query = urlencode({"client_id": CLIENT_ID, "redirect_uri": REDIRECT, "state": "s", "scope": scopes})
    answer = client.post(f"/www.facebook.com/v23.0/dialog/oauth?{query}", data={"decision": "allow"})
    code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
    short = client.get(f"{GRAPH}/oauth/access_token", query_string={
        "client_id": CLIENT_ID, "client_secret": SECRET, "redirect_uri": REDIRECT, "code": code}).json["access_token"]
    return str(client.get(f"{GRAPH}/oauth/access_token", query_string={
        "grant_type": "fb_exchange_token", "client_id": CLIENT_ID, "client_secret": SECRET,
        "fb_exchange_token": short}).json["access_token"])


def create(client: FlaskClient, token: str, **fields: str) -> Any:
    return client.post(f"{GRAPH}/{IG_ID}/media", query_string={"access_token": token}, data=fields)


def status(client: FlaskClient, token: str, container: str) -> str:
    return str(client.get(f"{GRAPH}/{container}", query_string={"fields": "status_code",
                                                               "access_token": token}).json["status_code"])


def publish(client: FlaskClient, token: str, container: str) -> Any:
    return client.post(f"{GRAPH}/{IG_ID}/media_publish", query_string={"access_token": token},
                       data={"creation_id": container})


def error(response: Any) -> dict[str, Any]:
    assert response.status_code == 400, response.get_data(as_text=True)
    return dict(response.json["error"])


def advance(client: FlaskClient, seconds: float) -> None:
    client.post("/_sandbox/clock", json={"advance_seconds": seconds})


def test_the_instagram_app_signs_in_through_the_facebook_dialog_with_its_own_redirect(
    sandbox_client: FlaskClient,
) -> None:
    wrong = urlencode({"client_id": CLIENT_ID, "redirect_uri": f"{STELLA_URL}/connections/facebook/callback",
                       "scope": SCOPES})
    assert sandbox_client.get(f"/www.facebook.com/v23.0/dialog/oauth?{wrong}").status_code == 400
    token = connect(sandbox_client)
    pages = sandbox_client.get(f"{GRAPH}/me/accounts", query_string={
        "fields": "id,instagram_business_account", "access_token": token}).json["data"]
    assert pages[0]["instagram_business_account"] == {"id": IG_ID}
    account = sandbox_client.get(f"{GRAPH}/{IG_ID}", query_string={"fields": "username,name",
                                                                  "access_token": token}).json
    assert account == {"username": "harborvine.realty", "name": "Harbor & Vine Realty"}


def test_an_image_container_is_published_as_media_with_its_own_id_and_a_shortcode_permalink(
    sandbox_client: FlaskClient,
) -> None:
    token = connect(sandbox_client)
    container = create(sandbox_client, token, image_url=JPEG, caption="Just listed 🏡 #harborvine").json["id"]
    assert status(sandbox_client, token, container) == "FINISHED"
    media_id = publish(sandbox_client, token, container).json["id"]
    assert media_id != container
    assert status(sandbox_client, token, container) == "PUBLISHED"
    permalink = sandbox_client.get(f"{GRAPH}/{media_id}", query_string={"fields": "permalink",
                                                                       "access_token": token}).json["permalink"]
    assert permalink.startswith("https://www.instagram.com/p/") and media_id not in permalink
    posts = sandbox_client.get("/_sandbox/posts?platform=instagram").json
    assert [(p["platform_post_id"], p["text"]) for p in posts] == [(media_id, "Just listed 🏡 #harborvine")]


def test_a_published_container_cannot_be_published_again(sandbox_client: FlaskClient) -> None:
    token = connect(sandbox_client)
    container = create(sandbox_client, token, image_url=JPEG, caption="Once").json["id"]
    publish(sandbox_client, token, container)
    assert error(publish(sandbox_client, token, container))["code"] == 100
    assert len(sandbox_client.get("/_sandbox/posts").json) == 1


@pytest.mark.parametrize("fields, expected", [
    ({"caption": "Text only"}, "image_url is required"),
    ({"image_url": "https://cdn.harborvine.example/front.png", "caption": "x"}, "2207005"),
    ({"image_url": JPEG, "caption": "x" * 2201}, "2207010"),
    ({"image_url": JPEG, "caption": " ".join(f"#tag{i}" for i in range(31))}, "2207010"),
    ({"media_type": "VIDEO", "video_url": MP4, "caption": "x"}, "REELS"),
])
def test_text_only_non_jpeg_overlong_captions_and_single_videos_are_refused(
    sandbox_client: FlaskClient, fields: dict[str, str], expected: str
) -> None:
    body = error(create(sandbox_client, connect(sandbox_client), **fields))
    assert expected in f"{body['message']} {body.get('error_subcode')}"


def test_a_reel_must_finish_processing_before_it_can_be_published(sandbox_client: FlaskClient) -> None:
    token = connect(sandbox_client)
    container = create(sandbox_client, token, media_type="REELS", video_url=MP4, caption="Tour").json["id"]
    assert status(sandbox_client, token, container) == "IN_PROGRESS"
    assert error(publish(sandbox_client, token, container))["error_subcode"] == 2207027
    advance(sandbox_client, 6)
    assert status(sandbox_client, token, container) == "FINISHED"
    assert publish(sandbox_client, token, container).status_code == 200


def test_an_unpublished_container_expires_after_a_day(sandbox_client: FlaskClient) -> None:
    token = connect(sandbox_client)
    container = create(sandbox_client, token, image_url=JPEG, caption="Late").json["id"]
    advance(sandbox_client, 24 * 3600 + 1)
    # The 60-day user token is still valid; the container is not.
    assert status(sandbox_client, token, container) == "EXPIRED"
    assert error(publish(sandbox_client, token, container))["error_subcode"] == 2207020


def test_a_carousel_needs_two_to_ten_finished_captionless_children(sandbox_client: FlaskClient) -> None:
    token = connect(sandbox_client)
    image = create(sandbox_client, token, image_url=JPEG, is_carousel_item="true").json["id"]
    video = create(sandbox_client, token, media_type="VIDEO", video_url=MP4, is_carousel_item="true").json["id"]
    assert error(create(sandbox_client, token, image_url=JPEG, is_carousel_item="true", caption="no"))["code"] == 100
    assert error(create(sandbox_client, token, media_type="CAROUSEL", children=image))["code"] == 100
    not_ready = create(sandbox_client, token, media_type="CAROUSEL", children=f"{image},{video}", caption="Both")
    assert error(not_ready)["error_subcode"] == 2207027
    advance(sandbox_client, 6)
    parent = create(sandbox_client, token, media_type="CAROUSEL", children=f"{image},{video}", caption="Both")
    assert publish(sandbox_client, token, parent.json["id"]).status_code == 200
    assert error(publish(sandbox_client, token, image))["code"] == 100  # a child alone is never a post


def test_publishing_needs_the_content_publish_permission(sandbox_client: FlaskClient) -> None:
    token = connect(sandbox_client, scopes="instagram_basic,pages_show_list")
    assert error(create(sandbox_client, token, image_url=JPEG, caption="x"))["code"] == 10


def test_media_insights_use_the_current_metric_names(sandbox_client: FlaskClient) -> None:
    token = connect(sandbox_client)
    container = create(sandbox_client, token, image_url=JPEG, caption="Metrics").json["id"]
    media_id = publish(sandbox_client, token, container).json["id"]
    advance(sandbox_client, 30 * 3600)
    data = sandbox_client.get(f"{GRAPH}/{media_id}/insights", query_string={
        "metric": "views,reach,likes,saved,total_interactions", "access_token": token}).json["data"]
    values = {m["name"]: m["values"][0]["value"] for m in data}
    assert values["views"] > 0 and values["total_interactions"] >= values["likes"]
    deprecated = sandbox_client.get(f"{GRAPH}/{media_id}/insights", query_string={
        "metric": "impressions", "access_token": token})
    assert "no longer supported" in error(deprecated)["message"]


def test_round_trip_with_the_real_adapter(sandbox_server: RunningServer) -> None:
    provider = InstagramProvider(ClientCredentials(CLIENT_ID, SECRET), HttpClient(sandbox_url=sandbox_server.url))
    url = provider.authorization_url(redirect_uri=REDIRECT, state="ig-trip")
    assert "Allow" in requests.get(url, timeout=5).text
    location = requests.post(url, data={"decision": "allow"}, allow_redirects=False, timeout=5).headers["Location"]
    code = parse_qs(urlsplit(location).query)["code"][0]

    tokens = provider.exchange_code(code=code, redirect_uri=REDIRECT)
    assert "instagram_content_publish" in tokens.scopes
    profile = provider.fetch_profile(tokens)
    targets = provider.list_targets(tokens, profile)
    assert [(t.id, t.handle) for t in targets] == [(IG_ID, "harborvine.realty")]
    account_tokens, account_profile = provider.apply_target(tokens, targets[0])
    assert account_profile.metadata["page_id"] == "104321987654321"

    account = Account(access_token=account_tokens.access_token, platform_account_id=account_profile.platform_account_id,
                      handle=account_profile.handle)
    photo = provider.publish(account, OutboundPost(text="Just listed 🏡", media=(
        MediaItem(url=JPEG, kind="image", mime_type="image/jpeg"),)))
    assert photo.state == "published" and photo.permalink and photo.permalink.startswith("https://www.instagram.com/p/")

    carousel = provider.publish(account, OutboundPost(text="Inside and out", media=(
        MediaItem(url=JPEG, kind="image"), MediaItem(url=MP4, kind="video"))))
    assert carousel.state == "processing"
    requests.post(sandbox_server.url + "/_sandbox/clock", json={"advance_seconds": 6}, timeout=5)
    result = carousel
    for _ in range(3):
        result = provider.check_publish(account, result.poll or {})
        if result.state == "published":
            break
    assert result.state == "published"

    posts = requests.get(sandbox_server.url + "/_sandbox/posts?platform=instagram", timeout=5).json()
    assert [p["platform_post_id"] for p in posts] == [photo.platform_post_id, result.platform_post_id]
    assert len(posts[1]["media"]) == 2

    fresh = provider.refresh(account_tokens)
    assert fresh.access_token != account_tokens.access_token and provider.can_refresh(fresh)


def test_a_lost_media_publish_answer_is_resolved_without_publishing_twice(sandbox_server: RunningServer) -> None:
    """The sandbox stores the post, then hangs past the client's timeout; the container status tells the truth."""
    provider = InstagramProvider(ClientCredentials(CLIENT_ID, SECRET),
                                 HttpClient(sandbox_url=sandbox_server.url, read_timeout=0.5))
    url = provider.authorization_url(redirect_uri=REDIRECT, state="s")
    location = requests.post(url, data={"decision": "allow"}, allow_redirects=False, timeout=5).headers["Location"]
    tokens = provider.exchange_code(code=parse_qs(urlsplit(location).query)["code"][0], redirect_uri=REDIRECT)
    account = Account(access_token=tokens.access_token, platform_account_id=IG_ID)
    requests.post(sandbox_server.url + "/_sandbox/faults", json={
        "kind": "timeout_after_create", "endpoint": "*/media_publish", "count": 1}, timeout=5)

    first = provider.publish(account, OutboundPost(text="Lost answer", media=(MediaItem(url=JPEG, kind="image"),)))
    assert first.state == "processing"
    second = provider.check_publish(account, first.poll or {})

    posts = requests.get(sandbox_server.url + "/_sandbox/posts?platform=instagram", timeout=5).json()
    assert len(posts) == 1
    assert second.state == "published" and second.platform_post_id == posts[0]["platform_post_id"]
