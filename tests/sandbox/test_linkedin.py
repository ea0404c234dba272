"""The LinkedIn sandbox is strict where LinkedIn is, and the real adapter completes a round trip against it."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from stella.config import CONFIG_KEY
from stella.extensions import db as _db
from stella.models import SocialConnection
from stella.providers.base import Account, ClientCredentials, MediaItem, OutboundPost, TokenSet
from stella.providers.errors import AuthExpiredError
from stella.providers.http import HttpClient
from stella.providers.linkedin import LINKEDIN_VERSION, LinkedInProvider
from stella.sandbox.platforms.linkedin import render_little_text
from stella.sandbox.server import RunningServer
from stella.services.connections import provider_for_connection
from stella.services.tokens import call_with_fresh_token
from tests.sandbox.conftest import STELLA_URL
from tests.sandbox_support import connect_through_sandbox

CLIENT_ID, SECRET = "sandbox-linkedin-id", "sandbox-linkedin-secret"
REDIRECT = f"{STELLA_URL}/connections/linkedin/callback"
# The two app kinds LinkedIn allows (platform-verification.md item 1): a self-serve member app and a Community
# Management app. Most API tests use the Page set, since it reaches organizations.
MEMBER_SCOPES = "openid profile w_member_social"
SCOPES = "r_basicprofile w_member_social w_organization_social rw_organization_admin r_organization_social"
PAGE_OPTIONS = {"scopes": SCOPES}
AUTHORIZE = "/www.linkedin.com/oauth/v2/authorization"
TOKEN = "/www.linkedin.com/oauth/v2/accessToken"
MEMBER = "urn:li:person:hv7Qm2LxTa"
ORG = "urn:li:organization:90210417"


def authorize_query(**overrides: str) -> str:
    params = {"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT, "scope": SCOPES,
              "state": "li-state"}
    params.update(overrides)
    return urlencode(params)


def get_code(client: FlaskClient, scopes: str = SCOPES) -> str:
    response = client.post(f"{AUTHORIZE}?{authorize_query(scope=scopes)}", data={"decision": "allow"})
    assert response.status_code == 302
    return parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]


def exchange(client: FlaskClient, code: str, **overrides: str):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "client_id": CLIENT_ID,
            "client_secret": SECRET}
    data.update(overrides)
    return client.post(TOKEN, data={k: v for k, v in data.items() if v != ""})


def access(client: FlaskClient, scopes: str = SCOPES) -> str:
    response = exchange(client, get_code(client, scopes))
    assert response.status_code == 200
    return response.get_json()["access_token"]


def rest(token: str, version: str = LINKEDIN_VERSION) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "LinkedIn-Version": version, "X-Restli-Protocol-Version": "2.0.0"}


def text_post(author: str, commentary: str) -> dict:
    return {"author": author, "commentary": commentary, "visibility": "PUBLIC",
            "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [],
                             "thirdPartyDistributionChannels": []},
            "lifecycleState": "PUBLISHED", "isReshareDisabledByAuthor": False}


# -- authorization ---------------------------------------------------------------------------------------------


def test_consent_page_for_a_good_request(sandbox_client: FlaskClient) -> None:
    response = sandbox_client.get(f"{AUTHORIZE}?{authorize_query()}")
    assert response.status_code == 200 and b"w_organization_social" in response.data


def test_unregistered_redirect_uri_is_refused(sandbox_client: FlaskClient) -> None:
    response = sandbox_client.get(f"{AUTHORIZE}?{authorize_query(redirect_uri='http://127.0.0.1:5000/evil')}")
    assert response.status_code == 400 and "Location" not in response.headers


def test_unknown_scope_redirects_with_an_error(sandbox_client: FlaskClient) -> None:
    response = sandbox_client.get(f"{AUTHORIZE}?{authorize_query(scope='openid r_everything')}")
    assert parse_qs(urlsplit(response.headers["Location"]).query)["error"] == ["unauthorized_scope_error"]


@pytest.mark.parametrize("oidc", ["openid", "profile", "email"])
def test_mixing_openid_connect_and_community_management_scopes_is_refused(
    sandbox_client: FlaskClient, oidc: str
) -> None:
    # No app can hold both products, so LinkedIn refuses the whole authorization and names the scope.
    mixed = f"{oidc} w_member_social w_organization_social"
    response = sandbox_client.get(f"{AUTHORIZE}?{authorize_query(scope=mixed)}")
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["error"] == ["unauthorized_scope_error"] and query["state"] == ["li-state"]
    assert f"&quot;{oidc}&quot; is not authorized" in query["error_description"][0]
    assert "code" not in query


@pytest.mark.parametrize("scopes", [MEMBER_SCOPES, SCOPES, "openid profile email w_member_social",
                                    "w_member_social"])
def test_either_app_kind_alone_gets_the_consent_page(sandbox_client: FlaskClient, scopes: str) -> None:
    assert sandbox_client.get(f"{AUTHORIZE}?{authorize_query(scope=scopes)}").status_code == 200


def test_v2_me_needs_r_basicprofile_and_honours_the_projection(sandbox_client: FlaskClient) -> None:
    member_token = access(sandbox_client, MEMBER_SCOPES)
    refused = sandbox_client.get("/api.linkedin.com/v2/me", headers={"Authorization": f"Bearer {member_token}"})
    assert refused.status_code == 403 and refused.get_json()["code"] == "ACCESS_DENIED"
    page_token = access(sandbox_client)
    me = sandbox_client.get("/api.linkedin.com/v2/me?projection=(id,localizedFirstName,localizedLastName)",
                            headers={"Authorization": f"Bearer {page_token}"})
    assert me.status_code == 200
    assert me.get_json() == {"id": "hv7Qm2LxTa", "localizedFirstName": "Maya", "localizedLastName": "Chen"}


def test_userinfo_needs_openid(sandbox_client: FlaskClient) -> None:
    page_token = access(sandbox_client)
    response = sandbox_client.get("/api.linkedin.com/v2/userinfo", headers={"Authorization": f"Bearer {page_token}"})
    assert response.status_code == 403
    member_token = access(sandbox_client, MEMBER_SCOPES)
    info = sandbox_client.get("/api.linkedin.com/v2/userinfo", headers={"Authorization": f"Bearer {member_token}"})
    assert info.status_code == 200 and info.get_json()["sub"] == "hv7Qm2LxTa"


def test_organization_acls_need_an_organization_scope(sandbox_client: FlaskClient) -> None:
    query = {"q": "roleAssignee", "state": "APPROVED"}
    member_token = access(sandbox_client, MEMBER_SCOPES)
    refused = sandbox_client.get("/api.linkedin.com/rest/organizationAcls", query_string=query,
                                 headers=rest(member_token))
    assert refused.status_code == 403 and refused.get_json()["code"] == "ACCESS_DENIED"
    allowed = sandbox_client.get("/api.linkedin.com/rest/organizationAcls", query_string=query,
                                 headers=rest(access(sandbox_client)))
    assert allowed.status_code == 200 and len(allowed.get_json()["elements"]) == 3


def test_token_exchange_returns_60_day_token_and_365_day_refresh(sandbox_client: FlaskClient) -> None:
    body = exchange(sandbox_client, get_code(sandbox_client)).get_json()
    assert body["expires_in"] == 60 * 86400
    assert body["refresh_token_expires_in"] == pytest.approx(365 * 86400, abs=5)
    assert body["scope"].split(",") == SCOPES.split(" ")


def test_basic_client_auth_is_refused(sandbox_client: FlaskClient) -> None:
    code = get_code(sandbox_client)
    basic = base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
    response = sandbox_client.post(TOKEN, data={"grant_type": "authorization_code", "code": code,
                                                "redirect_uri": REDIRECT}, headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 400
    assert response.get_json()["error_description"] == 'A required parameter "client_id" is missing'


def test_wrong_secret_is_refused(sandbox_client: FlaskClient) -> None:
    response = exchange(sandbox_client, get_code(sandbox_client), client_secret="wrong")
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_client"


def test_code_is_single_use_and_bound_to_its_redirect_uri(sandbox_client: FlaskClient) -> None:
    code = get_code(sandbox_client)
    assert exchange(sandbox_client, code, redirect_uri=REDIRECT + "?x=1").status_code == 400
    code = get_code(sandbox_client)
    assert exchange(sandbox_client, code).status_code == 200
    assert exchange(sandbox_client, code).status_code == 400


def test_expired_code_is_refused(sandbox_client: FlaskClient) -> None:
    code = get_code(sandbox_client)
    sandbox_client.post("/_sandbox/clock", json={"advance_seconds": 31 * 60})
    assert exchange(sandbox_client, code).status_code == 400


def test_refresh_keeps_the_refresh_token_and_its_countdown(sandbox_client: FlaskClient) -> None:
    first = exchange(sandbox_client, get_code(sandbox_client)).get_json()
    sandbox_client.post("/_sandbox/clock", json={"advance_seconds": 10 * 86400})
    again = sandbox_client.post(TOKEN, data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"],
                                             "client_id": CLIENT_ID, "client_secret": SECRET}).get_json()
    assert again["refresh_token"] == first["refresh_token"]
    assert again["refresh_token_expires_in"] == pytest.approx(355 * 86400, abs=5)
    assert again["access_token"] != first["access_token"]


# -- the versioned API ---------------------------------------------------------------------------------------------


def test_rest_calls_need_an_active_version(sandbox_client: FlaskClient) -> None:
    token = access(sandbox_client)
    headers = rest(token)
    del headers["LinkedIn-Version"]
    missing = sandbox_client.post("/api.linkedin.com/rest/posts", json=text_post(MEMBER, "x"), headers=headers)
    assert missing.status_code == 400 and missing.get_json()["code"] == "VERSION_MISSING"
    sunset = sandbox_client.post("/api.linkedin.com/rest/posts", json=text_post(MEMBER, "x"),
                                 headers=rest(token, "202301"))
    assert sunset.status_code == 426


def test_text_post_returns_an_empty_201_with_the_urn_header(sandbox_client: FlaskClient) -> None:
    token = access(sandbox_client)
    response = sandbox_client.post("/api.linkedin.com/rest/posts", json=text_post(ORG, "Open house \\(Sunday\\)"),
                                   headers=rest(token))
    assert response.status_code == 201 and response.data == b""
    assert response.headers["x-restli-id"].startswith("urn:li:share:")
    posts = sandbox_client.get("/_sandbox/posts?platform=linkedin").get_json()
    assert posts[0]["text"] == "Open house (Sunday)" and posts[0]["account"] == ORG


def test_unescaped_reserved_character_silently_truncates(sandbox_client: FlaskClient) -> None:
    token = access(sandbox_client)
    response = sandbox_client.post("/api.linkedin.com/rest/posts", json=text_post(MEMBER, "3BR (2 baths) #SoldOut"),
                                   headers=rest(token))
    assert response.status_code == 201
    assert sandbox_client.get("/_sandbox/posts").get_json()[0]["text"] == "3BR "
    assert render_little_text("Tour #JustListed https://hv.example/a_b") == "Tour #JustListed https://hv.example/a_b"


def test_commentary_over_3000_characters_is_refused(sandbox_client: FlaskClient) -> None:
    token = access(sandbox_client)
    response = sandbox_client.post("/api.linkedin.com/rest/posts", json=text_post(MEMBER, "a" * 3001),
                                   headers=rest(token))
    assert response.status_code == 422 and "3001" in response.get_json()["message"]


def test_missing_required_field_is_a_422(sandbox_client: FlaskClient) -> None:
    token = access(sandbox_client)
    body = text_post(MEMBER, "x")
    del body["distribution"]
    response = sandbox_client.post("/api.linkedin.com/rest/posts", json=body, headers=rest(token))
    assert response.status_code == 422 and "/distribution" in response.get_json()["message"]


def test_posting_as_an_organization_needs_a_posting_role_and_scope(sandbox_client: FlaskClient) -> None:
    token = access(sandbox_client)
    analyst_org = "urn:li:organization:51023377"
    response = sandbox_client.post("/api.linkedin.com/rest/posts", json=text_post(analyst_org, "x"),
                                   headers=rest(token))
    assert response.status_code == 403
    member_only = access(sandbox_client, scopes=MEMBER_SCOPES)
    response = sandbox_client.post("/api.linkedin.com/rest/posts", json=text_post(ORG, "x"), headers=rest(member_only))
    assert response.status_code == 403 and response.get_json()["code"] == "ACCESS_DENIED"


def test_media_must_be_uploaded_before_posting(sandbox_client: FlaskClient) -> None:
    token = access(sandbox_client)
    init = sandbox_client.post("/api.linkedin.com/rest/images?action=initializeUpload",
                               json={"initializeUploadRequest": {"owner": ORG}}, headers=rest(token)).get_json()
    body = {**text_post(ORG, "Kitchen"), "content": {"media": {"id": init["value"]["image"]}}}
    not_ready = sandbox_client.post("/api.linkedin.com/rest/posts", json=body, headers=rest(token))
    assert not_ready.status_code == 422 and "AVAILABLE" in not_ready.get_json()["message"]
    upload_path = urlsplit(init["value"]["uploadUrl"])
    put = sandbox_client.put(f"/www.linkedin.com{upload_path.path}?{upload_path.query}", data=b"jpeg",
                             headers={"Authorization": f"Bearer {token}"})
    assert put.status_code == 201
    assert sandbox_client.post("/api.linkedin.com/rest/posts", json=body, headers=rest(token)).status_code == 201


def test_revoked_and_unknown_tokens_get_linkedin_errors(sandbox_client: FlaskClient) -> None:
    response = sandbox_client.get("/api.linkedin.com/v2/userinfo", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401 and response.get_json()["serviceErrorCode"] == 65600
    response = sandbox_client.get("/api.linkedin.com/v2/me", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401 and response.get_json()["serviceErrorCode"] == 65600


def test_share_statistics_use_linkedin_field_names(sandbox_client: FlaskClient) -> None:
    token = access(sandbox_client)
    urn = sandbox_client.post("/api.linkedin.com/rest/posts", json=text_post(ORG, "Stats"),
                              headers=rest(token)).headers["x-restli-id"]
    sandbox_client.post("/_sandbox/clock", json={"advance_seconds": 6 * 3600})
    response = sandbox_client.get(
        "/api.linkedin.com/rest/organizationalEntityShareStatistics",
        query_string={"q": "organizationalEntity", "organizationalEntity": ORG, "shares": f"List({urn})"},
        headers=rest(token),
    )
    stats = response.get_json()["elements"][0]["totalShareStatistics"]
    assert set(stats) == {"impressionCount", "uniqueImpressionsCount", "clickCount", "likeCount", "commentCount",
                          "shareCount", "engagement"}
    assert stats["impressionCount"] > 0 and 0 < stats["engagement"] < 1


# -- round trip with the real adapter --------------------------------------------------------------------------------


def consent(provider: LinkedInProvider, state: str) -> TokenSet:
    """Open the adapter's authorization URL, click Allow, and exchange the code, as Stella would."""
    url = provider.authorization_url(redirect_uri=REDIRECT, state=state)
    assert requests.get(url, timeout=10).status_code == 200
    allowed = requests.post(url, data={"decision": "allow"}, allow_redirects=False, timeout=10)
    query = parse_qs(urlsplit(allowed.headers["Location"]).query)
    assert query["state"] == [state] and "error" not in query, query
    return provider.exchange_code(code=query["code"][0], redirect_uri=REDIRECT)


