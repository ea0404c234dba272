"""The OAuth checks the platform stand-ins share (stella/sandbox/oauth.py), on a demo platform."""

from __future__ import annotations

import base64
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from flask import Blueprint, Flask, Response, jsonify
from flask.testing import FlaskClient

from stella.sandbox import oauth
from stella.sandbox.core import SandboxPlatform, create_sandbox_app
from tests.sandbox.conftest import STELLA_URL, sandbox_settings

bp = Blueprint("sandbox_oauth_demo", __name__)
DEMO = SandboxPlatform(name="demo", display_name="Demo", blueprint=bp, hosts=("demo.example",))
REDIRECT = f"{STELLA_URL}/connections/demo/callback"
CLIENT_ID, SECRET = "sandbox-demo-id", "sandbox-demo-secret"


@bp.route("/demo.example/authorize", methods=["GET", "POST"])
def authorize() -> Response:
    consent = oauth.check_consent_request(
        DEMO,
        unknown_client=oauth.Refusal("No such app."),
        redirect_mismatch=oauth.Refusal("Wrong redirect."),
        bad_response_type=oauth.Refusal("Bad response_type {value}", "unsupported_response_type"),
        scope_separator=",",
        check_scopes=oauth.known_scopes({"read", "write"}, unknown=oauth.Refusal("Unknown: {value}"),
                                        missing=oauth.Refusal("Scope needed", "invalid_scope")),
    )
    if isinstance(consent, Response):
        return consent
    return consent.page(account_id="acct-1", account_label="Demo account")


@bp.post("/demo.example/token")
def token() -> Response:
    client = oauth.authenticate_client(
        "demo", lambda problem: oauth.oauth_error(401, "invalid_client", problem, extra_field="kept"),
        styles=("basic", "body"),
    )
    if isinstance(client, Response):
        return client
    return jsonify({"client_id": client.client_id})


@bp.post("/demo.example/basic-only")
def basic_only() -> Response:
    client = oauth.authenticate_client("demo", lambda problem: oauth.oauth_error(401, "invalid_client", problem))
    return client if isinstance(client, Response) else jsonify({"client_id": client.client_id})


@pytest.fixture()
def client() -> FlaskClient:
    app: Flask = create_sandbox_app(sandbox_settings=sandbox_settings(), platforms=(DEMO,))
    app.config["TESTING"] = True
    return app.test_client()


def consent_url(**overrides: str | None) -> str:
    params = {"client_id": CLIENT_ID, "redirect_uri": REDIRECT, "response_type": "code", "scope": "read,write",
              "state": "st-1", **overrides}
    return "/demo.example/authorize?" + urlencode({k: v for k, v in params.items() if v is not None})


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


# -- the consent request ------------------------------------------------------------------------------------------


def test_a_good_request_shows_the_consent_page_and_allow_returns_a_code(client: FlaskClient) -> None:
    page = client.get(consent_url())
    assert page.status_code == 200 and "Demo account" in page.get_data(as_text=True)
    allowed = client.post(consent_url(), data={"decision": "allow"})
    query = parse_qs(urlsplit(allowed.headers["Location"]).query)
    assert query["state"] == ["st-1"] and query["code"]


@pytest.mark.parametrize("overrides, message", [
    ({"client_id": "nobody"}, "No such app."),
    ({"client_id": None}, "No such app."),
    ({"redirect_uri": REDIRECT + "/extra"}, "Wrong redirect."),  # exact match: a longer path is another URI
    ({"redirect_uri": f"{STELLA_URL}/connections/demo"}, "Wrong redirect."),
    ({"redirect_uri": REDIRECT, "client_id": "nobody", "scope": "nope"}, "No such app."),  # the client first
])
def test_an_unknown_client_or_redirect_uri_is_shown_on_the_platforms_page_never_redirected(
    client: FlaskClient, overrides: dict[str, str | None], message: str
) -> None:
    for response in (client.get(consent_url(**overrides)),
                     client.post(consent_url(**overrides), data={"decision": "allow"})):
        assert response.status_code == 400 and "Location" not in response.headers
        assert message in response.get_data(as_text=True)


def test_a_bad_response_type_is_redirected_back_with_the_value_in_the_description(client: FlaskClient) -> None:
    response = client.get(consent_url(response_type="token", scope="nope"))  # response_type before the scopes
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert response.status_code == 302 and response.headers["Location"].startswith(REDIRECT + "?")
    assert query == {"error": ["unsupported_response_type"], "error_description": ["Bad response_type token"],
                     "state": ["st-1"]}
    missing = parse_qs(urlsplit(client.get(consent_url(response_type=None)).headers["Location"]).query)
    assert missing["error_description"] == ["Bad response_type (missing)"]


