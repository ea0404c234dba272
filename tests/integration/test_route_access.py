"""Walk every registered route as every kind of visitor and check who gets in.

The table below is the single statement of who may reach what. A route added without an entry fails
`test_every_registered_endpoint_is_in_the_access_table` (and every role test) until someone decides its
access and adds it here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask, url_for
from werkzeug.routing import Rule

from stella.permissions import ROLE_ABILITIES, Ability
from tests.factories import DEFAULT_PASSWORD, make_user

PUBLIC = "public"  # reachable without signing in
SIGNED_IN = "signed in"  # any active user, whatever their role
BEARER = "bearer token"  # the JSON API: a token, never the session cookie


@dataclass(frozen=True)
class Access:
    needs: Ability | str
    # Requests that sign the visitor out run last, so they do not hide the result of the others.
    ends_session: bool = False


ACCESS: dict[str, Access] = {
    "static": Access(PUBLIC),
    "health": Access(PUBLIC),
    "auth.login": Access(PUBLIC),
    "auth.logout": Access(SIGNED_IN, ends_session=True),
    "profile.index": Access(SIGNED_IN),
    "profile.update": Access(SIGNED_IN),
    "profile.change_password": Access(SIGNED_IN),
    "dashboard.home": Access(Ability.VIEW),
    "posts.index": Access(Ability.VIEW),
    "calendar.index": Access(Ability.VIEW),
    "approvals.index": Access(Ability.VIEW),
    "analytics.index": Access(Ability.VIEW),
    "connections.index": Access(Ability.VIEW),
    "connections.connect": Access(Ability.MANAGE_CONNECTIONS),
    "connections.callback": Access(Ability.MANAGE_CONNECTIONS),
    "connections.select": Access(Ability.MANAGE_CONNECTIONS),
    "connections.disconnect": Access(Ability.MANAGE_CONNECTIONS),
    "admin.users": Access(Ability.MANAGE_USERS),
    "admin.new_user": Access(Ability.MANAGE_USERS),
    "admin.change_role": Access(Ability.MANAGE_USERS),
    "admin.deactivate": Access(Ability.MANAGE_USERS),
    "admin.reactivate": Access(Ability.MANAGE_USERS),
    "api_tokens.index": Access(SIGNED_IN),
    "api_tokens.create": Access(SIGNED_IN),
    "api_tokens.revoke": Access(SIGNED_IN),
    "media.upload": Access(Ability.CREATE_POSTS),
    "media.from_url": Access(Ability.CREATE_POSTS),
    "media.thumbnail": Access(Ability.VIEW),
    "media.public_file": Access(PUBLIC),
    "platform_styles": Access(PUBLIC),
    "posts.compose": Access(Ability.CREATE_POSTS),
    "posts.edit": Access(Ability.CREATE_POSTS),
    "posts.checks": Access(Ability.CREATE_POSTS),
    "posts.picker": Access(Ability.CREATE_POSTS),
    "posts.detail": Access(Ability.VIEW),
    "posts.delete": Access(Ability.CREATE_POSTS),
}

# /api/v1 authenticates only `Authorization: Bearer`: a signed-in browser gets 401 like anyone without a token, so the
# walk below expects 401 there (whoever the visitor is) except on the public document. Roles behind a token are
# tested in tests/integration/test_api_foundation.py.
API_BLUEPRINT = "api."
PUBLIC_API = frozenset({"api.openapi_document"})

VISITORS = ("anonymous", "staff", "marketing", "approver", "admin")
# Values for URL arguments by name; anything else gets a value from its converter type.
ARGUMENTS_BY_NAME: dict[str, Any] = {"provider": "mastodon", "filename": "css/stella.css"}
ARGUMENTS_BY_CONVERTER: dict[str, Any] = {
    "UUIDConverter": uuid.UUID(int=1),
    "IntegerConverter": 1,
    "FloatConverter": 1.0,
    "UnicodeConverter": "x",
    "PathConverter": "x",
    "AnyConverter": None,  # filled from the converter's own choices
}


def _routes(app: Flask) -> list[tuple[Rule, str]]:
    pairs = [
        (rule, method)
        for rule in app.url_map.iter_rules()
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
    ]
    return sorted(pairs, key=lambda pair: (_access(pair[0].endpoint).ends_session, pair[0].endpoint, pair[1]))


def _access(endpoint: str) -> Access:
    if endpoint.startswith(API_BLUEPRINT):
        return Access(PUBLIC if endpoint in PUBLIC_API else BEARER)
    try:
        return ACCESS[endpoint]
    except KeyError:
        pytest.fail(
            f"Endpoint {endpoint!r} is not in ACCESS in tests/integration/test_route_access.py: "
            "add it with the ability (or PUBLIC / SIGNED_IN) it should need.",
            pytrace=False,
        )


def _url(app: Flask, rule: Rule, known: dict[str, Any]) -> str:
    values: dict[str, Any] = {}
    for name in rule.arguments:
        if name in known:
            values[name] = known[name]
            continue
        converter = rule._converters[name]
        kind = type(converter).__name__
        if kind == "AnyConverter":
            values[name] = sorted(converter.items)[0] if hasattr(converter, "items") else "x"
        elif kind in ARGUMENTS_BY_CONVERTER:
            values[name] = ARGUMENTS_BY_CONVERTER[kind]
        else:
            pytest.fail(f"No test value for URL argument {name!r} ({kind}) of {rule.endpoint}: add one.")
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


def _allowed(visitor: str, needs: Ability | str) -> bool:
    if needs == PUBLIC:
        return True
    if visitor == "anonymous":
        return False
    if needs == SIGNED_IN:
        return True
    return needs in ROLE_ABILITIES[visitor]


def _to_login(response: Any) -> bool:
    """Sent to sign in by the deny-by-default guard (which always passes `next`; signing out does not)."""
    return response.status_code in (301, 302, 303) and response.headers.get("Location", "").startswith("/login?next=")


def test_every_registered_endpoint_is_in_the_access_table(app):
    registered = {rule.endpoint for rule in app.url_map.iter_rules() if not rule.endpoint.startswith(API_BLUEPRINT)}
    missing = sorted(registered - ACCESS.keys())
    assert not missing, (
        f"Routes without an access rule: {missing}. Add each to ACCESS in tests/integration/test_route_access.py."
    )


def test_access_table_names_only_registered_endpoints(app):
    registered = {rule.endpoint for rule in app.url_map.iter_rules()}
    stale = sorted(ACCESS.keys() - registered)
    assert not stale, f"ACCESS lists endpoints that no longer exist: {stale}. Remove or rename them."


@pytest.mark.parametrize("visitor", VISITORS)
def test_each_route_lets_in_exactly_the_visitors_the_table_allows(app, client, db, visitor):
    target = make_user("staff")  # a real user for /admin/users/<id>/… routes
    me = None
    if visitor != "anonymous":
        me = make_user(visitor)
    db.session.commit()

    def sign_in() -> None:
        if me is not None:
            response = client.post("/login", data={"email": me.email, "password": DEFAULT_PASSWORD})
            assert response.status_code == 302, f"could not sign in as {visitor}"

    sign_in()
    known = {**ARGUMENTS_BY_NAME, "user_id": target.id}
    problems: list[str] = []
    for rule, method in _routes(app):
        access = _access(rule.endpoint)
        url = _url(app, rule, known)
        response = client.open(url, method=method, data={})
        status = response.status_code
        where = f"{method} {url} ({rule.endpoint}, needs {access.needs}) as {visitor}: got {status}"
        if access.needs == BEARER:
            if status != 401 or not response.is_json:
                problems.append(f"{where}, expected a JSON 401 (a session cookie must not reach the API)")
        elif _allowed(visitor, access.needs):
            if status in (401, 403) or status >= 500 or (access.needs != PUBLIC and _to_login(response)):
                problems.append(f"{where}, expected to be let in")
        elif visitor == "anonymous":
            if not _to_login(response):
                problems.append(f"{where}, expected a redirect to /login")
        elif status != 403:
            problems.append(f"{where}, expected 403")
        if access.ends_session:
            sign_in()
    assert not problems, "\n".join(problems)


def test_anonymous_htmx_requests_get_401_with_a_redirect_header(client):
    response = client.get("/profile", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login?next=")


def test_inactive_users_are_treated_as_signed_out(client, db, login):
    user = login("admin")
    user.is_active = False
    db.session.commit()
    response = client.get("/admin/users")
    assert _to_login(response)
