"""The Instagram adapter (Facebook Login variant): targets behind Pages and the container flow (doc §1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from responses import matchers

from stella.providers._meta import GRAPH_URL
from stella.providers.base import Account, ClientCredentials, MediaItem, OutboundPost, Profile, TokenSet
from stella.providers.errors import AuthExpiredError, RateLimitedError, RejectedError, TransientError
from stella.providers.http import HttpClient
from stella.providers.instagram import InstagramProvider

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
LONG = "EAAGm0PX4ZCpsBALongLivedUserToken456789"
IG_ID = "17841405822304914"
PAGE_ID = "104321987654321"
ACCOUNT = Account(access_token=LONG, platform_account_id=IG_ID, handle="harborvine.realty")
IMAGE = MediaItem(url="https://cdn.harborvine.example/front.jpg", kind="image", mime_type="image/jpeg")
VIDEO = MediaItem(url="https://cdn.harborvine.example/tour.mp4", kind="video", mime_type="video/mp4")


@pytest.fixture()
def provider() -> InstagramProvider:
    return InstagramProvider(ClientCredentials("cid", "csecret"), HttpClient(), clock=lambda: NOW)


def form(call: responses.Call) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(str(call.request.body)).items()}


def status(container_id: str, code: str, detail: str | None = None) -> None:
    body = {"id": container_id, "status_code": code}
    if detail:
        body["status"] = detail
    responses.get(f"{GRAPH_URL}/{container_id}", match=[matchers.query_param_matcher(
        {"fields": "id,status_code,status", "access_token": LONG})], json=body)


def published(media_id: str = "17920238422030506", container_id: str = "17889455560051444") -> None:
    responses.post(f"{GRAPH_URL}/{IG_ID}/media_publish", match=[
        matchers.query_param_matcher({"access_token": LONG}),
        matchers.urlencoded_params_matcher({"creation_id": container_id})], json={"id": media_id})
    responses.get(f"{GRAPH_URL}/{media_id}", match=[matchers.query_param_matcher(
        {"fields": "permalink", "access_token": LONG})],
        json={"permalink": "https://www.instagram.com/p/DA1bCdEfGhI/", "id": media_id})


# -- authorization and targets ---------------------------------------------------------------------------


def test_authorization_url_uses_facebook_login_with_the_instagram_scopes(provider: InstagramProvider) -> None:
    url = provider.authorization_url(redirect_uri="https://s/connections/instagram/callback", state="s1")
    parts = urlsplit(url)
    params = parse_qs(parts.query)
    assert f"{parts.netloc}{parts.path}" == "www.facebook.com/v23.0/dialog/oauth"
    assert params["scope"] == [
        "instagram_basic,instagram_content_publish,pages_show_list,pages_read_engagement,instagram_manage_insights"]
    assert params["client_id"] == ["cid"] and params["state"] == ["s1"]


def test_a_login_config_id_replaces_the_instagram_scopes_in_the_dialog_url() -> None:
    provider = InstagramProvider(ClientCredentials("cid", "csecret"), HttpClient(), clock=lambda: NOW,
                                 options={"login_config_id": "2203948576102938"})
    url = provider.authorization_url(redirect_uri="https://s/connections/instagram/callback", state="s1")
    parts = urlsplit(url)
    params = parse_qs(parts.query)
    assert f"{parts.netloc}{parts.path}" == "www.facebook.com/v23.0/dialog/oauth"
    assert params["config_id"] == ["2203948576102938"] and "scope" not in params
    assert params["client_id"] == ["cid"] and params["state"] == ["s1"]
    assert provider.requested_scopes == ("instagram_basic", "instagram_content_publish", "pages_show_list")


@responses.activate
def test_exchange_code_requires_the_content_publish_permission(provider: InstagramProvider) -> None:
    token_url = f"{GRAPH_URL}/oauth/access_token"
    responses.get(token_url, json={"access_token": "EAAshort1234", "token_type": "bearer", "expires_in": 3600})
    responses.get(token_url, json={"access_token": LONG, "token_type": "bearer", "expires_in": 5183944})
    responses.get(f"{GRAPH_URL}/me/permissions", json={"data": [
        {"permission": "instagram_basic", "status": "granted"},
        {"permission": "pages_show_list", "status": "granted"},
        {"permission": "instagram_content_publish", "status": "declined"}]})
    with pytest.raises(RejectedError, match="instagram_content_publish"):
        provider.exchange_code(code="AQDc0de", redirect_uri="https://s/cb")


@responses.activate
def test_list_targets_returns_the_instagram_accounts_linked_to_the_users_pages(provider: InstagramProvider) -> None:
    responses.get(f"{GRAPH_URL}/me/accounts", match=[matchers.query_param_matcher(
        {"fields": "id,name,instagram_business_account", "limit": "100", "access_token": LONG})], json={"data": [
        {"id": PAGE_ID, "name": "Harbor & Vine Realty", "instagram_business_account": {"id": IG_ID}},
        {"id": "105000000000002", "name": "Harbor & Vine Rentals"}]})
    responses.get(f"{GRAPH_URL}/{IG_ID}", match=[matchers.query_param_matcher(
        {"fields": "id,username,name,profile_picture_url", "access_token": LONG})], json={
        "id": IG_ID, "username": "harborvine.realty", "name": "Harbor & Vine Realty",
        "profile_picture_url": "https://scontent.cdninstagram.com/v/t51/hv.jpg"})

    targets = provider.list_targets(TokenSet(access_token=LONG), Profile("10229876543210", None, "Maya"))

    assert len(targets) == 1
    target = targets[0]
    assert (target.id, target.kind, target.handle) == (IG_ID, "instagram_account", "harborvine.realty")
    assert target.metadata["page_id"] == PAGE_ID and target.metadata["ig_user_id"] == IG_ID

    tokens, profile = provider.apply_target(TokenSet(access_token=LONG), target)
    assert tokens.access_token == LONG  # Instagram publishes with the user token
    assert profile.platform_account_id == IG_ID and profile.handle == "harborvine.realty"
    assert profile.metadata["page_id"] == PAGE_ID


@responses.activate
def test_list_targets_without_a_linked_instagram_account_says_how_to_link_one(provider: InstagramProvider) -> None:
    responses.get(f"{GRAPH_URL}/me/accounts", json={"data": [{"id": PAGE_ID, "name": "Harbor & Vine Realty"}]})
    with pytest.raises(RejectedError, match="Link the Instagram account"):
        provider.list_targets(TokenSet(access_token=LONG), Profile("1", None, "Maya"))


@responses.activate
def test_refresh_reexchanges_the_long_lived_user_token(provider: InstagramProvider) -> None:
    responses.get(f"{GRAPH_URL}/oauth/access_token", match=[matchers.query_param_matcher(
        {"grant_type": "fb_exchange_token", "client_id": "cid", "client_secret": "csecret",
         "fb_exchange_token": LONG})],
        json={"access_token": "EAAGrenewed", "token_type": "bearer", "expires_in": 5183944})
    fresh = provider.refresh(TokenSet(access_token=LONG, expires_at=NOW + timedelta(days=2)))
    assert fresh.access_token == "EAAGrenewed" and fresh.expires_at == NOW + timedelta(seconds=5183944)


# -- publishing ----------------------------------------------------------------------------------------------


def test_publish_without_media_is_refused_before_any_call(provider: InstagramProvider) -> None:
    with pytest.raises(RejectedError, match="photo or video"):
        provider.publish(ACCOUNT, OutboundPost(text="Text only"))


@responses.activate
def test_publish_single_image_creates_a_container_then_publishes_it_and_reads_the_permalink(
    provider: InstagramProvider,
) -> None:
    responses.post(f"{GRAPH_URL}/{IG_ID}/media", match=[
        matchers.query_param_matcher({"access_token": LONG}),
        matchers.urlencoded_params_matcher({"image_url": IMAGE.url, "caption": "Just listed 🏡", "alt_text": "Front"})],
        json={"id": "17889455560051444"})
    status("17889455560051444", "FINISHED")
    published()

    result = provider.publish(ACCOUNT, OutboundPost(text="Just listed 🏡", media=(
        MediaItem(url=IMAGE.url, kind="image", alt_text="Front"),)))

    assert result.state == "published"
    assert result.platform_post_id == "17920238422030506"  # the media id, not the container id
    assert result.permalink == "https://www.instagram.com/p/DA1bCdEfGhI/"


@responses.activate
def test_a_video_becomes_a_reel_and_is_published_once_the_container_has_finished(provider: InstagramProvider) -> None:
    responses.post(f"{GRAPH_URL}/{IG_ID}/media", match=[matchers.urlencoded_params_matcher(
        {"media_type": "REELS", "video_url": VIDEO.url, "share_to_feed": "true", "caption": "Tour"})],
        json={"id": "17889455560051444"})
    status("17889455560051444", "IN_PROGRESS")

    first = provider.publish(ACCOUNT, OutboundPost(text="Tour", media=(VIDEO,)))
    assert first.state == "processing"
    assert first.poll == {"stage": "container", "container_id": "17889455560051444", "caption": "Tour"}
    assert not any(call.request.url.endswith("media_publish") for call in responses.calls)

    responses.replace(responses.GET, f"{GRAPH_URL}/17889455560051444", json={"id": "17889455560051444",
                                                                             "status_code": "FINISHED"})
    published()
    done = provider.check_publish(ACCOUNT, first.poll or {})
    assert done.state == "published" and done.platform_post_id == "17920238422030506"


@responses.activate
def test_a_carousel_creates_captionless_children_then_the_parent_once_they_are_ready(
    provider: InstagramProvider,
) -> None:
    responses.post(f"{GRAPH_URL}/{IG_ID}/media", match=[matchers.urlencoded_params_matcher(
        {"is_carousel_item": "true", "image_url": IMAGE.url})], json={"id": "c1"})
    responses.post(f"{GRAPH_URL}/{IG_ID}/media", match=[matchers.urlencoded_params_matcher(
        {"is_carousel_item": "true", "media_type": "VIDEO", "video_url": VIDEO.url})], json={"id": "c2"})
    responses.post(f"{GRAPH_URL}/{IG_ID}/media", match=[matchers.urlencoded_params_matcher(
        {"media_type": "CAROUSEL", "children": "c1,c2", "caption": "Photos and a tour"})],
        json={"id": "17889455560051444"})
    status("c1", "FINISHED")
    status("c2", "FINISHED")
    status("17889455560051444", "FINISHED")
    published()

    result = provider.publish(ACCOUNT, OutboundPost(text="Photos and a tour", media=(IMAGE, VIDEO)))

    assert result.state == "published" and result.platform_post_id == "17920238422030506"
    creates = [form(c) for c in responses.calls
               if c.request.method == "POST" and str(c.request.url).split("?")[0].endswith("/media")]
    assert [c.get("caption") for c in creates] == [None, None, "Photos and a tour"]


@responses.activate
def test_a_carousel_waits_while_a_child_is_still_processing(provider: InstagramProvider) -> None:
    status("c1", "FINISHED")
    status("c2", "IN_PROGRESS")
    poll = {"stage": "children", "children": ["c1", "c2"], "caption": "x"}
    result = provider.check_publish(ACCOUNT, poll)
    assert result.state == "processing" and result.poll == poll
    assert all(call.request.method == "GET" for call in responses.calls)


@responses.activate
def test_a_container_already_published_is_not_published_again(provider: InstagramProvider) -> None:
    status("17889455560051444", "PUBLISHED")
    responses.get(f"{GRAPH_URL}/{IG_ID}/media", match=[matchers.query_param_matcher(
        {"fields": "id,caption,permalink", "limit": "25", "access_token": LONG})], json={"data": [
        {"id": "1791", "caption": "Another post", "permalink": "https://www.instagram.com/p/X1/"},
        {"id": "1790", "caption": "Tour", "permalink": "https://www.instagram.com/p/X0/"}]})
    result = provider.check_publish(ACCOUNT, {"stage": "container", "container_id": "17889455560051444",
                                              "caption": "Tour"})
    assert result.state == "published" and result.platform_post_id == "1790"
    assert result.permalink == "https://www.instagram.com/p/X0/"
    assert not any(call.request.method == "POST" for call in responses.calls)


@responses.activate
def test_a_lost_media_publish_answer_leaves_the_post_processing_instead_of_failing(provider: InstagramProvider) -> None:
    responses.post(f"{GRAPH_URL}/{IG_ID}/media", json={"id": "17889455560051444"})
    status("17889455560051444", "FINISHED")
    responses.post(f"{GRAPH_URL}/{IG_ID}/media_publish", body=requests.exceptions.ReadTimeout("read timed out"))
    result = provider.publish(ACCOUNT, OutboundPost(text="Tour", media=(IMAGE,)))
    # check_publish will find the container PUBLISHED (or FINISHED) and act on that, never a second container.
    assert result.state == "processing" and result.poll and result.poll["container_id"] == "17889455560051444"


@responses.activate
def test_a_container_in_error_is_rejected_with_the_status_instagram_gave(provider: InstagramProvider) -> None:
    status("17889455560051444", "ERROR", "Error: 2207026")
    with pytest.raises(RejectedError, match="2207026"):
        provider.check_publish(ACCOUNT, {"stage": "container", "container_id": "17889455560051444", "caption": ""})


@responses.activate
def test_an_expired_container_is_rejected(provider: InstagramProvider) -> None:
    status("17889455560051444", "EXPIRED")
    with pytest.raises(RejectedError, match="24 hours"):
        provider.check_publish(ACCOUNT, {"stage": "container", "container_id": "17889455560051444", "caption": ""})


# -- errors ----------------------------------------------------------------------------------------------


@responses.activate
def test_the_daily_publishing_limit_is_rate_limited(provider: InstagramProvider) -> None:
    responses.post(f"{GRAPH_URL}/{IG_ID}/media", status=400, json={"error": {
        "message": "Application request limit reached", "type": "OAuthException", "code": 9, "error_subcode": 2207042,
        "is_transient": False, "error_user_title": "Reached maximum posts",
        "error_user_msg": "You have reached the maximum number of posts that can be published in 24 hours.",
        "fbtrace_id": "AaBb"}})
    with pytest.raises(RateLimitedError, match="maximum number of posts"):
        provider.publish(ACCOUNT, OutboundPost(text="x", media=(IMAGE,)))


@responses.activate
def test_a_retryable_upload_failure_is_transient(provider: InstagramProvider) -> None:
    responses.post(f"{GRAPH_URL}/{IG_ID}/media", status=400, json={"error": {
        "message": "The media could not be uploaded. Please try again.", "type": "OAuthException", "code": -2,
        "error_subcode": 2207082, "fbtrace_id": "Cc"}})
    with pytest.raises(TransientError):
        provider.publish(ACCOUNT, OutboundPost(text="x", media=(IMAGE,)))


@responses.activate
def test_a_bad_image_format_is_rejected_with_instagrams_message(provider: InstagramProvider) -> None:
    responses.post(f"{GRAPH_URL}/{IG_ID}/media", status=400, json={"error": {
        "message": "Invalid parameter", "type": "OAuthException", "code": 100, "error_subcode": 2207009,
        "error_user_title": "Aspect ratio not supported",
        "error_user_msg": "The submitted image with aspect ratio ('3/1') cannot be published.", "fbtrace_id": "Dd"}})
    with pytest.raises(RejectedError) as caught:
        provider.publish(ACCOUNT, OutboundPost(text="x", media=(IMAGE,)))
    assert "aspect ratio" in caught.value.message and caught.value.code == "100:2207009"


@responses.activate
def test_an_invalid_token_is_auth_expired_without_the_token_in_the_message(provider: InstagramProvider) -> None:
    responses.post(f"{GRAPH_URL}/{IG_ID}/media", status=400, json={"error": {
        "message": f"Malformed access token {LONG}", "type": "OAuthException", "code": 190, "fbtrace_id": "Ee"}})
    with pytest.raises(AuthExpiredError) as caught:
        provider.publish(ACCOUNT, OutboundPost(text="x", media=(IMAGE,)))
    assert LONG not in str(caught.value)
    assert "[redacted]" in str(caught.value)


@responses.activate
def test_publish_refuses_a_text_only_post_before_sending_anything(provider: InstagramProvider) -> None:
    with pytest.raises(RejectedError, match="Instagram needs at least one photo or video"):
        provider.publish(ACCOUNT, OutboundPost(text="Just words"))
    assert len(responses.calls) == 0


@responses.activate
def test_publish_refuses_more_than_ten_carousel_items_before_sending_anything(provider: InstagramProvider) -> None:
    with pytest.raises(RejectedError, match="Instagram takes at most 10 items"):
        provider.publish(ACCOUNT, OutboundPost(text="Eleven", media=(IMAGE,) * 11))
    assert len(responses.calls) == 0
