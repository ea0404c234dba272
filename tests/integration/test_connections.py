"""The connect flows through the test client, with fake providers swapped into the registry (HTTP via `responses`)."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
import responses
import sqlalchemy as sa

import stella.providers as registry
from stella import create_app
from stella.config import CONFIG_KEY
from stella.models import AuditLog, MastodonApp, OAuthState, SocialAccountToken, SocialConnection
from stella.providers.http import HttpClient
from stella.services.platforms import HTTP_CLIENT_KEY
from tests.conftest import StellaTestClient, make_test_config
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.fake_providers import (
    ACCESS,
    APP_PASSWORD,
    CLIENT_ID,
    CODE,
    FAKE,
    MASTO_SECRET,
    PAGE_TOKEN,
    REFRESH,
    SECRETS,
    FakeBluesky,
    FakeMastodon,
    callback,
    connect_fully,
    connection_of,
    pages_answer,
    profile_answer,
    raw_dump,
    session_answer,
    start,
    token_answer,
)
from tests.sandbox_support import connect_through_sandbox

# -- starting -----------------------------------------------------------------------------------------------


def test_connect_redirects_to_the_platform_with_state_pkce_and_the_exact_redirect_uri(client, login, fake, db):
    login("marketing")
    query = start(client)
    assert query["_url"].startswith(f"{FAKE}/oauth/authorize?")
    assert query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == "http://127.0.0.1:5000/connections/x/callback"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) >= 43
    assert query["scope"] == "post.write profile.read"
    row = db.session.execute(sa.select(OAuthState)).scalar_one()
    assert row.state_hash == hashlib.sha256(query["state"].encode()).hexdigest()
    # The verifier is kept (encrypted) and matches the challenge that was sent.
    digest = hashlib.sha256(row.code_verifier.encode()).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == query["code_challenge"]
    raw = db.session.execute(sa.text("SELECT state_hash, code_verifier FROM oauth_states")).one()
    assert query["state"] not in str(raw) and row.code_verifier not in str(raw)


def test_staff_may_view_connections_but_not_connect(client, login, fake, db):
    login("staff")
    assert client.get("/connections").status_code == 200
    assert client.get("/connections/x/connect").status_code == 403
    assert client.post("/connections/x/connect").status_code == 403
    assert client.post("/connections/x/disconnect").status_code == 403


@pytest.fixture()
def csrf_client(database_url, tmp_path, db):
    """A client of a second app with CSRF checks on, using the test's connection so its work is rolled back too."""
    application = create_app(make_test_config(database_url, tmp_path).with_overrides(csrf_enabled=True))
    application.test_client_class = StellaTestClient
    connection = db.engines[None]
    with application.app_context():
        own_engine = db.engines[None]
        db.engines[None] = connection
    yield application.test_client()
    with application.app_context():
        db.engines[None] = own_engine
        own_engine.dispose()