def test_member_only_round_trip_with_the_default_scopes(sandbox_server: RunningServer) -> None:
    provider = LinkedInProvider(ClientCredentials(CLIENT_ID, SECRET), HttpClient(sandbox_url=sandbox_server.url))
    tokens = consent(provider, "member")
    assert tokens.scopes == frozenset(MEMBER_SCOPES.split())

    profile = provider.fetch_profile(tokens)  # OpenID Connect userinfo
    assert profile.platform_account_id == MEMBER and profile.display_name == "Maya Chen"
    # Only the member: the organization list is never asked for, so nothing fails on a member-only app.
    targets = provider.list_targets(tokens, profile)
    assert [(t.kind, t.id) for t in targets] == [("member", MEMBER)]
    tokens, chosen = provider.apply_target(tokens, targets[0])
    account = Account(access_token=tokens.access_token, platform_account_id=chosen.platform_account_id,
                      metadata=dict(chosen.metadata))

    photo = MediaItem(url="https://media.harborvine.example/0.jpg", kind="image", mime_type="image/jpeg",
                      data=b"jpeg")
    published = provider.publish(account, OutboundPost(text="Open house Sunday (2-4pm) #OpenHouse", media=(photo,)))
    assert published.state == "published"
    posts = requests.get(f"{sandbox_server.url}/_sandbox/posts", params={"platform": "linkedin"}, timeout=10).json()
    assert [(p["platform_post_id"], p["account"]) for p in posts] == [(published.platform_post_id, MEMBER)]
    assert posts[0]["text"] == "Open house Sunday (2-4pm) #OpenHouse"

    fresh = provider.refresh(tokens)
    assert provider.fetch_profile(fresh).platform_account_id == MEMBER


