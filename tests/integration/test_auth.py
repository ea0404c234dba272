"""Sign-in, sign-out, throttling, safe redirects and session invalidation, through the test client."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from stella import create_app
from stella.models import LoginAttempt, User
from stella.services import users as user_service
from stella.services.auth import (
    DEACTIVATED_MESSAGE,
    INVALID_CREDENTIALS_MESSAGE,
    ThrottlePolicy,
    prune_login_attempts,
)
from stella.web.auth.views import safe_next
from tests.conftest import make_test_config
from tests.factories import DEFAULT_PASSWORD, make_user

LOCKED_15 = "Too many failed sign-in attempts. Try again in 15 minutes."


@pytest.fixture()
def clock(monkeypatch, now):
    """The time the sign-in view passes to the service; tests move it with `clock.now = …`."""

    class Clock:
        def __init__(self) -> None:
            self.now = now

    c = Clock()
    monkeypatch.setattr("stella.web.auth.views.current_time", lambda: c.now)
    return c


def post_login(client, email, password, *, addr="10.0.0.1", **query):
    return client.post(
        "/login", query_string=query, data={"email": email, "password": password}, environ_base={"REMOTE_ADDR": addr}
    )


def signed_in(client, addr="10.0.0.1") -> bool:
    # Same address as post_login: "strong" session protection drops a session that changes address.
    return client.get("/profile", environ_base={"REMOTE_ADDR": addr}).status_code == 200


def attempts(db, **where):
    query = sa.select(LoginAttempt).filter_by(**where).order_by(LoginAttempt.created_at)
    return list(db.session.scalars(query))


def test_login_page_shows_the_product_sign_in_form(client):
    page = client.get("/login")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Stella" in html and "Sign in" in html
    assert 'name="email"' in html and 'name="password"' in html and 'type="password"' in html


def test_correct_credentials_sign_in_redirect_home_and_record_last_sign_in(client, db, clock):
    user = make_user("staff", email="Agent@Example.com")
    db.session.commit()
    response = post_login(client, "  AGENT@example.com ", DEFAULT_PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert signed_in(client)
    db.session.refresh(user)
    assert user.last_login_at == clock.now
    [attempt] = attempts(db, email="agent@example.com")
    assert attempt.succeeded and attempt.remote_addr == "10.0.0.1"


def test_wrong_password_is_refused_with_a_generic_message_and_recorded(client, db, clock):
    user = make_user("staff")
    db.session.commit()
    response = post_login(client, user.email, "not the password")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert INVALID_CREDENTIALS_MESSAGE in html
    assert "not the password" not in html  # the password field is never echoed back
    assert user.email in html  # the typed email is kept
    assert not signed_in(client)
    assert [a.succeeded for a in attempts(db, email=user.email)] == [False]


def test_unknown_email_gets_exactly_the_wrong_password_message(client, db, clock):
    make_user("staff", email="known@example.com")
    db.session.commit()
    unknown = post_login(client, "nobody@example.com", DEFAULT_PASSWORD)
    wrong = post_login(client, "known@example.com", "wrong password!")
    assert unknown.status_code == wrong.status_code == 422
    assert INVALID_CREDENTIALS_MESSAGE in unknown.get_data(as_text=True)
    assert INVALID_CREDENTIALS_MESSAGE in wrong.get_data(as_text=True)
    assert "exist" not in unknown.get_data(as_text=True).lower()


def test_inactive_user_learns_of_deactivation_only_with_the_right_password(client, db, clock):
    user = make_user("marketing", is_active=False)
    db.session.commit()
    wrong = post_login(client, user.email, "wrong password!")
    assert INVALID_CREDENTIALS_MESSAGE in wrong.get_data(as_text=True)
    assert "deactivated" not in wrong.get_data(as_text=True)
    right = post_login(client, user.email, DEFAULT_PASSWORD)
    assert right.status_code == 422 and DEACTIVATED_MESSAGE in right.get_data(as_text=True)
    assert not signed_in(client)


def test_empty_fields_are_reported_per_field(client, db):
    response = client.post("/login", data={"email": "", "password": ""})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Enter your email address." in html and "Enter your password." in html
    assert attempts(db) == []


def test_five_failures_lock_the_account_even_for_the_right_password_until_the_window_passes(client, db, clock, now):
    user = make_user("staff")
    db.session.commit()
    for minute in range(5):
        clock.now = now + timedelta(minutes=minute)
        assert post_login(client, user.email, f"guess {minute} wrong").status_code == 422

    clock.now = now + timedelta(minutes=4, seconds=30)
    locked = post_login(client, user.email, DEFAULT_PASSWORD)
    assert locked.status_code == 429
    # The first failure (at `now`) ages out at now+15min: 10.5 minutes left, rounded up.
    assert "Too many failed sign-in attempts. Try again in 11 minutes." in locked.get_data(as_text=True)
    assert not signed_in(client)
    # Refused attempts are not counted, so retrying does not extend the lock.
    assert len(attempts(db, email=user.email)) == 5

    clock.now = now + timedelta(minutes=14, seconds=59)
    assert post_login(client, user.email, DEFAULT_PASSWORD).status_code == 429
    clock.now = now + timedelta(minutes=15, seconds=1)
    assert post_login(client, user.email, DEFAULT_PASSWORD).status_code == 302
    assert signed_in(client)


def test_lockout_message_states_the_full_window_right_after_the_fifth_failure(client, db, clock):
    user = make_user("staff")
    db.session.commit()
    for _ in range(5):
        post_login(client, user.email, "wrong password!")
    assert LOCKED_15 in post_login(client, user.email, DEFAULT_PASSWORD).get_data(as_text=True)


def test_account_failures_from_many_addresses_slow_the_account_down_rather_than_lock_it(client, db, clock, now):
    user = make_user("staff")
    db.session.commit()
    for n in range(5):
        post_login(client, user.email, "wrong password!", addr=f"10.0.1.{n}")
    # From any address, the next attempt waits a couple of seconds — not 15 minutes for the owner too.
    refused = post_login(client, user.email, DEFAULT_PASSWORD, addr="10.9.9.9")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "2"
    assert "Too many failed sign-in attempts. Try again in 2 seconds." in refused.get_data(as_text=True)
    assert len(attempts(db, email=user.email)) == 5  # the refusal is not an attempt
    clock.now = now + timedelta(seconds=2)
    assert post_login(client, user.email, DEFAULT_PASSWORD, addr="10.9.9.9").status_code == 302


def test_each_further_account_failure_doubles_the_wait_up_to_two_minutes(client, db, clock, now):
    user = make_user("staff")
    db.session.commit()
    for n in range(5):
        post_login(client, user.email, "wrong password!", addr=f"10.0.7.{n}")
    waits = []
    for n in range(8):
        # Ask a moment too early (refused, stating the wait), then guess wrong as soon as it is allowed.
        refused = post_login(client, user.email, "wrong password!", addr=f"10.0.8.{n}")
        assert refused.status_code == 429
        waits.append(int(refused.headers["Retry-After"]))
        clock.now += timedelta(seconds=waits[-1])
        assert post_login(client, user.email, "wrong password!", addr=f"10.0.8.{n}").status_code == 422
    assert waits == [2, 4, 8, 16, 32, 64, 120, 120]
    assert "Try again in 120 seconds." in post_login(client, user.email, "x", addr="10.0.9.1").get_data(as_text=True)
    # Long after the last failure the owner signs in at once, and the run of failures starts again from zero.
    clock.now += timedelta(hours=1)
    assert post_login(client, user.email, DEFAULT_PASSWORD, addr="10.0.9.2").status_code == 302
    client.post("/logout", environ_base={"REMOTE_ADDR": "10.0.9.2"})
    for n in range(4):
        assert post_login(client, user.email, "wrong password!", addr=f"10.0.10.{n}").status_code == 422
    assert post_login(client, user.email, DEFAULT_PASSWORD, addr="10.0.9.2").status_code == 302


def test_five_failures_from_one_address_lock_that_address_for_every_account(client, db, clock):
    victim = make_user("admin")
    db.session.commit()
    for n in range(5):
        post_login(client, f"spray{n}@example.com", "wrong password!", addr="203.0.113.7")
    blocked = post_login(client, victim.email, DEFAULT_PASSWORD, addr="203.0.113.7")
    assert blocked.status_code == 429 and LOCKED_15 in blocked.get_data(as_text=True)
    # Another address is not affected.
    assert post_login(client, victim.email, DEFAULT_PASSWORD, addr="198.51.100.1").status_code == 302


def test_unknown_emails_are_throttled_like_real_ones(client, db, clock):
    real = make_user("staff")
    db.session.commit()
    for email in ("ghost@example.com", real.email):
        for n in range(5):
            post_login(client, email, "wrong password!", addr=f"10.0.2.{n}")
        refused = post_login(client, email, "x", addr="10.0.3.1")
        assert "Try again in 2 seconds." in refused.get_data(as_text=True), email
        for n in range(5, 10):
            post_login(client, "someone@example.com", "wrong password!", addr=f"10.0.2.{n}")


def test_a_successful_sign_in_resets_the_account_counter(client, db, clock, now):
    user = make_user("staff")
    db.session.commit()
    for n in range(4):
        post_login(client, user.email, "wrong password!", addr=f"10.0.4.{n}")
    assert post_login(client, user.email, DEFAULT_PASSWORD, addr="10.0.5.1").status_code == 302
    client.post("/logout")
    for n in range(4):
        post_login(client, user.email, "wrong password!", addr=f"10.0.6.{n}")
    assert post_login(client, user.email, DEFAULT_PASSWORD, addr="10.0.5.1").status_code == 302


def test_a_successful_sign_in_does_not_reset_the_address_counter(client, db, clock):
    own = make_user("staff")
    db.session.commit()
    for n in range(4):
        post_login(client, f"target{n}@example.com", "wrong password!", addr="203.0.113.9")
    assert post_login(client, own.email, DEFAULT_PASSWORD, addr="203.0.113.9").status_code == 302
    client.post("/logout")
    post_login(client, "target5@example.com", "wrong password!", addr="203.0.113.9")
    assert post_login(client, own.email, DEFAULT_PASSWORD, addr="203.0.113.9").status_code == 429


def test_address_failures_older_than_the_window_do_not_count(client, db, clock, now):
    user = make_user("staff")
    db.session.commit()
    for minute in range(5):
        clock.now = now + timedelta(minutes=minute * 4)  # spread over 16 minutes
        post_login(client, f"guess{minute}@example.com", "wrong password!")
    # At now+16 only four failures are inside the last 15 minutes.
    clock.now = now + timedelta(minutes=16)
    assert post_login(client, user.email, DEFAULT_PASSWORD).status_code == 302


def test_throttle_limits_come_from_config(app, client, db, clock, monkeypatch):
    from stella.config import CONFIG_KEY

    monkeypatch.setitem(app.extensions, CONFIG_KEY, app.extensions[CONFIG_KEY].with_overrides(
        login_max_failures=2, login_window_minutes=30))
    user = make_user("staff")
    db.session.commit()
    post_login(client, user.email, "wrong password!")
    post_login(client, user.email, "wrong password!")
    refused = post_login(client, user.email, DEFAULT_PASSWORD)
    assert "Try again in 30 minutes." in refused.get_data(as_text=True)


# -- the address behind a proxy --------------------------------------------------------------------------------


@pytest.fixture()
def app_with(database_url, tmp_path, db):
    """Another app with config overrides, on the test's connection so its work is rolled back too."""
    made = []

    def build(**overrides):
        application = create_app(make_test_config(database_url, tmp_path).with_overrides(**overrides))
        with application.app_context():
            made.append((application, db.engines[None]))
            db.engines[None] = db_connection
        return application

    db_connection = db.engines[None]
    yield build
    for application, own_engine in made:
        with application.app_context():
            db.engines[None] = own_engine
            own_engine.dispose()


