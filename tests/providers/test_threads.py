"""The Threads adapter: token exchange and GET refresh, container publishing, Graph errors (doc §3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from responses import matchers

from stella.providers.base import Account, ClientCredentials, MediaItem, OutboundPost, TokenSet
from stella.providers.errors import AuthExpiredError, RateLimitedError, RejectedError
from stella.providers.http import HttpClient
from stella.providers.threads import ThreadsProvider

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
API = "https://graph.threads.net/v1.0"
SHORT = "THQWJYbWdFbTJfShortLived0123456789"
LONG = "THQWJYbWdFbTJfLongLived9876543210"
USER_ID = "25811234567890123"
ACCOUNT = Account(access_token=LONG, platform_account_id=USER_ID, handle="harborvine.realty")
IMAGE = MediaItem(url="https://cdn.harborvine.example/front.jpg", kind="image", mime_type="image/jpeg")


@pytest.fixture()
def provider() -> ThreadsProvider:
    return ThreadsProvider(ClientCredentials("threads-app-id", "threads-secret"), HttpClient(), clock=lambda: NOW)


def form(call: responses.Call) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(str(call.request.body)).items()}


def container_status(container_id: str, value: str, error_message: str | None = None) -> None:
    body = {"id": container_id, "status": value}
    if error_message:
        body["error_message"] = error_message
    responses.get(f"{API}/{container_id}", match=[matchers.query_param_matcher(
        {"fields": "id,status,error_message", "access_token": LONG})], json=body)


def publish_and_permalink(container_id: str, media_id: str = "18050123456789012") -> None:
    responses.post(f"{API}/{USER_ID}/threads_publish", match=[
        matchers.query_param_matcher({"access_token": LONG}),
        matchers.urlencoded_params_matcher({"creation_id": container_id})], json={"id": media_id})
    responses.get(f"{API}/{media_id}", match=[matchers.query_param_matcher(
        {"fields": "permalink", "access_token": LONG})],
        json={"permalink": "https://www.threads.net/@harborvine.realty/post/DFx1yZaBcDe", "id": media_id})


# -- authorization -----------------------------------------------------------------------------------------


def test_authorization_url_is_threads_own_dialog_with_comma_scopes(provider: ThreadsProvider) -> None:
    url = provider.authorization_url(redirect_uri="https://s/connections/threads/callback", state="s1")
    parts = urlsplit(url)
    params = parse_qs(parts.query)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://threads.com/oauth/authorize"
    assert params["client_id"] == ["threads-app-id"]
    assert params["scope"] == ["threads_basic,threads_content_publish,threads_manage_insights"]
    assert params["response_type"] == ["code"] and params["state"] == ["s1"]


@responses.activate
def test_exchange_code_posts_the_form_then_swaps_for_a_long_lived_token(provider: ThreadsProvider) -> None:
    responses.post("https://graph.threads.net/oauth/access_token", match=[matchers.urlencoded_params_matcher({
        "grant_type": "authorization_code", "code": "AQBc0de", "redirect_uri": "https://s/cb",
        "client_id": "threads-app-id", "client_secret": "threads-secret"})],
        json={"access_token": SHORT, "user_id": int(USER_ID)})
    responses.get("https://graph.threads.net/access_token", match=[matchers.query_param_matcher({
        "grant_type": "th_exchange_token", "client_secret": "threads-secret", "access_token": SHORT})],
        json={"access_token": LONG, "token_type": "bearer", "expires_in": 5183944})

    tokens = provider.exchange_code(code="AQBc0de#_", redirect_uri="https://s/cb")

    assert "Authorization" not in responses.calls[0].request.headers  # body auth, never Basic
    assert tokens.access_token == LONG and tokens.refresh_token is None
    assert tokens.expires_at == NOW + timedelta(seconds=5183944)
    assert tokens.extra["user_id"] == USER_ID


@responses.activate
def test_a_bad_code_at_the_token_endpoint_means_reconnect(provider: ThreadsProvider) -> None:
    responses.post("https://graph.threads.net/oauth/access_token", status=400, json={"error": {
        "message": "Error validating verification code. Please make sure your redirect_uri is identical to the one "
                   "you used in the OAuth dialog request", "type": "OAuthException", "code": 100,
        "error_subcode": 36008, "fbtrace_id": "Aa"}})
    with pytest.raises(AuthExpiredError) as caught:
        provider.exchange_code(code="AQBsecretcode", redirect_uri="https://s/cb")
    assert "redirect_uri" in caught.value.message
    assert "AQBsecretcode" not in str(caught.value) and "threads-secret" not in str(caught.value)


@responses.activate
def test_a_flat_instagram_style_token_error_is_read_too(provider: ThreadsProvider) -> None:
    responses.post("https://graph.threads.net/oauth/access_token", status=400, json={
        "error_type": "OAuthException", "code": 400, "error_message": "Invalid platform app"})
    with pytest.raises(RejectedError, match="Invalid platform app"):
        provider.exchange_code(code="AQB", redirect_uri="https://s/cb")


@responses.activate
def test_refresh_is_a_get_with_the_token_itself_and_no_client_secret(provider: ThreadsProvider) -> None:
    responses.get("https://graph.threads.net/refresh_access_token", match=[matchers.query_param_matcher(
        {"grant_type": "th_refresh_token", "access_token": LONG})],
        json={"access_token": "THQrefreshed", "token_type": "bearer", "expires_in": 5183944})
    old = TokenSet(access_token=LONG, expires_at=NOW + timedelta(days=5), extra={"user_id": USER_ID})
    assert provider.can_refresh(old)
    fresh = provider.refresh(old)
    assert fresh.access_token == "THQrefreshed" and fresh.expires_at == NOW + timedelta(seconds=5183944)
    assert fresh.extra["user_id"] == USER_ID


@responses.activate
def test_a_token_younger_than_a_day_is_kept_rather_than_refreshed(provider: ThreadsProvider) -> None:
    young = TokenSet(access_token=LONG, expires_at=NOW + timedelta(days=59, hours=12))
    assert provider.refresh(young) is young
    assert len(responses.calls) == 0


def test_an_expired_token_cannot_be_refreshed(provider: ThreadsProvider) -> None:
    expired = TokenSet(access_token=LONG, expires_at=NOW - timedelta(seconds=1))
    assert not provider.can_refresh(expired)
    with pytest.raises(AuthExpiredError):
        provider.refresh(expired)


@responses.activate
def test_fetch_profile_reads_the_threads_user(provider: ThreadsProvider) -> None:
    responses.get(f"{API}/me", match=[matchers.query_param_matcher(
        {"fields": "id,username,name,threads_profile_picture_url", "access_token": LONG})], json={
        "id": USER_ID, "username": "harborvine.realty", "name": "Harbor & Vine Realty",
        "threads_profile_picture_url": "https://scontent.cdninstagram.com/t51/hv.jpg"})
    profile = provider.fetch_profile(TokenSet(access_token=LONG))
    assert profile.platform_account_id == USER_ID and profile.handle == "harborvine.realty"
    assert profile.avatar_url == "https://scontent.cdninstagram.com/t51/hv.jpg"
    assert profile.metadata["profile_url"] == "https://www.threads.net/@harborvine.realty"


# -- publishing --------------------------------------------------------------------------------------------


@responses.activate
def test_publish_text_creates_a_text_container_and_publishes_it(provider: ThreadsProvider) -> None:
    responses.post(f"{API}/{USER_ID}/threads", match=[
        matchers.query_param_matcher({"access_token": LONG}),
        matchers.urlencoded_params_matcher({"media_type": "TEXT", "text": "Open house Sunday 1-3pm"})],
        json={"id": "17890000000000001"})
    container_status("17890000000000001", "FINISHED")
    publish_and_permalink("17890000000000001")

    result = provider.publish(ACCOUNT, OutboundPost(text="Open house Sunday 1-3pm"))

    assert result.state == "published" and result.platform_post_id == "18050123456789012"
    assert result.permalink == "https://www.threads.net/@harborvine.realty/post/DFx1yZaBcDe"


@responses.activate
def test_publish_image_waits_while_the_container_is_in_progress(provider: ThreadsProvider) -> None:
    responses.post(f"{API}/{USER_ID}/threads", match=[matchers.urlencoded_params_matcher(
        {"media_type": "IMAGE", "image_url": IMAGE.url, "text": "Curb appeal"})], json={"id": "178900002"})
    container_status("178900002", "IN_PROGRESS")
    result = provider.publish(ACCOUNT, OutboundPost(text="Curb appeal", media=(IMAGE,)))
    assert result.state == "processing"
    assert result.poll == {"stage": "container", "container_id": "178900002", "caption": "Curb appeal"}


@responses.activate
def test_a_carousel_publishes_children_then_the_parent(provider: ThreadsProvider) -> None:
    second = MediaItem(url="https://cdn.harborvine.example/yard.png", kind="image", alt_text="Back yard")
    responses.post(f"{API}/{USER_ID}/threads", match=[matchers.urlencoded_params_matcher(
        {"is_carousel_item": "true", "media_type": "IMAGE", "image_url": IMAGE.url})], json={"id": "k1"})
    responses.post(f"{API}/{USER_ID}/threads", match=[matchers.urlencoded_params_matcher(
        {"is_carousel_item": "true", "media_type": "IMAGE", "image_url": second.url, "alt_text": "Back yard"})],
        json={"id": "k2"})
    responses.post(f"{API}/{USER_ID}/threads", match=[matchers.urlencoded_params_matcher(
        {"media_type": "CAROUSEL", "children": "k1,k2", "text": "Two views"})], json={"id": "parent1"})
    container_status("k1", "FINISHED")
    container_status("k2", "FINISHED")
    container_status("parent1", "FINISHED")
    publish_and_permalink("parent1")

    result = provider.publish(ACCOUNT, OutboundPost(text="Two views", media=(IMAGE, second)))
    assert result.state == "published"


@responses.activate
def test_a_published_container_is_matched_to_its_post_instead_of_publishing_twice(provider: ThreadsProvider) -> None:
    container_status("178900002", "PUBLISHED")
    responses.get(f"{API}/{USER_ID}/threads", match=[matchers.query_param_matcher(
        {"fields": "id,text,permalink", "limit": "25", "access_token": LONG})], json={"data": [
        {"id": "18050000000000009", "text": "Curb appeal", "permalink": "https://www.threads.net/@h/post/Ab"}],
        "paging": {"cursors": {"before": "x", "after": "y"}}})
    result = provider.check_publish(ACCOUNT, {"stage": "container", "container_id": "178900002",
                                              "caption": "Curb appeal"})
    assert result.state == "published" and result.platform_post_id == "18050000000000009"
    assert not any(call.request.method == "POST" for call in responses.calls)


@responses.activate
def test_a_container_error_is_rejected_with_the_error_message(provider: ThreadsProvider) -> None:
    container_status("178900003", "ERROR", "FAILED_DOWNLOADING_VIDEO")
    with pytest.raises(RejectedError, match="FAILED_DOWNLOADING_VIDEO"):
        provider.check_publish(ACCOUNT, {"stage": "container", "container_id": "178900003", "caption": ""})


@responses.activate
def test_text_over_the_limit_is_rejected_with_threads_message(provider: ThreadsProvider) -> None:
    responses.post(f"{API}/{USER_ID}/threads", status=400, json={"error": {
        "message": "Invalid parameter", "type": "OAuthException", "code": 100, "error_subcode": 4279009,
        "error_user_title": "Text is too long", "error_user_msg": "The text must be at most 500 characters long.",
        "fbtrace_id": "Af"}})
    with pytest.raises(RejectedError, match="at most 500 characters"):
        provider.publish(ACCOUNT, OutboundPost(text="x" * 501))


@responses.activate
def test_throttling_is_rate_limited_and_expired_tokens_are_auth_expired(provider: ThreadsProvider) -> None:
    responses.post(f"{API}/{USER_ID}/threads", status=400, json={"error": {
        "message": "(#4) Application request limit reached", "type": "OAuthException", "is_transient": True,
        "code": 4, "fbtrace_id": "Ag"}})
    with pytest.raises(RateLimitedError):
        provider.publish(ACCOUNT, OutboundPost(text="hi"))
    responses.replace(responses.POST, f"{API}/{USER_ID}/threads", status=400, json={"error": {
        "message": "Error validating access token: Session has expired.", "type": "OAuthException", "code": 190,
        "fbtrace_id": "Ah"}})
    with pytest.raises(AuthExpiredError) as caught:
        provider.publish(ACCOUNT, OutboundPost(text="hi"))
    assert LONG not in str(caught.value)


def test_rules_count_emoji_by_their_utf8_length() -> None:
    from stella.providers.rules import text_length

    rules = ThreadsProvider.rules
    assert rules.max_chars == 500 and rules.counting == "chars_emoji_utf8"
    assert text_length("🏡" * 2, rules.counting) == 8
    assert text_length("Café", rules.counting) == 4  # accents are one character, not two bytes


@responses.activate
def test_publish_refuses_more_than_twenty_carousel_items_before_sending_anything(provider: ThreadsProvider) -> None:
    with pytest.raises(RejectedError, match="Threads takes at most 20 items"):
        provider.publish(ACCOUNT, OutboundPost(text="Many", media=(IMAGE,) * 21))
    assert len(responses.calls) == 0