def test_scopes_are_checked_with_the_platforms_wording(client: FlaskClient) -> None:
    unknown = client.get(consent_url(scope="read,delete,admin"))
    assert unknown.status_code == 400 and "Unknown: delete, admin" in unknown.get_data(as_text=True)
    # A space is not this platform's separator: "read write" is one unknown scope.
    assert "Unknown: read write" in client.get(consent_url(scope="read write")).get_data(as_text=True)
    missing = client.get(consent_url(scope=None))
    assert parse_qs(urlsplit(missing.headers["Location"]).query)["error"] == ["invalid_scope"]


def test_the_error_redirect_echoes_state_only_when_the_request_had_one(client: FlaskClient) -> None:
    without = parse_qs(urlsplit(client.get(consent_url(scope=None, state=None)).headers["Location"]).query,
                       keep_blank_values=True)
    assert "state" not in without
    empty = parse_qs(urlsplit(client.get(consent_url(scope=None, state="")).headers["Location"]).query,
                     keep_blank_values=True)
    assert empty["state"] == [""]  # RFC 6749 §4.1.2.1, as the Allow/Deny redirect does


@pytest.mark.parametrize("raw, separator, strip, expected", [
    ("a b  c", " ", False, ["a", "b", "c"]),
    ("a,b, c,,", ",", False, ["a", "b", " c"]),
    ("a,b, c,,", ",", True, ["a", "b", "c"]),
    ("a\tb\nc", None, False, ["a", "b", "c"]),
    ("read+write:statuses  follow", re.compile(r"[\s+]+"), False, ["read", "write:statuses", "follow"]),
    ("", ",", False, []),
])
def test_split_scopes_reads_each_platforms_separator(raw: str, separator: str | re.Pattern[str] | None,
                                                      strip: bool, expected: list[str]) -> None:
    assert oauth.split_scopes(raw, separator, strip=strip) == expected


# -- client authentication ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("headers, form, problem", [
    ({}, {}, "missing"),
    ({}, {"client_id": CLIENT_ID}, "missing"),  # an id without a secret is no credential
    (basic("who", SECRET), {}, "unknown"),
    ({}, {"client_id": "who", "client_secret": SECRET}, "unknown"),
    (basic(CLIENT_ID, "nope"), {}, "secret"),
    ({}, {"client_id": CLIENT_ID, "client_secret": "nopé"}, "secret"),  # non-ASCII: wrong, not a crash
])
def test_a_refused_client_gets_the_platforms_answer_for_the_problem(
    client: FlaskClient, headers: dict[str, str], form: dict[str, str], problem: str
) -> None:
    response = client.post("/demo.example/token", data=form, headers=headers)
    assert response.status_code == 401
    assert response.get_json() == {"error": "invalid_client", "error_description": problem, "extra_field": "kept"}


def test_credentials_are_accepted_in_every_style_the_platform_allows(client: FlaskClient) -> None:
    assert client.post("/demo.example/token", headers=basic(CLIENT_ID, SECRET)).get_json() == {"client_id": CLIENT_ID}
    body = client.post("/demo.example/token", data={"client_id": CLIENT_ID, "client_secret": SECRET})
    assert body.get_json() == {"client_id": CLIENT_ID}
    # Basic is tried first: a wrong Basic secret is not rescued by good credentials in the body.
    mixed = client.post("/demo.example/token", headers=basic(CLIENT_ID, "nope"),
                        data={"client_id": CLIENT_ID, "client_secret": SECRET})
    assert mixed.status_code == 401


def test_a_basic_only_platform_ignores_credentials_in_the_body(client: FlaskClient) -> None:
    response = client.post("/demo.example/basic-only", data={"client_id": CLIENT_ID, "client_secret": SECRET})
    assert response.status_code == 401 and response.get_json()["error_description"] == "missing"


# -- platforms that share one sign-in -------------------------------------------------------------------------------


def test_a_shared_sign_in_shows_the_clients_own_platform(sandbox_client: FlaskClient) -> None:
    """Google's consent page serves YouTube and Google Business Profile: the client id decides which one shows."""
    query = {"client_id": "sandbox-google_business-id", "response_type": "code", "state": "s",
             "redirect_uri": f"{STELLA_URL}/elsewhere", "scope": "https://www.googleapis.com/auth/business.manage"}
    mismatch = sandbox_client.get("/accounts.google.com/o/oauth2/v2/auth?" + urlencode(query))
    assert mismatch.status_code == 400 and "Google Business Profile" in mismatch.get_data(as_text=True)
    query["redirect_uri"] = f"{STELLA_URL}/connections/google_business/callback"
    page = sandbox_client.get("/accounts.google.com/o/oauth2/v2/auth?" + urlencode(query))
    assert page.status_code == 200 and "Google Business Profile" in page.get_data(as_text=True)
