"""The Facebook Pages adapter: the exact requests it sends and how it reads Graph API answers (doc §2, §1.5)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from responses import matchers

from stella.providers._meta import GRAPH_URL
from stella.providers.base import Account, ClientCredentials, MediaItem, OutboundPost, Profile, Target, TokenSet
from stella.providers.errors import AuthExpiredError, RateLimitedError, RejectedError, TransientError
from stella.providers.facebook import FacebookProvider
from stella.providers.http import HttpClient

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
TOKEN_URL = f"{GRAPH_URL}/oauth/access_token"
SHORT = "EAAGm0PX4ZCpsBAShortLivedUserToken0123"
LONG = "EAAGm0PX4ZCpsBALongLivedUserToken456789"
PAGE_TOKEN = "EAAGm0PX4ZCpsBAPageAccessTokenABCDEF"
PAGE_ID = "104321987654321"
USER_ID = "10229876543210"
PAGE_ACCOUNT = Account(access_token=PAGE_TOKEN, platform_account_id=PAGE_ID, handle="harborvinerealty")

# §1.5: the Graph error envelope.
EXPIRED_TOKEN = {"error": {
    "message": "Error validating access token: Session has expired on Monday, 02-Mar-26 06:00:00 PST. "
               "The current time is Monday, 02-Mar-26 07:00:00 PST.",
    "type": "OAuthException", "code": 190, "error_subcode": 463, "fbtrace_id": "AbCdEfGhIjK"}}
CODE_USED = {"error": {"message": "This authorization code has been used.", "type": "OAuthException",
                       "code": 100, "error_subcode": 36009, "fbtrace_id": "AzYxWvU"}}
BAD_SECRET = {"error": {"message": "Error validating client secret.", "type": "OAuthException", "code": 1,
                        "fbtrace_id": "AqRsTuV"}}
PERMISSIONS = {"data": [
    {"permission": "pages_show_list", "status": "granted"},
    {"permission": "pages_manage_posts", "status": "granted"},
    {"permission": "pages_read_engagement", "status": "granted"},
    {"permission": "read_insights", "status": "declined"},
    {"permission": "public_profile", "status": "granted"},
]}


@pytest.fixture()
def provider() -> FacebookProvider:
    return FacebookProvider(ClientCredentials("cid", "csecret"), HttpClient(), clock=lambda: NOW)


def provider_profile() -> Profile:
    return Profile(platform_account_id=USER_ID, handle=None, display_name="Maya Lindqvist")


# -- authorization -------------------------------------------------------------------------------------------


def test_authorization_url_is_the_facebook_dialog_with_comma_scopes_and_no_pkce(provider: FacebookProvider) -> None:
    url = provider.authorization_url(redirect_uri="https://stella.example/connections/facebook/callback",
                                     state="st4te", code_challenge="ignored")
    parts = urlsplit(url)
    params = parse_qs(parts.query)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://www.facebook.com/v23.0/dialog/oauth"
    assert params["client_id"] == ["cid"]
    assert params["response_type"] == ["code"]
    assert params["redirect_uri"] == ["https://stella.example/connections/facebook/callback"]
    assert params["scope"] == ["pages_show_list,pages_manage_posts,pages_read_engagement,read_insights,publish_video"]
    assert params["state"] == ["st4te"]
    assert params["auth_type"] == ["rerequest"]
    assert "code_challenge" not in params


# -- Facebook Login for Business configuration (STELLA_FACEBOOK_LOGIN_CONFIG_ID; platform-verification.md item 2) --

CONFIG_ID = "1093847561029384"


@pytest.fixture()
def flfb_provider() -> FacebookProvider:
    return FacebookProvider(ClientCredentials("cid", "csecret"), HttpClient(), clock=lambda: NOW,
                            options={"login_config_id": CONFIG_ID})


def test_a_login_config_id_replaces_the_scope_in_the_dialog_url(flfb_provider: FacebookProvider) -> None:
    url = flfb_provider.authorization_url(redirect_uri="https://stella.example/connections/facebook/callback",
                                          state="st4te", code_challenge="ignored")
    parts = urlsplit(url)
    params = parse_qs(parts.query)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://www.facebook.com/v23.0/dialog/oauth"
    assert params["config_id"] == [CONFIG_ID]
    assert "scope" not in params  # the configuration holds the permissions
    assert params["client_id"] == ["cid"] and params["response_type"] == ["code"] and params["state"] == ["st4te"]
    assert params["redirect_uri"] == ["https://stella.example/connections/facebook/callback"]
    assert "code_challenge" not in params


def test_without_a_login_config_id_no_config_id_is_sent(provider: FacebookProvider) -> None:
    assert "config_id" not in parse_qs(urlsplit(provider.authorization_url(redirect_uri="https://s/cb",
                                                                           state="s")).query)


def test_with_a_configuration_only_the_publishing_permissions_are_checked(flfb_provider: FacebookProvider) -> None:
    # Metrics permissions the configuration may leave out must not fail the connection.
    assert flfb_provider.requested_scopes == ("pages_manage_posts", "pages_show_list")


@responses.activate
def test_a_configuration_lacking_a_publishing_permission_says_to_fix_the_configuration(
    flfb_provider: FacebookProvider,
) -> None:
    responses.get(TOKEN_URL, json={"access_token": SHORT, "token_type": "bearer", "expires_in": 5400})
    responses.get(TOKEN_URL, json={"access_token": LONG, "token_type": "bearer", "expires_in": 5183944})
    responses.get(f"{GRAPH_URL}/me/permissions", json={"data": [
        {"permission": "pages_show_list", "status": "granted"},
        {"permission": "public_profile", "status": "granted"}]})
    with pytest.raises(RejectedError) as caught:
        flfb_provider.exchange_code(code="AQDc0de", redirect_uri="https://s/cb")
    assert "pages_manage_posts" in caught.value.message
    assert "STELLA_FACEBOOK_LOGIN_CONFIG_ID" in caught.value.message and LONG not in caught.value.message


@responses.activate
def test_exchange_code_gets_a_short_token_then_the_long_lived_one_with_the_secret_in_the_query(
    provider: FacebookProvider,
) -> None:
    responses.get(TOKEN_URL, match=[matchers.query_param_matcher(
        {"client_id": "cid", "client_secret": "csecret", "redirect_uri": "https://s/cb", "code": "AQDc0de"})],
        json={"access_token": SHORT, "token_type": "bearer", "expires_in": 5400})
    responses.get(TOKEN_URL, match=[matchers.query_param_matcher(
        {"grant_type": "fb_exchange_token", "client_id": "cid", "client_secret": "csecret",
         "fb_exchange_token": SHORT})],
        json={"access_token": LONG, "token_type": "bearer", "expires_in": 5183944})
    responses.get(f"{GRAPH_URL}/me/permissions", match=[matchers.query_param_matcher({"access_token": LONG})],
                  json=PERMISSIONS)

    tokens = provider.exchange_code(code="AQDc0de#_", redirect_uri="https://s/cb")

    assert len(responses.calls) == 3
    assert all("Authorization" not in call.request.headers for call in responses.calls)  # never HTTP Basic
    assert tokens.access_token == LONG
    assert tokens.refresh_token is None
    assert tokens.expires_at == NOW + timedelta(seconds=5183944)
    assert tokens.scopes == {"pages_show_list", "pages_manage_posts", "pages_read_engagement", "public_profile"}


@responses.activate
def test_exchange_code_refuses_when_the_user_unticked_a_publishing_permission(provider: FacebookProvider) -> None:
    responses.get(TOKEN_URL, json={"access_token": SHORT, "token_type": "bearer", "expires_in": 5400})
    responses.get(TOKEN_URL, json={"access_token": LONG, "token_type": "bearer", "expires_in": 5183944})
    responses.get(f"{GRAPH_URL}/me/permissions", json={"data": [
        {"permission": "pages_show_list", "status": "granted"},
        {"permission": "pages_manage_posts", "status": "declined"}]})
    with pytest.raises(RejectedError) as caught:
        provider.exchange_code(code="AQDc0de", redirect_uri="https://s/cb")
    assert "pages_manage_posts" in caught.value.message
    assert LONG not in caught.value.message


@responses.activate
def test_a_used_authorization_code_means_connect_again_and_the_code_is_not_echoed(provider: FacebookProvider) -> None:
    responses.get(TOKEN_URL, status=400, json=CODE_USED)
    with pytest.raises(AuthExpiredError) as caught:
        provider.exchange_code(code="AQDsecretc0de", redirect_uri="https://s/cb")
    assert "has been used" in caught.value.message
    assert caught.value.code == "100:36009"
    assert "AQDsecretc0de" not in str(caught.value) and "csecret" not in str(caught.value)


@responses.activate
def test_a_wrong_client_secret_is_a_rejection_naming_the_app_credentials(provider: FacebookProvider) -> None:
    responses.get(TOKEN_URL, status=400, json=BAD_SECRET)
    with pytest.raises(RejectedError) as caught:
        provider.exchange_code(code="AQDc0de", redirect_uri="https://s/cb")
    assert "Error validating client secret" in caught.value.message
    assert "csecret" not in caught.value.message


# -- refresh -----------------------------------------------------------------------------------------------


@responses.activate
def test_refresh_reexchanges_a_still_valid_user_token(provider: FacebookProvider) -> None:
    responses.get(TOKEN_URL, match=[matchers.query_param_matcher(
        {"grant_type": "fb_exchange_token", "client_id": "cid", "client_secret": "csecret",
         "fb_exchange_token": LONG})],
        json={"access_token": "EAAGnewLongLived999", "token_type": "bearer", "expires_in": 5183944})
    old = TokenSet(access_token=LONG, expires_at=NOW + timedelta(days=3), scopes=frozenset({"pages_show_list"}))
    assert provider.can_refresh(old)
    fresh = provider.refresh(old)
    assert fresh.access_token == "EAAGnewLongLived999"
    assert fresh.refresh_token is None
    assert fresh.expires_at == NOW + timedelta(seconds=5183944)
    assert fresh.scopes == old.scopes


@responses.activate
def test_refresh_of_an_expired_token_asks_to_reconnect_without_calling_facebook(provider: FacebookProvider) -> None:
    expired = TokenSet(access_token=LONG, expires_at=NOW - timedelta(minutes=1))
    assert not provider.can_refresh(expired)
    with pytest.raises(AuthExpiredError):
        provider.refresh(expired)
    assert len(responses.calls) == 0


def test_a_page_token_without_expiry_is_not_refreshed(provider: FacebookProvider) -> None:
    page = TokenSet(access_token=PAGE_TOKEN)
    assert not provider.can_refresh(page)
    with pytest.raises(AuthExpiredError):
        provider.refresh(page)


# -- profile and targets -----------------------------------------------------------------------------------


@responses.activate
def test_fetch_profile_reads_the_user_and_picture(provider: FacebookProvider) -> None:
    responses.get(f"{GRAPH_URL}/me", match=[matchers.query_param_matcher(
        {"fields": "id,name,picture.type(large)", "access_token": LONG})],
        json={"id": USER_ID, "name": "Maya Lindqvist",
              "picture": {"data": {"height": 200, "is_silhouette": False, "url": "https://scontent.xx.fbcdn.net/p.jpg",
                                   "width": 200}}})
    profile = provider.fetch_profile(TokenSet(access_token=LONG))
    assert profile.platform_account_id == USER_ID
    assert profile.display_name == "Maya Lindqvist"
    assert profile.avatar_url == "https://scontent.xx.fbcdn.net/p.jpg"
    assert profile.metadata["facebook_user_id"] == USER_ID


@responses.activate
def test_list_targets_pages_through_me_accounts_with_cursors_and_skips_pages_without_create_content(
    provider: FacebookProvider,
) -> None:
    fields = "id,name,username,picture.type(large),tasks"
    responses.get(f"{GRAPH_URL}/me/accounts", match=[matchers.query_param_matcher(
        {"fields": fields, "limit": "100", "access_token": LONG})], json={
        "data": [{"id": PAGE_ID, "name": "Harbor & Vine Realty", "username": "harborvinerealty",
                  "tasks": ["ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"],
                  "picture": {"data": {"url": "https://scontent.xx.fbcdn.net/hv.jpg"}}},
                 {"id": "999", "name": "Read-only Page", "tasks": ["ANALYZE"]}],
        "paging": {"cursors": {"before": "QVFIUkFa", "after": "QVFIUmxt"},
                   "next": f"{GRAPH_URL}/me/accounts?access_token={LONG}&after=QVFIUmxt"}})
    responses.get(f"{GRAPH_URL}/me/accounts", match=[matchers.query_param_matcher(
        {"fields": fields, "limit": "100", "access_token": LONG, "after": "QVFIUmxt"})], json={
        "data": [{"id": "105000000000002", "name": "Harbor & Vine Rentals", "tasks": ["CREATE_CONTENT"]}],
        "paging": {"cursors": {"before": "QVFIUmxt", "after": "QVFIUnzz"}}})

    targets = provider.list_targets(TokenSet(access_token=LONG), provider_profile())

    assert [t.id for t in targets] == [PAGE_ID, "105000000000002"]
    first = targets[0]
    assert (first.name, first.kind, first.handle) == ("Harbor & Vine Realty", "page", "harborvinerealty")
    assert first.avatar_url == "https://scontent.xx.fbcdn.net/hv.jpg"
    assert all("access_token" not in t.metadata for t in targets)  # tokens never travel in targets


@responses.activate
def test_list_targets_without_any_publishable_page_explains_what_to_do(provider: FacebookProvider) -> None:
    responses.get(f"{GRAPH_URL}/me/accounts", json={"data": []})
    with pytest.raises(RejectedError, match="Page"):
        provider.list_targets(TokenSet(access_token=LONG), provider_profile())


@responses.activate
def test_apply_target_swaps_in_the_page_token_which_does_not_expire(provider: FacebookProvider) -> None:
    responses.get(f"{GRAPH_URL}/{PAGE_ID}", match=[matchers.query_param_matcher(
        {"fields": "id,name,username,link,picture.type(large),access_token", "access_token": LONG})], json={
        "id": PAGE_ID, "name": "Harbor & Vine Realty", "username": "harborvinerealty",
        "link": "https://www.facebook.com/harborvinerealty", "access_token": PAGE_TOKEN,
        "picture": {"data": {"url": "https://scontent.xx.fbcdn.net/hv.jpg"}}})
    user_tokens = TokenSet(access_token=LONG, expires_at=NOW + timedelta(days=60),
                           scopes=frozenset({"pages_show_list"}))
    target = Target(id=PAGE_ID, name="Harbor & Vine Realty", kind="page")

    tokens, profile = provider.apply_target(user_tokens, target)

    assert tokens.access_token == PAGE_TOKEN and tokens.expires_at is None
    assert tokens.scopes == user_tokens.scopes
    assert profile.platform_account_id == PAGE_ID
    assert profile.handle == "harborvinerealty"
    assert profile.metadata["page_id"] == PAGE_ID


@responses.activate
def test_apply_target_without_a_page_token_is_refused(provider: FacebookProvider) -> None:
    responses.get(f"{GRAPH_URL}/{PAGE_ID}", json={"id": PAGE_ID, "name": "Harbor & Vine Realty"})
    with pytest.raises(RejectedError, match="create content"):
        provider.apply_target(TokenSet(access_token=LONG), Target(id=PAGE_ID, name="Harbor & Vine Realty", kind="page"))


# -- publishing --------------------------------------------------------------------------------------------


@responses.activate
def test_publish_text_with_link_posts_json_to_the_page_feed_then_reads_the_permalink(
    provider: FacebookProvider,
) -> None:
    post_id = f"{PAGE_ID}_122098765432101"
    responses.post(f"{GRAPH_URL}/{PAGE_ID}/feed", match=[
        matchers.query_param_matcher({"access_token": PAGE_TOKEN}),
        matchers.json_params_matcher({"message": "Open house Saturday!", "published": True,
                                      "link": "https://harborvine.example/listings/12"})],
        json={"id": post_id})
    responses.get(f"{GRAPH_URL}/{post_id}", match=[matchers.query_param_matcher(
        {"fields": "permalink_url", "access_token": PAGE_TOKEN})],
        json={"permalink_url": "https://www.facebook.com/harborvinerealty/posts/pfbid02abc", "id": post_id})

    result = provider.publish(PAGE_ACCOUNT, OutboundPost(text="Open house Saturday!",
                                                         link="https://harborvine.example/listings/12"))

    assert result.state == "published"
    assert result.platform_post_id == post_id
    assert result.permalink == "https://www.facebook.com/harborvinerealty/posts/pfbid02abc"


@responses.activate
def test_publish_photos_uploads_each_unpublished_then_attaches_them_to_one_feed_post(
    provider: FacebookProvider,
) -> None:
    responses.post(f"{GRAPH_URL}/{PAGE_ID}/photos", match=[matchers.urlencoded_params_matcher(
        {"url": "https://cdn.harborvine.example/a.jpg", "published": "false", "alt_text_custom": "Kitchen"})],
        json={"id": "901"})
    responses.post(f"{GRAPH_URL}/{PAGE_ID}/photos", match=[matchers.urlencoded_params_matcher(
        {"url": "https://cdn.harborvine.example/b.jpg", "published": "false"})], json={"id": "902"})
    responses.post(f"{GRAPH_URL}/{PAGE_ID}/feed", match=[matchers.json_params_matcher(
        {"message": "Two views", "published": True, "attached_media": [{"media_fbid": "901"}, {"media_fbid": "902"}]})],
        json={"id": f"{PAGE_ID}_5"})
    responses.get(f"{GRAPH_URL}/{PAGE_ID}_5", status=500, json={"error": {
        "message": "An unexpected error has occurred.", "type": "OAuthException", "code": 2}})

    result = provider.publish(PAGE_ACCOUNT, OutboundPost(text="Two views", media=(
        MediaItem(url="https://cdn.harborvine.example/a.jpg", kind="image", alt_text="Kitchen"),
        MediaItem(url="https://cdn.harborvine.example/b.jpg", kind="image"))))

    # The post exists even though the permalink lookup failed: that is no reason to fail (and retry) it.
    assert result.state == "published" and result.platform_post_id == f"{PAGE_ID}_5"
    assert result.permalink is None


@responses.activate
def test_publish_video_is_processing_until_the_video_status_is_ready(provider: FacebookProvider) -> None:
    responses.post(f"{GRAPH_URL}/{PAGE_ID}/videos", match=[matchers.urlencoded_params_matcher(
        {"file_url": "https://cdn.harborvine.example/tour.mp4", "description": "Walkthrough", "published": "true"})],
        json={"id": "1234567890"})
    responses.get(f"{GRAPH_URL}/1234567890", json={"id": "1234567890", "status": {
        "video_status": "processing", "processing_progress": 40}})
    video = OutboundPost(text="Walkthrough",
                         media=(MediaItem(url="https://cdn.harborvine.example/tour.mp4", kind="video"),))

    first = provider.publish(PAGE_ACCOUNT, video)
    assert first.state == "processing" and first.poll == {"video_id": "1234567890"}

    responses.replace(responses.GET, f"{GRAPH_URL}/1234567890", json={
        "id": "1234567890", "permalink_url": "/harborvinerealty/videos/1234567890/",
        "status": {"video_status": "ready", "processing_progress": 100}})
    done = provider.check_publish(PAGE_ACCOUNT, first.poll or {})
    assert done.state == "published" and done.platform_post_id == "1234567890"
    assert done.permalink == "https://www.facebook.com/harborvinerealty/videos/1234567890/"


@responses.activate
def test_a_video_that_failed_processing_is_rejected(provider: FacebookProvider) -> None:
    responses.get(f"{GRAPH_URL}/777", json={"id": "777", "status": {
        "video_status": "error", "processing_phase": {"status": "error", "error": {"message": "Unsupported codec"}}}})
    with pytest.raises(RejectedError, match="Unsupported codec"):
        provider.check_publish(PAGE_ACCOUNT, {"video_id": "777"})


def test_publish_refuses_a_video_mixed_with_photos_before_calling_facebook(provider: FacebookProvider) -> None:
    with pytest.raises(RejectedError):
        provider.publish(PAGE_ACCOUNT, OutboundPost(text="x", media=(
            MediaItem(url="https://c/a.jpg", kind="image"), MediaItem(url="https://c/t.mp4", kind="video"))))


@responses.activate
def test_a_duplicate_refusal_finds_the_post_an_earlier_attempt_created_instead_of_failing(
    provider: FacebookProvider,
) -> None:
    responses.post(f"{GRAPH_URL}/{PAGE_ID}/feed", status=400, json={"error": {
        "message": "(#506) Duplicate status message", "type": "OAuthException", "code": 506,
        "error_subcode": 1455006, "fbtrace_id": "A9"}})
    responses.get(f"{GRAPH_URL}/{PAGE_ID}/feed", match=[matchers.query_param_matcher(
        {"fields": "id,message,permalink_url", "limit": "25", "access_token": PAGE_TOKEN})], json={"data": [
        {"id": f"{PAGE_ID}_8", "message": "Something else"},
        {"id": f"{PAGE_ID}_7", "message": "Just listed!", "permalink_url": "https://www.facebook.com/p/7"}]})
    result = provider.publish(PAGE_ACCOUNT, OutboundPost(text="Just listed!"))
    assert result.state == "published" and result.platform_post_id == f"{PAGE_ID}_7"
    assert [call.request.method for call in responses.calls] == ["POST", "GET"]  # nothing posted twice


# -- errors ------------------------------------------------------------------------------------------------


@responses.activate
def test_an_expired_token_is_auth_expired_and_the_token_never_appears(provider: FacebookProvider) -> None:
    responses.post(f"{GRAPH_URL}/{PAGE_ID}/feed", status=400, json=EXPIRED_TOKEN)
    with pytest.raises(AuthExpiredError) as caught:
        provider.publish(PAGE_ACCOUNT, OutboundPost(text="hello"))
    assert "Session has expired" in caught.value.message
    assert caught.value.code == "190:463"
    assert PAGE_TOKEN not in str(caught.value)


@responses.activate
def test_page_throttling_is_rate_limited_with_the_wait_from_the_buc_header(provider: FacebookProvider) -> None:
    usage = {PAGE_ID: [{"type": "pages", "call_count": 100, "total_cputime": 40, "total_time": 60,
                        "estimated_time_to_regain_access": 17}]}
    responses.post(f"{GRAPH_URL}/{PAGE_ID}/feed", status=400, headers={"X-Business-Use-Case-Usage": json.dumps(usage)},
                   json={"error": {"message": "(#32) Page request limit reached", "type": "OAuthException", "code": 32,
                                   "fbtrace_id": "Bx"}})
    with pytest.raises(RateLimitedError) as caught:
        provider.publish(PAGE_ACCOUNT, OutboundPost(text="hello"))
    assert caught.value.retry_after == 17 * 60


@responses.activate
def test_a_transient_graph_error_is_transient(provider: FacebookProvider) -> None:
    responses.post(f"{GRAPH_URL}/{PAGE_ID}/feed", status=500, json={"error": {
        "message": "An unexpected error has occurred. Please retry your request later.", "type": "OAuthException",
        "is_transient": True, "code": 2, "fbtrace_id": "Cz"}})
    with pytest.raises(TransientError):
        provider.publish(PAGE_ACCOUNT, OutboundPost(text="hello"))


@responses.activate
def test_a_policy_block_is_rejected_with_facebooks_own_words(provider: FacebookProvider) -> None:
    responses.post(f"{GRAPH_URL}/{PAGE_ID}/feed", status=400, json={"error": {
        "message": "(#368) The action attempted has been deemed abusive or is otherwise disallowed",
        "type": "OAuthException", "code": 368, "error_subcode": 1390008,
        "error_user_title": "You Can't Post Right Now",
        "error_user_msg": "You're posting too fast. Slow down and try again later.", "fbtrace_id": "Dq"}})
    with pytest.raises(RejectedError) as caught:
        provider.publish(PAGE_ACCOUNT, OutboundPost(text="hello"))
    assert "posting too fast" in caught.value.message
    assert caught.value.code == "368:1390008"