def test_page_deployment_round_trip_with_configured_scopes(sandbox_server: RunningServer) -> None:
    provider = LinkedInProvider(ClientCredentials(CLIENT_ID, SECRET), HttpClient(sandbox_url=sandbox_server.url),
                                options=PAGE_OPTIONS)
    tokens = consent(provider, "rt")
    assert tokens.refresh_token and "openid" not in tokens.scopes

    profile = provider.fetch_profile(tokens)  # /v2/me: a Community Management app has no openid
    assert profile.platform_account_id == MEMBER and profile.display_name == "Maya Chen"
    assert profile.handle == "maya-chen-harborvine"
    targets = provider.list_targets(tokens, profile)
    assert [(t.kind, t.name) for t in targets] == [
        ("member", "Maya Chen"),
        ("organization", "Harbor & Vine Realty"),
        ("organization", "Harbor & Vine Property Management"),
    ]
    tokens, page = provider.apply_target(tokens, targets[1])
    account = Account(access_token=tokens.access_token, platform_account_id=page.platform_account_id,
                      handle=page.handle, metadata=dict(page.metadata))

    text = "Just listed (3BR, 2BA) in Harbor Heights! #JustListed https://harborvine.example/l/12"
    photos = tuple(MediaItem(url=f"https://media.harborvine.example/{n}.jpg", kind="image", mime_type="image/jpeg",
                             data=b"jpeg" + bytes([n])) for n in range(2))
    published = provider.publish(account, OutboundPost(text=text, media=photos))
    assert published.state == "published"
    assert published.permalink == f"https://www.linkedin.com/feed/update/{published.platform_post_id}"

    video = MediaItem(url="https://media.harborvine.example/tour.mp4", kind="video", mime_type="video/mp4",
                      data=b"v" * (4 * 1024 * 1024 + 10))  # two upload parts
    result = provider.publish(account, OutboundPost(text="Walkthrough of 12 Elm", media=(video,)))
    for _ in range(5):
        if result.state == "published":
            break
        result = provider.check_publish(account, result.poll or {})
    assert result.state == "published"

    posts = requests.get(f"{sandbox_server.url}/_sandbox/posts", params={"platform": "linkedin"}, timeout=10).json()
    assert [p["platform_post_id"] for p in posts] == [published.platform_post_id, result.platform_post_id]
    assert posts[0]["text"] == text  # escaping kept the whole text
    assert posts[0]["account"] == ORG and len(posts[0]["media"]) == 2
    assert posts[1]["media"][0]["kind"] == "video"

    fresh = provider.refresh(TokenSet(access_token=tokens.access_token, refresh_token=tokens.refresh_token,
                                      refresh_expires_at=tokens.refresh_expires_at))
    assert fresh.refresh_token == tokens.refresh_token and fresh.access_token != tokens.access_token
    assert provider.fetch_profile(fresh).platform_account_id == MEMBER


