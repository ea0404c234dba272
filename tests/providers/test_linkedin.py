"""The LinkedIn adapter: exact requests and how it reads LinkedIn's real answers (doc §4)."""

from __future__ import annotations

import ipaddress
import json
import socket
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from responses import matchers

from stella.providers.base import Account, ClientCredentials, MediaItem, OutboundPost, Profile, TokenSet
from stella.providers.errors import AuthExpiredError, RateLimitedError, RejectedError, TransientError, UnsafeHostError
from stella.providers.http import HttpClient
from stella.providers.linkedin import LINKEDIN_VERSION, PAGE_SCOPES, LinkedInProvider, escape_little_text

NOW = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
TOKEN_URL = "https://www.linkedin.com/oauth/v2/accessToken"
ACCESS = "AQXNnd2kXITHELmWblJigbHEuoFdfRhOwGA0QNuumtBMmGYiAF"
REFRESH = "AQWAft_WjYZKwuWXLC5hQlghgTam-tuT8CvFej9-XxGyqeER_7"
MEMBER = "urn:li:person:782bbtaQ"
ORG = "urn:li:organization:2414183"
MEMBER_ACCOUNT = Account(access_token=ACCESS, platform_account_id=MEMBER, metadata={"author_urn": MEMBER})
ORG_ACCOUNT = Account(access_token=ACCESS, platform_account_id=ORG, metadata={"author_urn": ORG})


# What a Page-posting deployment (a Community Management app) sets in STELLA_LINKEDIN_SCOPES.
PAGE_OPTIONS = {"scopes": "r_basicprofile w_member_social w_organization_social rw_organization_admin "
                          "r_organization_social"}


