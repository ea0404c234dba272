"""Google Business Profile adapter: requests sent, real answers read, REJECTED handled as a failure.

Bodies follow /work/shared/platforms/youtube-pinterest-bluesky-mastodon-google.md §5.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from stella.providers.base import Account, ClientCredentials, MediaItem, OutboundPost, TokenSet
from stella.providers.errors import AuthExpiredError, RateLimitedError, RejectedError
from stella.providers.google_business import GoogleBusinessProvider
from stella.providers.http import HttpClient

NOW = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
ACCESS = "ya29.a0gbpsecretaccess"
ACCOUNTS_URL = "https://mybusinessaccountmanagement.googleapis.com/v1/accounts"
LOCATIONS_URL = "https://mybusinessbusinessinformation.googleapis.com/v1/accounts/1122334455/locations"
PARENT = "accounts/1122334455/locations/99887766"
POSTS_URL = f"https://mybusiness.googleapis.com/v4/{PARENT}/localPosts"

LOCATION = {
    "name": "locations/99887766",
    "title": "Harbor & Vine Realty — Waterfront Office",
    "storefrontAddress": {"regionCode": "US", "postalCode": "02110", "administrativeArea": "MA",
                          "locality": "Boston", "addressLines": ["1 Harbor Way", "Suite 200"]},
    "metadata": {"mapsUri": "https://maps.google.com/maps?cid=123", "placeId": "ChIJ123"},
}


def live_post(**changes: object) -> dict:
    post = {
        "name": f"{PARENT}/localPosts/4711",
        "languageCode": "en-US",
        "summary": "Open house Saturday at 12 Harbor Lane.",
        "state": "LIVE",
        "topicType": "STANDARD",
        "searchUrl": "https://local.google.com/place?id=123&use=posts&lpsid=4711",
        "createTime": "2026-03-02T18:00:01.123456789Z",
        "updateTime": "2026-03-02T18:00:01.123456789Z",
    }
    post.update(changes)
    return post


@pytest.fixture()
def provider() -> GoogleBusinessProvider:
    return GoogleBusinessProvider(ClientCredentials("cid", "csecret"), HttpClient(), clock=lambda: NOW)


def account() -> Account:
    return Account(access_token=ACCESS, platform_account_id=PARENT, metadata={"post_parent": PARENT})


def test_authorization_url_uses_google_with_the_business_scope(provider: GoogleBusinessProvider) -> None:
    url = provider.authorization_url(redirect_uri="https://stella.example/cb", state="st", code_challenge="c")
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert url.startswith("https://accounts.google.com/o/oauth2/v2/auth?")
    assert query["scope"] == "https://www.googleapis.com/auth/business.manage"
    assert query["access_type"] == "offline" and query["prompt"] == "consent"


@responses.activate
def test_accounts_and_locations_become_targets_with_all_three_id_forms(provider: GoogleBusinessProvider) -> None:
    responses.get(ACCOUNTS_URL, json={"accounts": [
        {"name": "accounts/1122334455", "accountName": "Harbor & Vine Realty", "type": "PERSONAL"}]})
    responses.get(LOCATIONS_URL, json={"locations": [LOCATION], "nextPageToken": "p2"})
    responses.get(LOCATIONS_URL, json={"locations": [{"name": "locations/5555", "title": "Uptown Office"}]})
    tokens = TokenSet(access_token=ACCESS)
    profile = provider.fetch_profile(tokens)
    responses.calls.reset()
    targets = provider.list_targets(tokens, profile)

    assert profile.platform_account_id == "accounts/1122334455"
    assert profile.display_name == "Harbor & Vine Realty"
    first_locations = parse_qs(urlsplit(responses.calls[1].request.url).query)
    assert first_locations["readMask"] == ["name,title,storefrontAddress,metadata"]
    assert parse_qs(urlsplit(responses.calls[2].request.url).query)["pageToken"] == ["p2"]
    assert [t.id for t in targets] == [PARENT, "accounts/1122334455/locations/5555"]
    target = targets[0]
    assert target.name == "Harbor & Vine Realty — Waterfront Office" and target.kind == "location"
    assert target.metadata["location_name"] == "locations/99887766"
    assert target.metadata["account_id"] == "1122334455"
    assert target.metadata["post_parent"] == PARENT
    assert target.metadata["maps_uri"] == "https://maps.google.com/maps?cid=123"
    # A location has no handle (so nothing reads "@Boston"); its town travels as metadata.
    assert target.handle is None and target.metadata["locality"] == "Boston"


@responses.activate
def test_login_without_business_profiles_is_refused(provider: GoogleBusinessProvider) -> None:
    responses.get(ACCOUNTS_URL, json={})
    with pytest.raises(RejectedError, match="does not manage any Business Profile"):
        provider.fetch_profile(TokenSet(access_token=ACCESS))


@responses.activate
def test_apply_target_takes_the_profile_photo_and_survives_a_refused_media_list(
    provider: GoogleBusinessProvider,
) -> None:
    media_url = f"https://mybusiness.googleapis.com/v4/{PARENT}/media"
    responses.get(media_url, json={"mediaItems": [
        {"name": "m1", "googleUrl": "https://lh3.googleusercontent.com/cover",
         "locationAssociation": {"category": "COVER"}},
        {"name": "m2", "googleUrl": "https://lh3.googleusercontent.com/profile",
         "locationAssociation": {"category": "PROFILE"}},
    ]})
    responses.get(media_url, status=403, json={"error": {"code": 403, "message": "The caller does not have permission",
                                                         "status": "PERMISSION_DENIED"}})
    from stella.providers.base import Target

    target = Target(id=PARENT, name="Waterfront Office", kind="location", metadata={"post_parent": PARENT})
    _, profile = provider.apply_target(TokenSet(access_token=ACCESS), target)
    _, without = provider.apply_target(TokenSet(access_token=ACCESS), target)
    assert profile.platform_account_id == PARENT
    assert profile.avatar_url == "https://lh3.googleusercontent.com/profile"
    assert without.avatar_url is None


@responses.activate
def test_publish_sends_a_standard_local_post_with_photo_and_button(provider: GoogleBusinessProvider) -> None:
    responses.get(POSTS_URL, json={})
    responses.post(POSTS_URL, json=live_post())
    post = OutboundPost(
        text="Open house Saturday at 12 Harbor Lane.",
        link="https://harborvine.example/listings/12-harbor-lane",
        media=(MediaItem(url="https://cdn.example.com/12-harbor.jpg", kind="image", mime_type="image/jpeg"),),
    )
    result = provider.publish(account(), post)

    check, create = responses.calls[0].request, responses.calls[1].request
    assert check.method == "GET" and parse_qs(urlsplit(check.url).query) == {"pageSize": ["20"]}
    assert create.headers["Authorization"] == f"Bearer {ACCESS}"
    assert json.loads(create.body) == {
        "languageCode": "en-US",
        "summary": "Open house Saturday at 12 Harbor Lane.",
        "topicType": "STANDARD",
        "callToAction": {"actionType": "LEARN_MORE", "url": "https://harborvine.example/listings/12-harbor-lane"},
        "media": [{"mediaFormat": "PHOTO", "sourceUrl": "https://cdn.example.com/12-harbor.jpg"}],
    }
    assert result.state == "published"
    assert result.platform_post_id == f"{PARENT}/localPosts/4711"
    assert result.permalink == "https://local.google.com/place?id=123&use=posts&lpsid=4711"


@responses.activate
def test_call_button_has_no_url(provider: GoogleBusinessProvider) -> None:
    responses.get(POSTS_URL, json={})
    responses.post(POSTS_URL, json=live_post())
    provider.publish(account(), OutboundPost(text="Call us today.", link="https://x.example",
                                             options={"call_to_action": "CALL"}))
    assert json.loads(responses.calls[1].request.body)["callToAction"] == {"actionType": "CALL"}


@responses.activate
def test_rejected_state_in_a_200_answer_is_a_failure(provider: GoogleBusinessProvider) -> None:
    responses.get(POSTS_URL, json={})
    responses.post(POSTS_URL, json=live_post(state="REJECTED", searchUrl=None))
    with pytest.raises(RejectedError, match="rejected the post") as info:
        provider.publish(account(), OutboundPost(text="Call 555-0100 now!"))
    assert info.value.code == "REJECTED"


@responses.activate
def test_processing_state_is_polled_until_live(provider: GoogleBusinessProvider) -> None:
    name = f"{PARENT}/localPosts/4711"
    responses.get(POSTS_URL, json={})
    responses.post(POSTS_URL, json=live_post(state="PROCESSING"))
    responses.get(f"https://mybusiness.googleapis.com/v4/{name}", json=live_post())
    first = provider.publish(account(), OutboundPost(text="Price improvement on Elm Street."))
    assert first.state == "processing" and first.poll == {"name": name}
    done = provider.check_publish(account(), first.poll or {})
    assert done.state == "published" and done.permalink and "lpsid=4711" in done.permalink


@responses.activate
def test_a_same_text_post_from_a_lost_earlier_attempt_is_reused_not_posted_twice(
    provider: GoogleBusinessProvider,
) -> None:
    responses.get(POSTS_URL, json={"localPosts": [live_post(summary="Open house Saturday at 12 Harbor Lane.")]})
    result = provider.publish(account(), OutboundPost(text="Open house Saturday at 12 Harbor Lane."))
    assert [c.request.method for c in responses.calls] == ["GET"]
    assert result.platform_post_id == f"{PARENT}/localPosts/4711"


@responses.activate
def test_an_old_post_with_the_same_text_does_not_block_a_new_one(provider: GoogleBusinessProvider) -> None:
    responses.get(POSTS_URL, json={"localPosts": [live_post(createTime="2026-02-20T10:00:00Z")]})
    responses.post(POSTS_URL, json=live_post(name=f"{PARENT}/localPosts/4712"))
    result = provider.publish(account(), OutboundPost(text="Open house Saturday at 12 Harbor Lane."))
    assert result.platform_post_id == f"{PARENT}/localPosts/4712"


def test_event_post_without_event_details_is_refused_before_any_call(provider: GoogleBusinessProvider) -> None:
    with pytest.raises(RejectedError, match="event title and dates"):
        provider.publish(account(), OutboundPost(text="Open house!", options={"topic_type": "EVENT"}))


def test_video_is_refused(provider: GoogleBusinessProvider) -> None:
    with pytest.raises(RejectedError, match="video"):
        provider.publish(account(), OutboundPost(text="Tour", media=(MediaItem(url="https://x/v.mp4", kind="video"),)))


@responses.activate
def test_invalid_argument_is_rejected_with_googles_message(provider: GoogleBusinessProvider) -> None:
    responses.get(POSTS_URL, json={})
    responses.post(POSTS_URL, status=400, json={"error": {
        "code": 400, "message": "Request contains an invalid argument.", "status": "INVALID_ARGUMENT",
        "errors": [{"domain": "global", "reason": "badRequest", "message": "Request contains an invalid argument."}]}})
    with pytest.raises(RejectedError, match="invalid argument") as info:
        provider.publish(account(), OutboundPost(text="Hello"))
    assert info.value.code == "badRequest"


@responses.activate
def test_resource_exhausted_is_rate_limited_with_retry_after(provider: GoogleBusinessProvider) -> None:
    responses.get(POSTS_URL, status=429, headers={"Retry-After": "30"}, json={"error": {
        "code": 429, "message": "Quota exceeded for quota metric 'Requests'.", "status": "RESOURCE_EXHAUSTED"}})
    with pytest.raises(RateLimitedError) as info:
        provider.publish(account(), OutboundPost(text="Hello"))
    assert info.value.retry_after == 30


@responses.activate
def test_service_disabled_explains_which_setting_is_missing(provider: GoogleBusinessProvider) -> None:
    responses.get(ACCOUNTS_URL, status=403, json={"error": {
        "code": 403,
        "message": "My Business Account Management API has not been used in project 123 before or it is disabled.",
        "status": "PERMISSION_DENIED",
        "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "SERVICE_DISABLED",
                     "domain": "googleapis.com"}]}})
    with pytest.raises(RejectedError, match="not enabled") as info:
        provider.fetch_profile(TokenSet(access_token=ACCESS))
    assert info.value.code == "SERVICE_DISABLED"


@responses.activate
def test_unauthenticated_is_auth_expired(provider: GoogleBusinessProvider) -> None:
    responses.get(POSTS_URL, status=401, json={"error": {
        "code": 401, "message": "Request had invalid authentication credentials.", "status": "UNAUTHENTICATED"}})
    with pytest.raises(AuthExpiredError) as info:
        provider.publish(account(), OutboundPost(text="Hello"))
    assert ACCESS not in str(info.value)