def test_x_forwarded_for_is_ignored_without_a_configured_proxy(client, db, clock):
    for n in range(5):
        client.post(
            "/login",
            data={"email": f"spray{n}@example.com", "password": "wrong password!"},
            headers={"X-Forwarded-For": f"198.51.100.{n}"},
            environ_base={"REMOTE_ADDR": "203.0.113.7"},
        )
    # A forged header neither hides the sprayer's address nor dodges its lock-out.
    assert {a.remote_addr for a in attempts(db)} == {"203.0.113.7"}
    blocked = client.post(
        "/login",
        data={"email": "spray9@example.com", "password": "x"},
        headers={"X-Forwarded-For": "198.51.100.99"},
        environ_base={"REMOTE_ADDR": "203.0.113.7"},
    )
    assert blocked.status_code == 429


def test_x_forwarded_for_from_one_configured_proxy_is_the_client_address(app_with, db, clock):
    client = app_with(proxy_hops=1).test_client()
    client.post(
        "/login",
        data={"email": "agent@example.com", "password": "wrong password!"},
        # A client-sent value first, then the one our proxy appended: only the proxy's entry is trusted.
        headers={"X-Forwarded-For": "192.0.2.1, 198.51.100.23"},
        environ_base={"REMOTE_ADDR": "10.0.0.2"},
    )
    assert [a.remote_addr for a in attempts(db)] == ["198.51.100.23"]