@pytest.fixture(autouse=True)
def public_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Upload URLs named by the API are checked like any URL handed to Stella: a name resolves to a public
    address here, an IP literal to itself."""

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        try:
            address = str(ipaddress.ip_address(host))
        except ValueError:
            address = "93.184.216.34"
        return [(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture()
def provider() -> LinkedInProvider:
    """The default deployment: a self-serve member app (OpenID Connect + Share on LinkedIn)."""
    return LinkedInProvider(ClientCredentials("cid", "csecret"), HttpClient(), clock=lambda: NOW)


@pytest.fixture()
def page_provider() -> LinkedInProvider:
    """A Page-posting deployment: a Community Management app, scopes from the options."""
    return LinkedInProvider(ClientCredentials("cid", "csecret"), HttpClient(), clock=lambda: NOW,
                            options=PAGE_OPTIONS)


def form(call: responses.Call) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(str(call.request.body)).items()}


def assert_rest_headers(call: responses.Call) -> None:
    headers = call.request.headers
    assert headers["Authorization"] == f"Bearer {ACCESS}"
    assert headers["LinkedIn-Version"] == LINKEDIN_VERSION
    assert headers["X-Restli-Protocol-Version"] == "2.0.0"


# -- authorization -------------------------------------------------------------------------------------------


def test_default_authorization_asks_only_for_the_self_serve_member_scopes(provider: LinkedInProvider) -> None:
    url = provider.authorization_url(redirect_uri="https://s/cb", state="st", code_challenge="ignored")
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://www.linkedin.com/oauth/v2/authorization"
    # platform-verification.md item 1: no organization scope may ride along with the OpenID Connect ones.
    assert query["scope"] == ["openid profile w_member_social"]
    assert query["client_id"] == ["cid"] and query["redirect_uri"] == ["https://s/cb"]
    assert "code_challenge" not in query


def test_page_deployment_asks_for_its_configured_scopes_without_openid(page_provider: LinkedInProvider) -> None:
    query = parse_qs(urlsplit(page_provider.authorization_url(redirect_uri="https://s/cb", state="st")).query)
    assert query["scope"] == ["r_basicprofile w_member_social w_organization_social rw_organization_admin "
                              "r_organization_social"]
    assert page_provider.requested_scopes == PAGE_SCOPES
    assert "openid" not in query["scope"][0].split()


@responses.activate
def test_exchange_code_sends_the_secret_in_the_body_not_basic(provider: LinkedInProvider) -> None:
    responses.post(TOKEN_URL, json={"access_token": ACCESS, "expires_in": 5184000, "refresh_token": REFRESH,
                                    "refresh_token_expires_in": 31536000,
                                    "scope": "openid,profile,w_member_social", "token_type": "Bearer",
                                    "id_token": "eyJ0eXAiOiJKV1QiLCJ.x.y"})
    tokens = provider.exchange_code(code="AQTQmah", redirect_uri="https://s/cb")
    call = responses.calls[0]
    assert "Authorization" not in call.request.headers
    assert form(call) == {"grant_type": "authorization_code", "code": "AQTQmah", "redirect_uri": "https://s/cb",
                          "client_id": "cid", "client_secret": "csecret"}
    assert tokens.expires_at == NOW + timedelta(days=60)
    assert tokens.refresh_expires_at == NOW + timedelta(days=365)
    assert tokens.scopes == frozenset({"openid", "profile", "w_member_social"})


@responses.activate
def test_refresh_keeps_the_refresh_token_when_linkedin_does_not_resend_it(provider: LinkedInProvider) -> None:
    responses.post(TOKEN_URL, json={"access_token": "fresh-access", "expires_in": 5184000})
    old = TokenSet(access_token=ACCESS, refresh_token=REFRESH, refresh_expires_at=NOW + timedelta(days=200))
    fresh = provider.refresh(old)
    assert form(responses.calls[0]) == {"grant_type": "refresh_token", "refresh_token": REFRESH,
                                        "client_id": "cid", "client_secret": "csecret"}
    assert fresh.access_token == "fresh-access"
    assert fresh.refresh_token == REFRESH
    # doc §4.1: the refresh token's lifetime does not reset.
    assert fresh.refresh_expires_at == NOW + timedelta(days=200)


def test_refresh_without_a_refresh_token_asks_to_reconnect(provider: LinkedInProvider) -> None:
    # doc §4.1: only approved partners get refresh tokens.
    with pytest.raises(AuthExpiredError, match="reconnect"):
        provider.refresh(TokenSet(access_token=ACCESS))


@responses.activate
def test_expired_refresh_token_is_auth_expired_and_secret_free(provider: LinkedInProvider) -> None:
    responses.post(TOKEN_URL, status=400, json={
        "error": "invalid_grant", "error_description": "The provided authorization grant or refresh token is "
        "invalid, expired or revoked."})
    with pytest.raises(AuthExpiredError) as info:
        provider.refresh(TokenSet(access_token=ACCESS, refresh_token=REFRESH))
    assert REFRESH not in str(info.value) and "csecret" not in str(info.value)


@responses.activate
def test_fetch_profile_reads_oidc_userinfo(provider: LinkedInProvider) -> None:
    responses.get("https://api.linkedin.com/v2/userinfo", json={
        "sub": "782bbtaQ", "name": "Maya Chen", "given_name": "Maya", "family_name": "Chen",
        "picture": "https://media.licdn.com/dms/image/C4E03AQ/profile.jpg", "locale": "en-US",
        "email": "maya@harborvine.example", "email_verified": True})
    profile = provider.fetch_profile(TokenSet(access_token=ACCESS))
    assert responses.calls[0].request.headers["Authorization"] == f"Bearer {ACCESS}"
    assert profile.platform_account_id == MEMBER
    assert profile.display_name == "Maya Chen"
    assert profile.avatar_url == "https://media.licdn.com/dms/image/C4E03AQ/profile.jpg"
    assert profile.metadata["author_urn"] == MEMBER


@responses.activate
def test_page_deployment_reads_the_member_from_v2_me_not_userinfo(page_provider: LinkedInProvider) -> None:
    responses.get(
        "https://api.linkedin.com/v2/me?projection=(id,localizedFirstName,localizedLastName,vanityName)",
        match=[matchers.query_string_matcher("projection=(id,localizedFirstName,localizedLastName,vanityName)")],
        json={"id": "782bbtaQ", "localizedFirstName": "Maya", "localizedLastName": "Chen",
              "vanityName": "maya-chen-hv"},
    )
    profile = page_provider.fetch_profile(TokenSet(access_token=ACCESS))
    assert [urlsplit(c.request.url).path for c in responses.calls] == ["/v2/me"]
    # Rest.li projections keep their parentheses and commas unencoded.
    assert "projection=(id,localizedFirstName,localizedLastName,vanityName)" in str(responses.calls[0].request.url)
    assert responses.calls[0].request.headers["Authorization"] == f"Bearer {ACCESS}"
    assert profile.platform_account_id == MEMBER
    assert profile.display_name == "Maya Chen" and profile.handle == "maya-chen-hv"
    assert profile.metadata == {"author_urn": MEMBER, "member_urn": MEMBER, "kind": "member"}


@responses.activate
def test_v2_me_without_an_id_is_refused(page_provider: LinkedInProvider) -> None:
    responses.get("https://api.linkedin.com/v2/me", json={"localizedFirstName": "Maya"})
    with pytest.raises(RejectedError, match="did not say who signed in"):
        page_provider.fetch_profile(TokenSet(access_token=ACCESS))


@responses.activate
def test_v2_me_refused_for_lack_of_r_basicprofile_keeps_linkedin_message(page_provider: LinkedInProvider) -> None:
    responses.get("https://api.linkedin.com/v2/me", status=403, json={
        "serviceErrorCode": 100, "message": "Not enough permissions to access: me.GET.NO_VERSION", "status": 403})
    with pytest.raises(RejectedError, match=r"me\.GET\.NO_VERSION"):
        page_provider.fetch_profile(TokenSet(access_token=ACCESS))


@responses.activate
def test_member_only_deployment_lists_just_the_member_without_asking_for_organizations(
    provider: LinkedInProvider,
) -> None:
    # Any request would fail: `responses` refuses calls nobody registered.
    profile = Profile(platform_account_id=MEMBER, handle=None, display_name="Maya Chen",
                      metadata={"author_urn": MEMBER, "member_urn": MEMBER, "kind": "member"})
    targets = provider.list_targets(TokenSet(access_token=ACCESS), profile)
    assert len(responses.calls) == 0
    assert [(t.id, t.kind, t.name) for t in targets] == [(MEMBER, "member", "Maya Chen")]
    assert targets[0].metadata["author_urn"] == MEMBER


@responses.activate
def test_r_organization_admin_alone_is_enough_to_list_organizations() -> None:
    provider = LinkedInProvider(ClientCredentials("cid", "csecret"), HttpClient(), clock=lambda: NOW,
                                options={"scopes": "r_basicprofile w_organization_social r_organization_admin"})
    responses.get("https://api.linkedin.com/rest/organizationAcls", json={"elements": []})
    profile = Profile(platform_account_id=MEMBER, handle=None, display_name="Maya Chen")
    assert [t.kind for t in provider.list_targets(TokenSet(access_token=ACCESS), profile)] == ["member"]
    assert len(responses.calls) == 1


@responses.activate
def test_list_targets_offers_the_member_and_posting_organizations(page_provider: LinkedInProvider) -> None:
    provider = page_provider
    responses.get(
        "https://api.linkedin.com/rest/organizationAcls",
        match=[matchers.query_param_matcher({"q": "roleAssignee", "state": "APPROVED", "count": "100"})],
        json={"paging": {"count": 10, "start": 0}, "elements": [
            {"role": "ADMINISTRATOR", "organization": ORG, "roleAssignee": MEMBER, "state": "APPROVED"},
            {"role": "ANALYST", "organization": "urn:li:organization:999", "roleAssignee": MEMBER,
             "state": "APPROVED"},
        ]},
    )
    responses.get("https://api.linkedin.com/rest/organizations?ids=List(2414183)", json={"results": {
        "2414183": {"id": 2414183, "localizedName": "Harbor & Vine Realty", "vanityName": "harbor-vine-realty"}}})
    profile = Profile(platform_account_id=MEMBER, handle=None, display_name="Maya Chen",
                      metadata={"author_urn": MEMBER})
    targets = provider.list_targets(TokenSet(access_token=ACCESS), profile)
    assert_rest_headers(responses.calls[0])
    assert [(t.id, t.kind, t.name) for t in targets] == [
        (MEMBER, "member", "Maya Chen"),
        (ORG, "organization", "Harbor & Vine Realty"),
    ]
    tokens, chosen = provider.apply_target(TokenSet(access_token=ACCESS), targets[1])
    # An organization posts with the member's own token: LinkedIn has no per-page token.
    assert tokens.access_token == ACCESS and chosen.platform_account_id == ORG
    assert chosen.handle == "harbor-vine-realty"
    assert chosen.metadata["author_urn"] == ORG and chosen.metadata["organization_id"] == "2414183"


@responses.activate
def test_list_targets_without_organization_access_keeps_the_member(page_provider: LinkedInProvider) -> None:
    provider = page_provider
    responses.get("https://api.linkedin.com/rest/organizationAcls", status=403, json={
        "status": 403, "serviceErrorCode": 100, "code": "ACCESS_DENIED",
        "message": "Not enough permissions to access: organizationAcls.FINDER-roleAssignee.20240301"})
    profile = Profile(platform_account_id=MEMBER, handle=None, display_name="Maya Chen")
    targets = provider.list_targets(TokenSet(access_token=ACCESS), profile)
    assert [t.kind for t in targets] == ["member"]


# -- publishing ------------------------------------------------------------------------------------------------


def test_little_text_escaping_keeps_links_and_hashtags() -> None:
    assert escape_little_text("3BR (2 baths) @ $500k_ok #JustListed https://hv.example/a_b?x=(1)") == (
        "3BR \\(2 baths\\) \\@ $500k\\_ok #JustListed https://hv.example/a_b?x=(1)"
    )
    assert escape_little_text("a\\b [c] {d} <e> *f* ~g~ |h|") == (
        "a\\\\b \\[c\\] \\{d\\} \\<e\\> \\*f\\* \\~g\\~ \\|h\\|"
    )


@responses.activate
def test_publish_text_as_organization_reads_the_urn_header(provider: LinkedInProvider) -> None:
    responses.post("https://api.linkedin.com/rest/posts", status=201, body=b"",
                   headers={"x-restli-id": "urn:li:share:7247683536427749376"})
    result = provider.publish(ORG_ACCOUNT, OutboundPost(text="Open house Sunday (2-4pm)"))
    call = responses.calls[0]
    assert_rest_headers(call)
    assert json.loads(call.request.body) == {
        "author": ORG,
        "commentary": "Open house Sunday \\(2-4pm\\)",
        "visibility": "PUBLIC",
        "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": []},
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }
    assert result.state == "published"
    assert result.platform_post_id == "urn:li:share:7247683536427749376"
    assert result.permalink == "https://www.linkedin.com/feed/update/urn:li:share:7247683536427749376"


@responses.activate
def test_publish_images_initializes_uploads_then_posts_multi_image(provider: LinkedInProvider) -> None:
    for n in (1, 2):
        responses.post("https://api.linkedin.com/rest/images?action=initializeUpload", json={"value": {
            "uploadUrlExpiresAt": 1650567510704,
            "uploadUrl": f"https://www.linkedin.com/dms-uploads/sp/D4E10AQ{n}/uploaded-image/0?ca=vector_ads",
            "image": f"urn:li:image:C4E10AQFoyyAjHPMQuQ{n}"}})
        responses.put(f"https://www.linkedin.com/dms-uploads/sp/D4E10AQ{n}/uploaded-image/0?ca=vector_ads",
                      status=201)
    responses.post("https://api.linkedin.com/rest/posts", status=201, headers={"x-restli-id": "urn:li:share:1"})
    media = (
        MediaItem(url="https://cdn/a.jpg", kind="image", mime_type="image/jpeg", data=b"A", alt_text="Kitchen"),
        MediaItem(url="https://cdn/b.jpg", kind="image", mime_type="image/jpeg", data=b"B"),
    )
    provider.publish(MEMBER_ACCOUNT, OutboundPost(text="Tour", media=media))
    assert json.loads(responses.calls[0].request.body) == {"initializeUploadRequest": {"owner": MEMBER}}
    assert responses.calls[1].request.body == b"A"
    assert responses.calls[1].request.headers["Authorization"] == f"Bearer {ACCESS}"
    post = json.loads(responses.calls[4].request.body)
    assert post["content"] == {"multiImage": {"images": [
        {"id": "urn:li:image:C4E10AQFoyyAjHPMQuQ1", "altText": "Kitchen"},
        {"id": "urn:li:image:C4E10AQFoyyAjHPMQuQ2", "altText": ""},
    ]}}


@responses.activate
def test_publish_video_uploads_parts_finalizes_and_waits_for_available(provider: LinkedInProvider) -> None:
    data = b"0123456789"
    responses.post("https://api.linkedin.com/rest/videos?action=initializeUpload", json={"value": {
        "uploadUrlsExpireAt": 1629859200000, "video": "urn:li:video:C5F10AQGKQg_6y2a4sQ",
        "uploadInstructions": [
            {"uploadUrl": "https://www.linkedin.com/dms-uploads/C5F10/part-1", "lastByte": 5, "firstByte": 0},
            {"uploadUrl": "https://www.linkedin.com/dms-uploads/C5F10/part-2", "lastByte": 9, "firstByte": 6},
        ],
        "uploadToken": "tok-upload"}})
    responses.put("https://www.linkedin.com/dms-uploads/C5F10/part-1", headers={"ETag": "/e1"})
    responses.put("https://www.linkedin.com/dms-uploads/C5F10/part-2", headers={"ETag": "/e2"})
    responses.post("https://api.linkedin.com/rest/videos?action=finalizeUpload", json={})
    video = MediaItem(url="https://cdn/v.mp4", kind="video", mime_type="video/mp4", data=data)
    result = provider.publish(ORG_ACCOUNT, OutboundPost(text="Walkthrough", media=(video,)))
    init = json.loads(responses.calls[0].request.body)
    assert init == {"initializeUploadRequest": {"owner": ORG, "fileSizeBytes": 10, "uploadCaptions": False,
                                                "uploadThumbnail": False}}
    assert responses.calls[1].request.body == b"012345" and responses.calls[2].request.body == b"6789"
    assert json.loads(responses.calls[3].request.body) == {"finalizeUploadRequest": {
        "video": "urn:li:video:C5F10AQGKQg_6y2a4sQ", "uploadToken": "tok-upload", "uploadedPartIds": ["/e1", "/e2"]}}
    assert result.state == "processing" and result.poll

    status_url = "https://api.linkedin.com/rest/videos/urn%3Ali%3Avideo%3AC5F10AQGKQg_6y2a4sQ"
    responses.get(status_url, json={"status": "PROCESSING", "id": "urn:li:video:C5F10AQGKQg_6y2a4sQ"})
    assert provider.check_publish(ORG_ACCOUNT, result.poll).state == "processing"
    responses.replace(responses.GET, status_url, json={"status": "AVAILABLE"})
    responses.post("https://api.linkedin.com/rest/posts", status=201, headers={"x-restli-id": "urn:li:ugcPost:9"})
    done = provider.check_publish(ORG_ACCOUNT, result.poll)
    assert done.platform_post_id == "urn:li:ugcPost:9"
    assert json.loads(responses.calls[-1].request.body)["content"] == {
        "media": {"id": "urn:li:video:C5F10AQGKQg_6y2a4sQ"}}


@responses.activate
def test_video_processing_failure_is_rejected(provider: LinkedInProvider) -> None:
    responses.get("https://api.linkedin.com/rest/videos/urn%3Ali%3Avideo%3AX", json={"status": "PROCESSING_FAILED"})
    with pytest.raises(RejectedError, match="could not process"):
        provider.check_publish(ORG_ACCOUNT, {"step": "video", "video": "urn:li:video:X", "author": ORG,
                                             "commentary": "c"})


@responses.activate
def test_created_post_without_an_id_header_is_transient(provider: LinkedInProvider) -> None:
    responses.post("https://api.linkedin.com/rest/posts", status=201)
    with pytest.raises(TransientError):
        provider.publish(MEMBER_ACCOUNT, OutboundPost(text="x"))


# -- errors ------------------------------------------------------------------------------------------------------


@responses.activate
def test_invalid_access_token_body_is_auth_expired(provider: LinkedInProvider) -> None:
    responses.post("https://api.linkedin.com/rest/posts", status=401,
                   json={"status": 401, "serviceErrorCode": 65600, "message": "Invalid access token"})
    with pytest.raises(AuthExpiredError, match="Invalid access token"):
        provider.publish(MEMBER_ACCOUNT, OutboundPost(text="x"))


@responses.activate
def test_revoked_access_token_is_auth_expired(provider: LinkedInProvider) -> None:
    responses.get("https://api.linkedin.com/v2/userinfo", status=401, json={
        "status": 401, "serviceErrorCode": 65601, "code": "REVOKED_ACCESS_TOKEN",
        "message": "The token used in the request has been revoked by the user"})
    with pytest.raises(AuthExpiredError) as info:
        provider.fetch_profile(TokenSet(access_token=ACCESS))
    assert info.value.code == "REVOKED_ACCESS_TOKEN"


@responses.activate
def test_throttling_waits_until_midnight_utc(provider: LinkedInProvider) -> None:
    responses.post("https://api.linkedin.com/rest/posts", status=429,
                   json={"status": 429, "message": "Resource level throttle APPLICATION DAY limit for calls to "
                                                   "this resource is reached."})
    with pytest.raises(RateLimitedError) as info:
        provider.publish(MEMBER_ACCOUNT, OutboundPost(text="x"))
    assert info.value.retry_after == pytest.approx(6 * 3600)


@responses.activate
def test_permission_and_validation_refusals_keep_linkedin_message(provider: LinkedInProvider) -> None:
    responses.post("https://api.linkedin.com/rest/posts", status=403, json={
        "status": 403, "serviceErrorCode": 100,
        "message": "Not enough permissions to access: partnerApiPostsExternal.CREATE.20240301"})
    with pytest.raises(RejectedError, match="Not enough permissions"):
        provider.publish(ORG_ACCOUNT, OutboundPost(text="x"))
    responses.replace(responses.POST, "https://api.linkedin.com/rest/posts", status=422, json={
        "status": 422, "errorDetailType": "com.linkedin.common.error.BadRequest",
        "message": "ERROR :: /commentary :: is required but missing"})
    with pytest.raises(RejectedError, match="commentary :: is required"):
        provider.publish(ORG_ACCOUNT, OutboundPost(text="x"))


@responses.activate
def test_server_errors_are_transient(provider: LinkedInProvider) -> None:
    responses.post("https://api.linkedin.com/rest/posts", status=504, body="Gateway Timeout")
    with pytest.raises(TransientError):
        provider.publish(MEMBER_ACCOUNT, OutboundPost(text="x"))


@responses.activate
def test_no_token_in_error_messages(provider: LinkedInProvider) -> None:
    responses.post("https://api.linkedin.com/rest/posts", status=400,
                   json={"status": 400, "message": f"Bad header Bearer {ACCESS}"})
    with pytest.raises(RejectedError) as info:
        provider.publish(MEMBER_ACCOUNT, OutboundPost(text="x"))
    assert ACCESS not in str(info.value)


@responses.activate
def test_an_upload_url_naming_a_private_address_is_never_sent_the_token(provider: LinkedInProvider) -> None:
    responses.post("https://api.linkedin.com/rest/images?action=initializeUpload", json={"value": {
        "uploadUrl": "https://100.100.100.200/latest/meta-data/", "image": "urn:li:image:C4E10AQFoyyAjHPMQuQ1"}})
    media = (MediaItem(url="https://cdn/a.jpg", kind="image", mime_type="image/jpeg", data=b"A"),)
    with pytest.raises(UnsafeHostError, match="private or local"):
        provider.publish(MEMBER_ACCOUNT, OutboundPost(text="Tour", media=media))
    assert len(responses.calls) == 1
