"""/api/v1: bearer-only authentication, roles, JSON errors everywhere, hashed tokens, the generated OpenAPI document,
and the API tokens page on the profile."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

import pytest
from flask import url_for
from openapi_spec_validator import validate as validate_openapi
from pydantic import Field

from stella.api.openapi import build_document, openapi_path
from stella.api.routing import ApiRoute
from stella.api.schemas import ApiHeaders, ApiQuery, ApiResponse
from stella.models import ApiToken
from stella.permissions import Ability
from stella.services import api_tokens as token_service
from stella.services.errors import NotFoundError, ValidationError
from tests.factories import make_user
from tests.fake_providers import raw_dump

API = "/api/v1"


@pytest.fixture()
def token_for(db, now):
    """`token_for(user)` → a fresh plaintext token for that user (committed)."""

    def create(user, name="test token"):
        _, plaintext = token_service.create_api_token(user, name, now)
        db.session.commit()
        return plaintext

    return create


@pytest.fixture()
def api_as(db, token_for):
    """`api_as("staff")` → (user, headers carrying a bearer token for a new user with that role)."""

    def make(role="marketing", **fields):
        user = make_user(role, **fields)
        db.session.commit()
        return user, bearer(token_for(user))

    return make


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error(response, status, *, field=None, contains=None):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json", response.get_data(as_text=True)[:200]
    body = response.get_json()
    assert set(body) == {"errors"} and body["errors"], body
    for error in body["errors"]:
        assert set(error) == {"field", "platform", "message"} and error["message"]
    if field is not None:
        assert field in [error["field"] for error in body["errors"]], body
    if contains is not None:
        assert any(contains in error["message"] for error in body["errors"]), body
    assert "Traceback" not in response.get_data(as_text=True)
    return body


# -- authentication ---------------------------------------------------------------------------------------------


def test_a_valid_token_acts_as_its_user(client, api_as):
    user, headers = api_as("approver")
    response = client.get(f"{API}/me", headers=headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == str(user.id) and body["email"] == user.email and body["role"] == "approver"
    assert "approve_posts" in body["abilities"] and "manage_users" not in body["abilities"]
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "stl_notbearer",
        "Bearer stl_a stl_b",
        "Bearer stl_" + "x" * 43,
        "Bearer not-even-our-format",
        "Bearer " + "stl_" + "y" * 500,
    ],
)
def test_missing_malformed_or_wrong_tokens_get_a_json_401_with_a_bearer_challenge(client, db, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = client.get(f"{API}/me", headers=headers)
    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_bearer_scheme_is_case_insensitive(client, api_as):
    _, headers = api_as()
    response = client.get(f"{API}/me", headers={"Authorization": headers["Authorization"].replace("Bearer", "bearer")})
    assert response.status_code == 200


def test_a_revoked_token_is_refused(client, db, api_as, now):
    user, headers = api_as()
    [token] = token_service.list_api_tokens(user)
    token_service.revoke_api_token(user, token.id, now)
    db.session.commit()
    assert_error(client.get(f"{API}/me", headers=headers), 401)


def test_a_deactivated_users_token_is_refused(client, db, api_as):
    user, headers = api_as("admin")
    user.is_active = False
    db.session.commit()
    assert_error(client.get(f"{API}/me", headers=headers), 401)


def test_a_browser_session_alone_does_not_authenticate_the_api(client, login, db):
    user = login("admin")
    assert client.get("/profile").status_code == 200  # the session works for pages
    assert_error(client.get(f"{API}/me"), 401)
    assert_error(client.post(f"{API}/tokens", json={"name": "sneaky"}), 401)
    assert token_service.list_api_tokens(user) == []


def test_with_a_session_cookie_and_a_token_the_token_decides_who_acts(client, login, api_as):
    login("admin")
    other, headers = api_as("staff")
    response = client.get(f"{API}/me", headers=headers)
    assert response.get_json()["id"] == str(other.id)
    assert "Set-Cookie" not in response.headers  # the API neither reads nor renews the browser session
    assert_error(client.get(f"{API}/users", headers=headers), 403)


def test_api_writes_need_no_csrf_token_but_pages_still_do(app, client, login, api_as, monkeypatch):
    signed_in = login()
    _, headers = api_as()
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    assert client.post(f"{API}/tokens", json={"name": "from a script"}, headers=headers).status_code == 201
    # The page's form without its CSRF token is still refused (a redirect with a flash, nothing created).
    assert client.post("/profile/api-tokens", data={"name": "x"}).status_code == 302
    assert token_service.list_api_tokens(signed_in) == []


def test_the_openapi_document_is_public(client, db):
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200 and response.get_json()["openapi"].startswith("3.1")


# -- roles --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "status"), [("staff", 403), ("marketing", 403), ("approver", 403), ("admin", 200)])
def test_tokens_act_with_their_users_role(client, api_as, role, status):
    _, headers = api_as(role)
    response = client.get(f"{API}/users", headers=headers)
    if status == 200:
        assert response.status_code == 200 and response.get_json()["users"]
    else:
        assert_error(response, 403)


# -- tokens ---------------------------------------------------------------------------------------------------------


def test_tokens_are_stored_as_a_sha256_hash_only(client, db, api_as):
    user, headers = api_as()
    response = client.post(f"{API}/tokens", json={"name": "Zapier"}, headers=headers)
    assert response.status_code == 201
    created = response.get_json()
    plaintext = created["token"]
    assert plaintext.startswith("stl_") and len(plaintext) >= 40
    assert created["prefix"] == plaintext[:10] and created["name"] == "Zapier" and created["active"] is True
    row = db.session.get(ApiToken, uuid.UUID(created["id"]))
    assert row.token_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert plaintext not in raw_dump()
    assert plaintext[10:] not in raw_dump()
    # Listing never shows it again.
    listed = client.get(f"{API}/tokens", headers=headers)
    assert plaintext not in listed.get_data(as_text=True)
    assert {token["name"] for token in listed.get_json()["tokens"]} == {"test token", "Zapier"}
    # And the new token works.
    assert client.get(f"{API}/me", headers=bearer(plaintext)).get_json()["id"] == str(user.id)


def test_listing_tokens_filters_by_state_and_refuses_unknown_parameters(client, db, api_as, token_for, now):
    user, headers = api_as()
    token_for(user, "old")
    old = next(token for token in token_service.list_api_tokens(user) if token.name == "old")
    token_service.revoke_api_token(user, old.id, now)
    db.session.commit()

    def names(query):
        response = client.get(f"{API}/tokens{query}", headers=headers)
        assert response.status_code == 200, response.get_json()
        return [token["name"] for token in response.get_json()["tokens"]]

    assert names("") == ["test token", "old"]
    assert names("?active=true") == ["test token"]
    assert names("?active=false") == ["old"]
    assert_error(client.get(f"{API}/tokens?active=maybe", headers=headers), 422, field="active")
    assert_error(client.get(f"{API}/tokens?state=active", headers=headers), 422, field="state",
                 contains="Unknown field 'state'")


def test_revoking_through_the_api(client, db, api_as, token_for):
    user, headers = api_as()
    spare = token_for(user, "spare")
    spare_id = next(token.id for token in token_service.list_api_tokens(user) if token.name == "spare")
    assert client.delete(f"{API}/tokens/{spare_id}", headers=headers).status_code == 204
    assert_error(client.get(f"{API}/me", headers=bearer(spare)), 401)
    # Revoking again is not an error; the token that made the calls still works.
    assert client.delete(f"{API}/tokens/{spare_id}", headers=headers).status_code == 204
    assert client.get(f"{API}/me", headers=headers).status_code == 200


def test_another_users_token_is_not_found(client, db, api_as, token_for, now):
    owner = make_user("marketing")
    db.session.commit()
    theirs = token_for(owner)
    [their_token] = token_service.list_api_tokens(owner)
    me, headers = api_as("admin")
    assert_error(client.delete(f"{API}/tokens/{their_token.id}", headers=headers), 404)
    assert_error(client.delete(f"{API}/tokens/{uuid.uuid4()}", headers=headers), 404)
    with pytest.raises(NotFoundError):
        token_service.revoke_api_token(me, their_token.id, now)
    assert client.get(f"{API}/me", headers=bearer(theirs)).status_code == 200


def test_last_used_is_recorded_at_most_once_a_minute(db, token_for, now):
    user = make_user()
    plaintext = token_for(user)
    [token] = token_service.list_api_tokens(user)
    assert token.last_used_at is None
    assert token_service.authenticate_token(plaintext, now) == user
    assert token.last_used_at == now
    token_service.authenticate_token(plaintext, now + timedelta(seconds=59))
    assert token.last_used_at == now
    token_service.authenticate_token(plaintext, now + timedelta(seconds=61))
    assert token.last_used_at == now + timedelta(seconds=61)


def test_calls_through_the_api_record_the_last_use(client, db, api_as):
    user, headers = api_as()
    client.get(f"{API}/me", headers=headers)
    db.session.expire_all()
    [token] = token_service.list_api_tokens(user)
    assert token.last_used_at is not None


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, "tab\there", "nul\x00"])
def test_token_names_must_be_short_printable_text(db, now, name):
    user = make_user()
    with pytest.raises(ValidationError) as caught:
        token_service.create_api_token(user, name, now)
    assert caught.value.field == "name"


def test_a_deactivated_user_cannot_get_a_token(db, now):
    user = make_user(is_active=False)
    with pytest.raises(Exception, match="deactivated"):
        token_service.create_api_token(user, "late", now)


# -- errors are JSON ------------------------------------------------------------------------------------------------


def test_unknown_paths_under_the_api_are_json_404s(client, api_as):
    _, headers = api_as()
    for path in (f"{API}/nope", f"{API}", f"{API}/tokens/not-a-uuid", f"{API}/connections/not-a-platform"):
        assert_error(client.get(path, headers=headers), 404)
    assert_error(client.get(f"{API}/nope"), 404)  # even without a token: nothing to protect there


def test_pages_outside_the_api_keep_their_html_errors(client, login):
    login()
    response = client.get("/no-such-page")
    assert response.status_code == 404 and response.mimetype == "text/html"


def test_wrong_method_is_a_json_405_with_allow(client, api_as):
    _, headers = api_as()
    response = client.put(f"{API}/tokens", headers=headers, json={})
    assert_error(response, 405)
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


def test_malformed_json_is_a_400(client, api_as):
    _, headers = api_as()
    response = client.post(f"{API}/tokens", data='{"name": ', content_type="application/json", headers=headers)
    assert_error(response, 400, contains="not valid JSON")


def test_a_body_that_is_not_json_is_a_415(client, api_as):
    _, headers = api_as()
    assert_error(client.post(f"{API}/tokens", data={"name": "form post"}, headers=headers), 415)


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"name": "ok", "scopes": ["all"]}, "scopes", "Unknown field 'scopes'"),
        ({"name": 42}, "name", "valid string"),
        ({}, "name", "required"),
        ({"name": "   "}, "name", None),
        (["name"], None, "JSON object"),
    ],
)
def test_invalid_bodies_are_422s_naming_the_field(client, api_as, payload, field, message):
    _, headers = api_as()
    body = assert_error(client.post(f"{API}/tokens", json=payload, headers=headers), 422, contains=message)
    assert body["errors"][0]["field"] == field


def test_a_too_large_body_is_a_json_413(app, client, api_as, monkeypatch):
    _, headers = api_as()
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 64)
    response = client.post(f"{API}/tokens", json={"name": "x" * 200}, headers=headers)
    assert_error(response, 413)


def test_domain_errors_map_to_statuses_in_one_place(client, api_as, monkeypatch):
    from stella.services.errors import ConflictError, PermissionDeniedError

    _, headers = api_as()
    for error, status in ((ConflictError("Already done.", field="name"), 409), (PermissionDeniedError("No."), 403),
                          (ValidationError("Bad name.", field="name"), 422)):

        def refuse(*args, error=error, **kwargs):
            raise error

        monkeypatch.setattr(token_service, "create_api_token", refuse)
        body = assert_error(client.post(f"{API}/tokens", json={"name": "x"}, headers=headers), status)
        assert body["errors"][0]["message"] == error.message and body["errors"][0]["field"] == error.field


def test_an_unexpected_error_is_a_json_500_without_details(app, client, api_as, monkeypatch):
    _, headers = api_as()

    def explode(user):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(token_service, "list_api_tokens", explode)
    monkeypatch.setitem(app.config, "TESTING", False)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    response = client.get(f"{API}/tokens", headers=headers)
    assert_error(response, 500)
    assert "secret internals" not in response.get_data(as_text=True)


# -- connections ----------------------------------------------------------------------------------------------------


def test_connections_list_the_callers_accounts_without_tokens(client, db, api_as, now):
    from stella.models import SocialAccountToken, SocialConnection

    user, headers = api_as()
    connection = SocialConnection(user_id=user.id, provider="linkedin", status="connected", connected_at=now)
    connection.tokens = SocialAccountToken(
        access_token="access-secret-123", refresh_token="refresh-secret-456", account_handle="harbor-realty",
        display_name="Harbor Realty", token_expires_at=now + timedelta(days=30),
    )
    db.session.add(connection)
    other = make_user()
    db.session.add(SocialConnection(user_id=other.id, provider="x", status="connected", connected_at=now))
    db.session.commit()

    response = client.get(f"{API}/connections", headers=headers)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "access-secret-123" not in text and "refresh-secret-456" not in text
    [item] = response.get_json()["connections"]
    assert item["platform"] == "linkedin" and item["status"] == "connected" and item["handle"] == "harbor-realty"
    assert item["display_name"] == "Harbor Realty" and item["error_reason"] is None
    assert item["token_expires_at"].startswith("2026-12-24")

    assert client.get(f"{API}/connections/linkedin", headers=headers).get_json()["handle"] == "harbor-realty"
    assert_error(client.get(f"{API}/connections/x", headers=headers), 404)  # another user's


# -- the OpenAPI document -------------------------------------------------------------------------------------------


def test_the_openapi_document_is_valid_openapi_3_1(client, db):
    document = client.get(f"{API}/openapi.json").get_json()
    assert document["openapi"] == "3.1.0"
    validate_openapi(document)


def test_the_openapi_document_lists_every_api_route(app, client, db):
    document = client.get(f"{API}/openapi.json").get_json()
    documented = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    registered = {
        (openapi_path(rule.rule), method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(API + "/")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    assert registered, "no /api/v1 routes registered"
    assert documented == registered
    for path, item in document["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            assert operation["summary"] and operation["responses"], where
            if operation["security"]:
                assert "401" in operation["responses"], where


# A value for each kind of URL argument, so routes added later are walked without a change here.
SAMPLE_ARGUMENTS = {"UUIDConverter": uuid.uuid4(), "IntegerConverter": 1, "UnicodeConverter": "linkedin",
                    "PathConverter": "x"}


def test_every_api_route_other_than_the_document_needs_a_token(app, client, db):
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(API + "/") or rule.endpoint == "api.openapi_document":
            continue
        values = {name: SAMPLE_ARGUMENTS[type(rule._converters[name]).__name__] for name in rule.arguments}
        with app.test_request_context():
            url = url_for(rule.endpoint, **values)
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            response = client.open(url, method=method, json={})
            assert response.status_code == 401, f"{method} {url}"


def test_query_and_header_models_become_documented_parameters():
    class Filters(ApiQuery):
        status: list[str] = Field(default_factory=list, description="Repeat to match several.")
        limit: int = Field(default=20, ge=1, le=100)

    class Retry(ApiHeaders):
        key: str = Field(alias="Idempotency-Key", max_length=255)

    class Out(ApiResponse):
        ok: bool

    route = ApiRoute(method="POST", rule="/things/<int:thing_id>", endpoint="api.make_thing", summary="Make",
                     description=None, tag="things", ability=Ability.CREATE_POSTS, public=False, body=None,
                     query=Filters, headers=Retry, response=Out, status=201, errors=(409,))
    document = build_document([route])
    validate_openapi(document)
    operation = document["paths"]["/api/v1/things/{thing_id}"]["post"]
    parameters = {(p["in"], p["name"]): p for p in operation["parameters"]}
    assert parameters[("path", "thing_id")]["schema"] == {"type": "integer", "minimum": 0}
    assert parameters[("query", "status")]["schema"]["type"] == "array" and parameters[("query", "status")]["explode"]
    assert parameters[("query", "limit")]["schema"]["maximum"] == 100 and not parameters[("query", "limit")]["required"]
    assert parameters[("header", "Idempotency-Key")]["required"] is True
    assert set(operation["responses"]) == {"201", "401", "403", "404", "409", "422"}
    assert "Filters" not in document["components"]["schemas"] and "Retry" not in document["components"]["schemas"]
    assert "create_posts" in operation["description"]


# -- the API tokens page ----------------------------------------------------------------------------------------------


def test_the_tokens_page_creates_a_token_and_shows_it_once(client, db, login):
    user = login("staff")
    page = client.get("/profile/api-tokens")
    assert page.status_code == 200 and b"No API tokens yet" in page.data

    created = client.post("/profile/api-tokens", data={"name": "Spreadsheet sync"})
    assert created.status_code == 200
    assert created.headers["Cache-Control"] == "no-store"
    [token] = token_service.list_api_tokens(user)
    html = created.get_data(as_text=True)
    plaintext = html.split('id="new-token-value" value="', 1)[1].split('"', 1)[0]
    assert plaintext.startswith(token.prefix) and token.token_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert "Spreadsheet sync" in html

    again = client.get("/profile/api-tokens").get_data(as_text=True)
    assert plaintext not in again and token.prefix in again
    with client.session_transaction() as session:
        assert plaintext not in repr(dict(session))


def test_the_tokens_page_refuses_a_blank_name(client, db, login):
    user = login()
    response = client.post("/profile/api-tokens", data={"name": "  "})
    assert response.status_code == 422 and b"Give the token a name" in response.data
    assert token_service.list_api_tokens(user) == []


def test_the_tokens_page_revokes_only_the_users_own_tokens(client, db, login, token_for, flashes):
    user = login()
    mine = token_for(user, "mine")
    other = make_user()
    db.session.commit()
    token_for(other, "theirs")
    [my_token] = token_service.list_api_tokens(user)
    [their_token] = token_service.list_api_tokens(other)

    response = client.post(f"/profile/api-tokens/{their_token.id}/revoke")
    assert response.status_code == 302
    assert flashes() == [("error", "That API token does not exist.")]
    db.session.expire_all()
    assert their_token.revoked_at is None

    response = client.post(f"/profile/api-tokens/{my_token.id}/revoke")
    assert response.status_code == 302 and response.headers["Location"].endswith("/profile/api-tokens")
    db.session.expire_all()
    assert my_token.revoked_at is not None
    assert token_service.authenticate_token(mine, my_token.revoked_at) is None
    assert b"Revoked" in client.get("/profile/api-tokens").data


def test_the_tokens_page_needs_a_signed_in_user(client, db):
    response = client.get("/profile/api-tokens")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