def test_a_negative_proxy_hop_count_is_refused_at_start(database_url, tmp_path):
    from stella.config import ConfigError

    with pytest.raises(ConfigError, match="STELLA_PROXY_HOPS"):
        create_app(make_test_config(database_url, tmp_path).with_overrides(proxy_hops=-1))


# -- telling the owner about failed attempts -------------------------------------------------------------------


def test_the_owner_hears_of_failed_attempts_since_their_last_sign_in_in_their_own_time_zone(
    client, db, clock, now, flashes
):
    user = make_user("staff", timezone="America/New_York")
    db.session.commit()
    clock.now = now - timedelta(hours=2)
    assert post_login(client, user.email, DEFAULT_PASSWORD).status_code == 302
    client.post("/logout")
    flashes()
    clock.now = now - timedelta(hours=1)
    post_login(client, user.email, "guess one", addr="198.51.100.4")
    clock.now = now - timedelta(minutes=30)
    post_login(client, user.email, "guess two", addr="203.0.113.5")

    clock.now = now
    assert post_login(client, user.email, DEFAULT_PASSWORD).status_code == 302
    # 14:30 UTC on 24 November is 9:30 AM in New York (EST).
    assert (
        "warning",
        "2 failed sign-in attempts on your account since you last signed in, the latest at Nov 24, 2026 9:30 AM EST "
        "from 203.0.113.5. If that was not you, change your password.",
    ) in flashes()

    # Told once: the next sign-in has nothing new to report.
    client.post("/logout")
    flashes()
    clock.now = now + timedelta(minutes=5)
    assert post_login(client, user.email, DEFAULT_PASSWORD).status_code == 302
    assert not [message for category, message in flashes() if category == "warning"]