@pytest.mark.parametrize("options", [{}, PAGE_OPTIONS], ids=["member", "page"])
def test_adapter_sees_an_expired_token_as_auth_expired(sandbox_server: RunningServer, options: dict) -> None:
    provider = LinkedInProvider(ClientCredentials(CLIENT_ID, SECRET), HttpClient(sandbox_url=sandbox_server.url),
                                options=options)
    with pytest.raises(AuthExpiredError):
        provider.fetch_profile(TokenSet(access_token="not-a-token"))


def test_the_old_mixed_scope_set_cannot_connect(sandbox_server: RunningServer) -> None:
    """The regression platform-verification.md item 1 found: one app asking for both products gets an error."""
    provider = LinkedInProvider(ClientCredentials(CLIENT_ID, SECRET), HttpClient(sandbox_url=sandbox_server.url),
                                options={"scopes": "openid profile w_member_social w_organization_social "
                                                   "rw_organization_admin r_organization_social"})
    response = requests.get(provider.authorization_url(redirect_uri=REDIRECT, state="old"), allow_redirects=False,
                            timeout=10)
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["error"] == ["unauthorized_scope_error"]


# -- Stella itself, configured for a Page deployment -------------------------------------------------------------


def test_stella_connects_a_page_with_the_scopes_override_and_publishes_as_it(
    app: Flask, client: FlaskClient, login: Any, db: Any, sandboxed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """STELLA_LINKEDIN_SCOPES travels from the Config to the consent page, the granted-scope check, the profile
    (/v2/me) and the organization pick step; the Page is stored and published to."""
    config = app.extensions[CONFIG_KEY]
    monkeypatch.setitem(app.extensions, CONFIG_KEY, config.with_overrides(provider_options={"linkedin": PAGE_OPTIONS}))
    user = login("marketing")
    response = client.post("/connections/linkedin/connect")
    consent_url = response.headers["Location"]
    assert parse_qs(urlsplit(consent_url).query)["scope"] == [SCOPES]
    decision = requests.post(consent_url, data={"decision": "allow"}, allow_redirects=False, timeout=10)
    back = urlsplit(decision.headers["Location"])
    assert "error" not in parse_qs(back.query), back.query
    response = client.get(back.path, query_string=back.query)
    assert response.headers["Location"].endswith("/connections/linkedin/select")

    page = client.get("/connections/linkedin/select").get_data(as_text=True)
    assert "Harbor &amp; Vine Realty" in page and "Maya Chen" in page
    assert client.post("/connections/linkedin/select", data={"target": ORG}).status_code == 302
    _db.session.expire_all()
    connection = _db.session.execute(
        sa.select(SocialConnection).filter_by(user_id=user.id, provider="linkedin")
    ).scalar_one()
    assert connection.status == "connected" and connection.tokens.platform_account_id == ORG

    provider = provider_for_connection(connection)
    result = call_with_fresh_token(connection, lambda account: provider.publish(
        account, OutboundPost(text="Open house at 12 Elm (Sunday)", idempotency_key="li-page")))
    posts = requests.get(f"{sandboxed}/_sandbox/posts", params={"platform": "linkedin"}, timeout=10).json()
    assert [(p["platform_post_id"], p["account"]) for p in posts] == [(result.platform_post_id, ORG)]


def test_stella_default_member_connection_needs_no_pick_step(
    client: FlaskClient, login: Any, db: Any, sandboxed: str
) -> None:
    user = login("marketing")
    connect_through_sandbox(client, "linkedin")
    _db.session.expire_all()
    connection = _db.session.execute(
        sa.select(SocialConnection).filter_by(user_id=user.id, provider="linkedin")
    ).scalar_one()
    assert connection.status == "connected" and connection.tokens.platform_account_id == MEMBER