def csrf_token_in(html: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def test_a_link_can_neither_start_a_sign_in_nor_replace_a_connection(csrf_client, fake, db):
    """Before: GET /connections/mastodon/connect?instance=… registered Stella on that server and sent the browser
    there, so any web page could make a signed-in user connect the attacker's account in place of theirs."""
    user = make_user("marketing")
    db.session.add(SocialConnection(
        user_id=user.id, provider="mastodon", status="connected", auth_metadata={"instance_url": INSTANCE},
        tokens=SocialAccountToken(access_token=ACCESS, platform_account_id="109",
                                  account_handle="@harbor@social.example"),
    ))
    db.session.commit()
    token = csrf_token_in(csrf_client.get("/login").get_data(as_text=True))
    csrf_client.post("/login", data={"email": user.email, "password": DEFAULT_PASSWORD, "csrf_token": token})

    # The link: only the server form, which says what continuing would replace.
    response = csrf_client.get("/connections/mastodon/connect", query_string={"instance": "evil.example"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'name="instance"' in page and "evil.example" not in page
    assert 'method="post"' in page and "This replaces your current FakeDon connection" in page
    # A forged form (no CSRF token) is refused before anything happens.
    response = csrf_client.post("/connections/mastodon/connect", data={"instance": "evil.example"})
    assert response.status_code == 302 and "evil.example" not in response.headers["Location"]
    assert not fake.calls and FakeMastodon.registrations == 0
    assert db.session.execute(sa.select(sa.func.count()).select_from(OAuthState)).scalar() == 0
    assert db.session.execute(sa.select(sa.func.count()).select_from(MastodonApp)).scalar() == 0
    connection = connection_of(user, "mastodon")
    assert connection.auth_metadata["instance_url"] == INSTANCE and connection.tokens.access_token == ACCESS

    # The user's own form, with its token, does start it.
    fake.add(responses.POST, "https://evil.example/api/v1/apps", json={"client_id": "c", "client_secret": "s"})
    response = csrf_client.post("/connections/mastodon/connect", data={"instance": "evil.example",
                                                                        "csrf_token": csrf_token_in(page)})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("https://evil.example/oauth/authorize?")


def test_get_on_the_connect_url_asks_first_and_changes_nothing(client, login, fake, db):
    user = login("marketing")
    connect_fully(client, fake)
    calls = len(fake.calls)
    response = client.get("/connections/x/connect")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Continue to FakeNet" in page and 'method="post"' in page
    assert "This replaces your current FakeNet connection" in page and "@harborvine" in page
    assert len(fake.calls) == calls
    assert db.session.execute(sa.select(sa.func.count()).select_from(OAuthState)).scalar() == 1  # the used one
    assert connection_of(user).status == "connected"


def test_connect_buttons_post_with_the_csrf_token_and_form_steps_are_links(client, login, fake, db):
    login("marketing")
    page = client.get("/connections").get_data(as_text=True)
    x_card = page[page.index('id="platform-x"'):]
    x_card = x_card[:x_card.index('id="platform-', 10)]
    assert re.search(r'<form method="post" action="/connections/x/connect">\s*<input type="hidden" '
                     r'name="csrf_token" value="[^"]+">', x_card)
    assert '<a class="btn btn-sm btn-primary" href="/connections/mastodon/connect"' in page


def test_unknown_platform_is_not_found(client, login, fake, db):
    login("marketing")
    assert client.get("/connections/myspace/connect").status_code == 404
    assert client.get("/connections/myspace/callback?state=a&code=b").status_code == 404


# -- completing ---------------------------------------------------------------------------------------------


def test_callback_exchanges_the_code_reads_the_profile_and_stores_a_connected_account(client, login, fake, db, flashes):
    user = login("marketing")
    query = start(client)
    token_answer(fake)
    profile_answer(fake)
    response = callback(client, code=CODE, state=query["state"])
    assert response.status_code == 302 and response.headers["Location"].startswith("/connections")
    assert flashes() == [("success", "FakeNet connected as @harborvine.")]

    exchange = next(c.request for c in fake.calls if c.request.url == f"{FAKE}/oauth/token")
    form = parse_qs(exchange.body)
    assert form["code"] == [CODE] and form["grant_type"] == ["authorization_code"]
    assert form["redirect_uri"] == ["http://127.0.0.1:5000/connections/x/callback"]
    assert "client_secret" not in form and exchange.headers["Authorization"].startswith("Basic ")
    verifier = form["code_verifier"][0]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert challenge == query["code_challenge"]

    connection = connection_of(user)
    assert connection.status == "connected" and connection.connected_at is not None
    assert connection.auth_metadata["scopes"] == ["post.write", "profile.read"]
    assert connection.auth_metadata["user_id"] == "4242"
    tokens = connection.tokens
    assert (tokens.access_token, tokens.refresh_token) == (ACCESS, REFRESH)
    assert tokens.account_handle == "harborvine" and tokens.display_name == "Harbor & Vine"
    assert tokens.profile_image_url == "https://cdn.fake.example/a.png" and tokens.platform_account_id == "4242"
    assert tokens.token_expires_at is not None
    assert db.session.execute(sa.select(AuditLog).filter_by(action="connection.connected")).scalar_one()

    page = client.get("/connections").get_data(as_text=True)
    assert "Harbor &amp; Vine" in page and "@harborvine" in page and 'data-status="connected"' in page


def test_tokens_are_stored_encrypted_and_no_secret_is_in_any_table_in_clear(client, login, fake, db):
    login("marketing")
    connect_fully(client, fake)
    raw = db.session.execute(sa.text("SELECT access_token, refresh_token FROM social_account_tokens")).one()
    assert raw[0] != ACCESS and raw[1] != REFRESH and raw[0].startswith("gAAAA")
    dump = raw_dump()
    for secret in SECRETS:
        assert secret not in dump


def test_denied_consent_connects_nothing_and_says_so(client, login, fake, db, flashes):
    user = login("marketing")
    query = start(client)
    response = callback(client, error="access_denied", error_description="The user denied", state=query["state"])
    assert response.status_code == 302
    assert flashes() == [("error", "You declined access on FakeNet, so nothing was connected. "
                                   "Click Connect to try again.")]
    assert connection_of(user) is None
    assert not fake.calls


def test_denied_consent_on_reconnect_marks_the_existing_connection_error(client, login, fake, db, flashes):
    user = login("marketing")
    connect_fully(client, fake)
    flashes()
    query = start(client)
    callback(client, error="access_denied", state=query["state"])
    connection = connection_of(user)
    assert connection.status == "error"
    assert "declined access" in connection.auth_metadata["error_reason"]
    assert connection.tokens.access_token == ACCESS  # nothing else changed
    page = client.get("/connections").get_data(as_text=True)
    assert 'data-testid="reconnect"' in page and "declined access" in page


def test_a_wrong_state_changes_nothing(client, login, fake, db, flashes):
    user = login("marketing")
    connect_fully(client, fake)
    flashes()
    start(client)
    response = callback(client, code=CODE, state="not-the-state")
    assert response.status_code == 302
    assert flashes()[0][1].startswith("That sign-in response does not belong to a sign-in you started")
    assert connection_of(user).status == "connected"
    assert len([c for c in fake.calls if c.request.url == f"{FAKE}/oauth/token"]) == 1


def test_a_state_from_another_browser_session_is_refused(app, client, login, fake, db, flashes):
    user = login("marketing")
    query = start(client)
    with client.session_transaction() as session:
        session["oauth_session_nonce"] = "another-session"
    callback(client, code=CODE, state=query["state"])
    assert "does not belong" in flashes()[0][1]
    assert connection_of(user) is None


def test_a_replayed_state_is_refused_and_keeps_the_connection(client, login, fake, db, flashes):
    user = login("marketing")
    query = start(client)
    token_answer(fake)
    profile_answer(fake)
    callback(client, code=CODE, state=query["state"])
    flashes()
    callback(client, code=CODE, state=query["state"])
    assert flashes() == [("error", "That FakeNet sign-in response was already used, so nothing was changed. "
                                   "Click Connect to start a new sign-in if you need one.")]
    assert connection_of(user).status == "connected"
    assert len([c for c in fake.calls if c.request.url == f"{FAKE}/oauth/token"]) == 1


def test_an_expired_state_is_refused_and_marks_an_existing_connection(client, login, fake, db, flashes):
    user = login("marketing")
    connect_fully(client, fake)
    flashes()
    query = start(client)
    row = db.session.execute(
        sa.select(OAuthState).filter_by(state_hash=hashlib.sha256(query["state"].encode()).hexdigest())
    ).scalar_one()
    row.created_at = row.created_at - timedelta(minutes=11)
    db.session.commit()
    callback(client, code=CODE, state=query["state"])
    assert "took longer than 10 minutes and expired" in flashes()[0][1]
    connection = connection_of(user)
    assert connection.status == "error" and "expired" in connection.auth_metadata["error_reason"]
    assert len([c for c in fake.calls if c.request.url == f"{FAKE}/oauth/token"]) == 1


def test_a_platform_error_page_is_reported_with_its_description(client, login, fake, db, flashes):
    user = login("marketing")
    connect_fully(client, fake)
    flashes()
    query = start(client)
    callback(client, error="server_error", error_description="Something broke on our side", state=query["state"])
    message = flashes()[0][1]
    assert "FakeNet reported an error during sign-in (Something broke on our side)" in message
    assert connection_of(user).status == "error"


def test_a_refused_code_exchange_is_reported_without_the_code(client, login, fake, db, flashes):
    user = login("marketing")
    query = start(client)
    token_answer(fake, status=400, body={"error": "invalid_grant",
                                         "error_description": f"Code {CODE} is invalid or expired"})
    callback(client, code=CODE, state=query["state"])
    message = flashes()[0][1]
    assert message.startswith("FakeNet did not complete the sign-in:")
    assert CODE not in message and "[redacted]" in message
    assert connection_of(user) is None


def test_unticked_scopes_leave_the_connection_in_error_with_what_is_missing(client, login, fake, db, flashes):
    user = login("marketing")
    query = start(client)
    token_answer(fake, scope="profile.read")
    callback(client, code=CODE, state=query["state"])
    message = flashes()[0][1]
    assert "missing: post.write" in message and "leave every permission ticked" in message
    connection = connection_of(user)
    assert connection.status == "error" and connection.tokens is None
    assert "missing: post.write" in connection.auth_metadata["error_reason"]


# -- targets ------------------------------------------------------------------------------------------------




def test_several_targets_keep_the_connection_pending_until_one_is_picked(client, login, fake, db, flashes):
    user = login("marketing")
    query = start(client, "facebook")
    assert "code_challenge" not in query
    token_answer(fake)
    profile_answer(fake)
    pages_answer(fake, [("101", "Harbor & Vine Realty"), ("202", "Harbor & Vine Rentals")])
    response = callback(client, "facebook", code=CODE, state=query["state"])
    assert response.headers["Location"].endswith("/connections/facebook/select")
    connection = connection_of(user, "facebook")
    assert connection.status == "pending" and connection.auth_metadata["pending_selection"] is True

    page = client.get("/connections/facebook/select").get_data(as_text=True)
    assert "Harbor &amp; Vine Realty" in page and "Harbor &amp; Vine Rentals" in page
    assert PAGE_TOKEN not in page

    assert client.post("/connections/facebook/select", data={"target": "999"}).status_code == 422
    assert connection_of(user, "facebook").status == "pending"

    response = client.post("/connections/facebook/select", data={"target": "202"})
    assert response.status_code == 302
    connection = connection_of(user, "facebook")
    assert connection.status == "connected"
    assert connection.tokens.platform_account_id == "202" and connection.tokens.access_token == PAGE_TOKEN
    assert connection.auth_metadata["page_id"] == "202"
    assert "page_access_token" not in connection.auth_metadata and "pending_selection" not in connection.auth_metadata
    assert PAGE_TOKEN not in raw_dump()


def test_a_single_target_is_chosen_without_asking(client, login, fake, db):
    user = login("marketing")
    query = start(client, "facebook")
    token_answer(fake)
    profile_answer(fake)
    pages_answer(fake, [("101", "Harbor & Vine Realty")])
    callback(client, "facebook", code=CODE, state=query["state"])
    connection = connection_of(user, "facebook")
    assert connection.status == "connected" and connection.tokens.platform_account_id == "101"


def test_a_login_without_targets_is_an_error_the_user_can_act_on(client, login, fake, db, flashes):
    user = login("marketing")
    query = start(client, "facebook")
    token_answer(fake)
    profile_answer(fake)
    pages_answer(fake, [])
    callback(client, "facebook", code=CODE, state=query["state"])
    assert "nothing Stella can publish to" in flashes()[0][1]
    assert connection_of(user, "facebook").status == "error"


def test_the_pick_step_is_not_found_without_a_pending_login(client, login, fake, db):
    login("marketing")
    assert client.get("/connections/facebook/select").status_code == 404


# -- disconnecting ------------------------------------------------------------------------------------------


def test_disconnect_revokes_at_the_platform_then_deletes_the_connection_and_tokens(client, login, fake, db, flashes):
    user = login("marketing")
    connect_fully(client, fake)
    flashes()
    fake.add(responses.POST, f"{FAKE}/oauth/revoke", status=200)
    response = client.post("/connections/x/disconnect")
    assert response.status_code == 302
    assert flashes() == [("success", "FakeNet was disconnected and Stella's access was revoked.")]
    revoke = next(c.request for c in fake.calls if c.request.url == f"{FAKE}/oauth/revoke")
    assert parse_qs(revoke.body)["token"] == [ACCESS]
    assert connection_of(user) is None
    assert db.session.execute(sa.select(sa.func.count()).select_from(SocialAccountToken)).scalar() == 0
    audit = db.session.execute(sa.select(AuditLog).filter_by(action="connection.disconnected")).scalar_one()
    assert audit.details["revoke_failed"] is False


def test_a_failed_revoke_still_disconnects_but_says_so(client, login, fake, db, flashes):
    user = login("marketing")
    connect_fully(client, fake)
    flashes()
    fake.add(responses.POST, f"{FAKE}/oauth/revoke", status=503)
    client.post("/connections/x/disconnect")
    category, message = flashes()[0]
    assert category == "warning"
    assert "was disconnected from Stella, but FakeNet could not confirm" in message
    assert connection_of(user) is None


def test_htmx_disconnect_answers_with_the_updated_card(client, login, fake, db):
    login("marketing")
    connect_fully(client, fake)
    fake.add(responses.POST, f"{FAKE}/oauth/revoke", status=200)
    response = client.post("/connections/x/disconnect", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="platform-x"' in body and 'data-status="disconnected"' in body
    assert "access was revoked" in body and "<html" not in body


def test_another_users_connection_is_not_found(client, login, fake, db):
    owner = make_user("marketing")
    db.session.add(SocialConnection(user_id=owner.id, provider="x", status="connected"))
    db.session.commit()
    login("marketing")
    assert client.post("/connections/x/disconnect").status_code == 404
    assert connection_of(owner).status == "connected"


# -- Bluesky ------------------------------------------------------------------------------------------------




def test_bluesky_connects_with_an_app_password_that_is_never_stored(client, login, fake, db, flashes):
    user = login("marketing")
    page = client.get("/connections/bluesky/connect").get_data(as_text=True)
    assert 'name="app_password"' in page and "https://bsky.social" in page
    session_answer(fake)
    response = client.post("/connections/bluesky/connect", data={
        "handle": "@harborvine.bsky.social", "app_password": APP_PASSWORD, "service": "https://bsky.social"})
    assert response.status_code == 302
    assert flashes() == [("success", "FakeSky connected as @harborvine.bsky.social.")]
    connection = connection_of(user, "bluesky")
    assert connection.status == "connected" and connection.tokens.refresh_token == REFRESH
    assert connection.auth_metadata["did"] == "did:plc:harbor"
    assert connection.auth_metadata["instance_url"] == "https://bsky.social"
    assert APP_PASSWORD not in raw_dump() and ACCESS not in raw_dump()


def test_bluesky_wrong_password_shows_a_form_error_and_keeps_the_handle(client, login, fake, db):
    user = login("marketing")
    session_answer(fake, status=401)
    response = client.post("/connections/bluesky/connect", data={
        "handle": "harborvine.bsky.social", "app_password": APP_PASSWORD, "service": "https://bsky.social"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "FakeSky did not accept that handle and app password" in body
    assert 'value="harborvine.bsky.social"' in body and APP_PASSWORD not in body
    assert connection_of(user, "bluesky") is None


def test_bluesky_refuses_a_private_service_address(app, client, login, fake, db, monkeypatch):
    monkeypatch.setitem(app.extensions, HTTP_CLIENT_KEY, HttpClient(allow_private_hosts=False))
    user = login("marketing")
    response = client.post("/connections/bluesky/connect", data={
        "handle": "harborvine.bsky.social", "app_password": APP_PASSWORD, "service": "https://127.0.0.1"})
    assert response.status_code == 422
    assert "private or local network address" in response.get_data(as_text=True)
    assert not fake.calls and connection_of(user, "bluesky") is None


def test_a_service_naming_a_server_stella_will_not_contact_is_said_at_the_service_field(client, login, fake, db,
                                                                                        monkeypatch):
    from stella.providers.errors import UnsafeHostError

    def refuse(self, service_url, handle, app_password):
        raise UnsafeHostError("Bluesky says this account is hosted on 10.0.0.5, a private network address.")

    monkeypatch.setattr(FakeBluesky, "create_session", refuse)
    user = login("marketing")
    response = client.post("/connections/bluesky/connect", data={
        "handle": "harborvine.bsky.social", "app_password": APP_PASSWORD, "service": "https://bsky.social"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "hosted on 10.0.0.5" in body and "did not accept that handle" not in body
    assert connection_of(user, "bluesky") is None


# -- Mastodon -----------------------------------------------------------------------------------------------

INSTANCE = "https://social.example"


def test_mastodon_asks_for_the_instance_first(client, login, fake, db):
    login("marketing")
    response = client.get("/connections/mastodon/connect")
    assert response.status_code == 200 and 'name="instance"' in response.get_data(as_text=True)


def test_mastodon_registers_once_per_instance_then_connects(client, login, fake, db, flashes):
    user = login("marketing")
    fake.add(responses.POST, f"{INSTANCE}/api/v1/apps",
             json={"client_id": "masto-client", "client_secret": MASTO_SECRET})
    query = start(client, "mastodon", instance="social.example")
    assert query["_url"].startswith(f"{INSTANCE}/oauth/authorize?") and query["client_id"] == "masto-client"
    start(client, "mastodon", instance="https://social.example/")
    assert FakeMastodon.registrations == 1
    app_row = db.session.execute(sa.select(MastodonApp)).scalar_one()
    assert app_row.instance_url == INSTANCE and app_row.client_secret == MASTO_SECRET
    assert app_row.redirect_uri == "http://127.0.0.1:5000/connections/mastodon/callback"

    token_answer(fake, url=f"{INSTANCE}/oauth/token", scope="write:statuses profile",
                 body={"access_token": ACCESS, "token_type": "Bearer", "scope": "write:statuses profile"})
    callback(client, "mastodon", code=CODE, state=query["state"])
    exchange = next(c.request for c in fake.calls if c.request.url == f"{INSTANCE}/oauth/token")
    assert parse_qs(exchange.body)["client_secret"] == [MASTO_SECRET]
    connection = connection_of(user, "mastodon")
    assert connection.status == "connected"
    assert connection.auth_metadata["instance_url"] == INSTANCE and connection.auth_metadata["max_characters"] == 1000
    assert connection.tokens.token_expires_at is None and connection.tokens.refresh_token is None
    assert MASTO_SECRET not in raw_dump()


@pytest.mark.parametrize("instance", ["http://social.example", "https://127.0.0.1", "https://10.1.2.3",
                                      "https://169.254.169.254", "https://[::1]"])
def test_mastodon_refuses_unsafe_instances(app, client, login, fake, db, monkeypatch, instance):
    monkeypatch.setitem(app.extensions, HTTP_CLIENT_KEY, HttpClient(allow_private_hosts=False))
    login("marketing")
    response = client.post("/connections/mastodon/connect", data={"instance": instance})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "https://" in body and ("private or local" in body or "must start with https://" in body)
    assert not fake.calls and FakeMastodon.registrations == 0
    assert db.session.execute(sa.select(sa.func.count()).select_from(OAuthState)).scalar() == 0


OTHER = "https://other.example"


def connect_mastodon(client, fake, instance: str, *, client_secret: str, access: str):
    fake.add(responses.POST, f"{instance}/api/v1/apps", json={"client_id": f"{instance}-client",
                                                                "client_secret": client_secret})
    query = start(client, "mastodon", instance=instance)
    token_answer(fake, url=f"{instance}/oauth/token",
                 body={"access_token": access, "token_type": "Bearer", "scope": "write:statuses profile"})
    return callback(client, "mastodon", code=CODE, state=query["state"])


def move_mastodon_to_another_server(client, fake, flashes, *, revoke_status: int) -> None:
    """Connected on INSTANCE, the user signs in on OTHER; INSTANCE answers the revoke with `revoke_status`."""
    connect_mastodon(client, fake, INSTANCE, client_secret=MASTO_SECRET, access=ACCESS)
    flashes()
    fake.add(responses.POST, f"{INSTANCE}/oauth/revoke", status=revoke_status)
    connect_mastodon(client, fake, OTHER, client_secret="other-secret", access="other-access-token")


def test_signing_in_on_another_server_revokes_the_replaced_token_at_the_old_one(client, login, fake, db, flashes):
    user = login("marketing")
    move_mastodon_to_another_server(client, fake, flashes, revoke_status=200)
    revoke = next(c.request for c in fake.calls if c.request.url == f"{INSTANCE}/oauth/revoke")
    form = parse_qs(revoke.body)
    assert form["token"] == [ACCESS] and form["client_secret"] == [MASTO_SECRET]
    assert flashes() == [("success", "FakeDon connected as @harbor@other.example. "
                                     "Stella's access to @harbor@social.example was revoked.")]
    connection = connection_of(user, "mastodon")
    assert connection.auth_metadata["instance_url"] == OTHER and connection.tokens.access_token == "other-access-token"
    audit = db.session.execute(sa.select(AuditLog).filter_by(action="connection.replaced")).scalar_one()
    assert audit.details["revoke"] == "revoked" and audit.details["previous_account_id"] == "109"


def test_a_failed_revoke_of_the_replaced_token_is_said_and_audited(client, login, fake, db, flashes):
    user = login("marketing")
    move_mastodon_to_another_server(client, fake, flashes, revoke_status=503)
    (category, message), (warning_category, warning) = flashes()
    assert category == "success" and message == "FakeDon connected as @harbor@other.example."
    assert warning_category == "warning"
    assert warning.startswith("Stella could not revoke its access to the FakeDon account it replaced "
                              "(@harbor@social.example)") and ACCESS not in warning
    assert connection_of(user, "mastodon").auth_metadata["instance_url"] == OTHER
    audit = db.session.execute(sa.select(AuditLog).filter_by(action="connection.replaced")).scalar_one()
    assert audit.details["revoke"] == "failed" and audit.details["reason"]


def test_reconnecting_the_same_account_revokes_nothing(client, login, fake, db, flashes):
    """The platform renewed Stella's access; where revoking ends the whole grant it would end the new token too."""
    login("marketing")
    connect_fully(client, fake)
    connect_fully(client, fake)
    assert not [c for c in fake.calls if c.request.url == f"{FAKE}/oauth/revoke"]
    assert db.session.execute(sa.select(AuditLog).filter_by(action="connection.replaced")).first() is None


def test_a_failed_callback_keeps_its_side_effects(client, login, fake, db):
    """The state is spent and the error recorded even though connecting failed: the view commits them."""
    user = login("marketing")
    connect_fully(client, fake)
    query = start(client)
    token_answer(fake, status=400, body={"error": "invalid_grant"})
    callback(client, code=CODE, state=query["state"])
    db.session.expire_all()
    row = db.session.execute(
        sa.select(OAuthState).filter_by(state_hash=hashlib.sha256(query["state"].encode()).hexdigest())
    ).scalar_one()
    assert row.consumed_at is not None and connection_of(user).status == "error"


# -- not configured -----------------------------------------------------------------------------------------


def test_a_platform_without_credentials_shows_how_to_set_it_up(client, login, db, flashes):
    login("marketing")
    page = client.get("/connections").get_data(as_text=True)
    assert page.count("connection-card") >= 11
    card = page[page.index('id="platform-linkedin"'):]
    card = card[:card.index('id="platform-', 10)]
    assert "Not configured" in card
    assert "http://127.0.0.1:5000/connections/linkedin/callback" in card
    assert "STELLA_LINKEDIN_CLIENT_ID" in card and "STELLA_LINKEDIN_CLIENT_SECRET" in card
    assert registry.PROVIDERS_BY_NAME["linkedin"].scopes[0] in card
    response = client.get("/connections/linkedin/connect")
    assert response.status_code == 302
    assert "not set up yet" in flashes()[0][1]


def test_the_sandbox_counts_as_configured_and_uses_sandbox_credentials(app, client, login, db, monkeypatch):
    config = app.extensions[CONFIG_KEY]
    monkeypatch.setitem(app.extensions, CONFIG_KEY, config.with_overrides(sandbox_url="http://127.0.0.1:5055"))
    monkeypatch.setitem(app.extensions, HTTP_CLIENT_KEY, HttpClient(sandbox_url="http://127.0.0.1:5055",
                                                                    allow_private_hosts=True))
    login("marketing")
    query = start(client, "linkedin")
    assert query["_url"].startswith("http://127.0.0.1:5055/")
    assert query["client_id"] == "sandbox-linkedin-id"


# -- end to end against the sandbox, every platform ---------------------------------------------------------

@pytest.mark.parametrize("name", [cls.name for cls in registry.PROVIDER_CLASSES])
def test_every_platform_connects_end_to_end_through_the_sandbox(client, login, db, sandboxed, flashes, name):
    user = login("marketing")
    connect_through_sandbox(client, name)
    messages = flashes()
    connection = connection_of(user, name)
    assert connection is not None and connection.status == "connected", messages
    tokens = connection.tokens
    assert tokens.access_token and tokens.platform_account_id
    assert tokens.account_handle or tokens.display_name
    assert messages[-1][0] == "success"
    raw = db.session.execute(sa.text("SELECT access_token, refresh_token FROM social_account_tokens")).one()
    assert tokens.access_token not in str(raw)
    if tokens.refresh_token:
        assert tokens.refresh_token not in str(raw)