def test_a_single_failed_attempt_is_reported_in_the_singular(client, db, clock, now, flashes):
    user = make_user("staff")  # never signed in before, time zone UTC
    db.session.commit()
    post_login(client, user.email, "typo", addr="10.0.0.1")
    clock.now = now + timedelta(minutes=1)
    assert post_login(client, user.email, DEFAULT_PASSWORD).status_code == 302
    assert (
        "warning",
        "1 failed sign-in attempt on your account since you last signed in, the latest at Nov 24, 2026 3:00 PM UTC "
        "from 10.0.0.1. If that was not you, change your password.",
    ) in flashes()


def test_a_clean_sign_in_shows_no_notice(client, db, clock, flashes):
    user = make_user("staff")
    db.session.commit()
    assert post_login(client, user.email, DEFAULT_PASSWORD).status_code == 302
    assert flashes() == []


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/posts?status=draft", "/posts?status=draft"),
        ("/admin/users", "/admin/users"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/ok\r\nSet-Cookie: x=1", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_safe_next_keeps_same_site_paths_only(app, target, expected):
    with app.test_request_context("/login"):
        assert safe_next(target) == expected


def test_sign_in_follows_a_same_site_next_and_ignores_an_external_one(client, db, clock):
    user = make_user("staff")
    db.session.commit()
    response = post_login(client, user.email, DEFAULT_PASSWORD, next="/profile")
    assert response.headers["Location"] == "/profile"
    client.post("/logout")
    response = post_login(client, user.email, DEFAULT_PASSWORD, next="https://evil.example/steal")
    assert response.headers["Location"] == "/"


def test_anonymous_visit_redirects_to_login_with_next_which_the_form_keeps(client, db):
    response = client.get("/profile")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    page = client.get(response.headers["Location"])
    assert 'name="next"' in page.get_data(as_text=True) and "/profile" in page.get_data(as_text=True)


def test_signed_in_user_visiting_login_goes_home(client, login):
    login("staff")
    response = client.get("/login")
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_logout_needs_post_and_ends_the_session(client, login, flashes):
    login("staff")
    assert client.get("/logout").status_code == 405
    assert signed_in(client, "127.0.0.1")
    response = client.post("/logout")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert ("info", "You have signed out.") in flashes()
    assert not signed_in(client, "127.0.0.1")


def test_a_session_cookie_replayed_from_another_address_is_dropped(client, login):
    login("staff")  # the login fixture signs in from 127.0.0.1
    assert signed_in(client, "127.0.0.1")
    assert not signed_in(client, "192.0.2.50")


def test_password_set_elsewhere_ends_existing_sessions(app, client, db, login):
    user = login("marketing")
    assert signed_in(client, "127.0.0.1")
    user_service.set_password(db.session.get(User, user.id), "a brand new password")
    db.session.commit()
    assert not signed_in(client, "127.0.0.1")


def test_deactivation_ends_existing_sessions(client, db, login):
    user = login("approver")
    assert signed_in(client, "127.0.0.1")
    admin = make_user("admin")
    user_service.deactivate_user(db.session.get(User, user.id), actor=admin)
    db.session.commit()
    assert not signed_in(client, "127.0.0.1")


@pytest.fixture()
def csrf_app(database_url, tmp_path, db):
    """A second app with CSRF checks on, using the test's connection so its work is rolled back too."""
    application = create_app(make_test_config(database_url, tmp_path).with_overrides(csrf_enabled=True))
    connection = db.engines[None]
    with application.app_context():
        own_engine = db.engines[None]
        db.engines[None] = connection
    yield application
    with application.app_context():
        db.engines[None] = own_engine
        own_engine.dispose()


def test_login_without_csrf_token_flashes_session_expired_instead_of_a_bare_400(csrf_app, db):
    client = csrf_app.test_client()
    user = make_user("staff")
    db.session.commit()
    response = client.post("/login", data={"email": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    with client.session_transaction() as session:
        messages = session.get("_flashes", [])
    assert ("error", "Your session expired, so that form was not sent. Please try again.") in messages
    assert client.get("/profile").status_code == 302  # still signed out


def test_login_with_the_csrf_token_from_the_form_works(csrf_app, db):
    import re

    client = csrf_app.test_client()
    user = make_user("staff")
    db.session.commit()
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    response = client.post("/login", data={"email": user.email, "password": DEFAULT_PASSWORD, "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    # Sign-out is a POST that needs the token too.
    assert client.post("/logout").status_code == 302
    assert client.get("/profile").status_code == 200


# -- pruning old attempts ------------------------------------------------------------------------------


def add_attempt(db, at, *, email="agent@example.com", succeeded=False):
    db.session.add(LoginAttempt(email=email, remote_addr="10.0.0.9", succeeded=succeeded, created_at=at))
    db.session.flush()


def test_pruning_deletes_attempts_older_than_a_day_when_the_window_is_shorter(app, db, now):
    for age in (timedelta(days=3), timedelta(days=1, seconds=1), timedelta(hours=23), timedelta(minutes=1)):
        add_attempt(db, now - age)

    removed = prune_login_attempts(now, policy=ThrottlePolicy(window=timedelta(minutes=15)))

    assert removed == 2
    assert [now - a.created_at for a in attempts(db)] == [timedelta(hours=23), timedelta(minutes=1)]


def test_pruning_keeps_every_attempt_inside_a_window_longer_than_a_day(app, db, now):
    add_attempt(db, now - timedelta(days=2, hours=12))
    add_attempt(db, now - timedelta(days=3, seconds=1))

    removed = prune_login_attempts(now, policy=ThrottlePolicy(window=timedelta(days=3)))

    assert removed == 1
    assert [now - a.created_at for a in attempts(db)] == [timedelta(days=2, hours=12)]


def test_pruning_without_a_policy_uses_the_configured_window(app, db, now, monkeypatch):
    from stella.config import CONFIG_KEY

    monkeypatch.setitem(app.extensions, CONFIG_KEY, app.extensions[CONFIG_KEY].with_overrides(
        login_window_minutes=3 * 24 * 60))
    add_attempt(db, now - timedelta(days=2))
    add_attempt(db, now - timedelta(days=4))

    assert prune_login_attempts(now) == 1
    assert [now - a.created_at for a in attempts(db)] == [timedelta(days=2)]


def test_pruning_never_lifts_an_active_lockout(client, db, clock, now):
    user = make_user("staff")
    db.session.commit()
    for _ in range(5):
        post_login(client, user.email, "wrong password!")

    prune_login_attempts(now, policy=ThrottlePolicy())
    db.session.commit()

    assert LOCKED_15 in post_login(client, user.email, DEFAULT_PASSWORD).get_data(as_text=True)
    assert len(attempts(db, email=user.email)) == 5
