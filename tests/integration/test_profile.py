"""The signed-in user's profile: display name, time zone and password."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from werkzeug.security import check_password_hash

from stella.models import AuditLog, LoginAttempt, User
from tests.factories import DEFAULT_PASSWORD

NEW_PASSWORD = "a fresh passphrase 2026"


def reload(db, user) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


def change_password(client, current=DEFAULT_PASSWORD, new=NEW_PASSWORD, confirm=None):
    return client.post(
        "/profile/password",
        data={
            "current_password": current,
            "new_password": new,
            "confirm_password": new if confirm is None else confirm,
        },
    )


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/profile")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert client.post("/profile", data={"timezone": "UTC"}).status_code == 302


def test_profile_page_shows_current_values_and_every_time_zone_to_pick_from(client, login):
    login("staff", display_name="Sam Staff", timezone="Asia/Tokyo")
    html = client.get("/profile").get_data(as_text=True)
    assert 'value="Sam Staff"' in html and 'value="Asia/Tokyo"' in html
    assert 'list="timezone-options"' in html and '<option value="America/Chicago">' in html
    assert 'name="current_password"' in html and 'name="confirm_password"' in html


def test_saving_display_name_and_time_zone(client, db, login, flashes):
    user = login("marketing")
    response = client.post("/profile", data={"display_name": "  Maria Market ", "timezone": "Australia/Sydney"})
    assert response.status_code == 302 and response.headers["Location"] == "/profile"
    assert ("success", "Your profile was saved.") in flashes()
    user = reload(db, user)
    assert user.display_name == "Maria Market" and user.timezone == "Australia/Sydney"
    [entry] = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "user.profile_updated"))
    assert entry.details == {"fields": ["display_name", "timezone"]}


def test_unknown_time_zone_is_refused_and_the_typed_values_are_kept(client, db, login):
    user = login("marketing", timezone="Europe/Berlin")
    response = client.post("/profile", data={"display_name": "New Name", "timezone": "Mars/Olympus_Mons"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Choose a time zone from the list" in html
    assert 'value="Mars/Olympus_Mons"' in html and 'value="New Name"' in html
    user = reload(db, user)
    assert user.timezone == "Europe/Berlin" and user.display_name != "New Name"


def test_too_long_display_name_is_refused(client, db, login):
    user = login("staff")
    response = client.post("/profile", data={"display_name": "n" * 121, "timezone": "UTC"})
    assert response.status_code == 422 and "120 characters" in response.get_data(as_text=True)
    assert reload(db, user).display_name != "n" * 121


def test_changing_password_keeps_this_session_and_the_new_password_works(app, client, db, login, flashes):
    user = login("approver")
    response = change_password(client)
    assert response.status_code == 302
    assert ("success", "Your password was changed. Other devices have been signed out.") in flashes()
    assert client.get("/profile").status_code == 200  # still signed in here
    assert check_password_hash(reload(db, user).password_hash, NEW_PASSWORD)
    fresh = app.test_client()
    assert fresh.post("/login", data={"email": user.email, "password": DEFAULT_PASSWORD}).status_code == 422
    assert fresh.post("/login", data={"email": user.email, "password": NEW_PASSWORD}).status_code == 302


def test_changing_password_signs_out_other_sessions(app, client, db, login):
    user = login("staff")
    other_device = app.test_client()
    assert other_device.post("/login", data={"email": user.email, "password": DEFAULT_PASSWORD}).status_code == 302
    assert other_device.get("/profile").status_code == 200
    change_password(client)
    assert other_device.get("/profile").status_code == 302


def test_wrong_current_password_is_refused(client, db, login):
    user = login("staff")
    response = change_password(client, current="not my password")
    assert response.status_code == 422
    assert "Your current password is not correct." in response.get_data(as_text=True)
    assert check_password_hash(reload(db, user).password_hash, DEFAULT_PASSWORD)


def test_short_new_password_is_refused(client, db, login):
    user = login("staff")
    response = change_password(client, new="tooshort")
    assert response.status_code == 422
    assert "Use at least 10 characters for the password." in response.get_data(as_text=True)
    assert check_password_hash(reload(db, user).password_hash, DEFAULT_PASSWORD)


def test_mismatched_confirmation_is_refused(client, db, login):
    user = login("staff")
    response = change_password(client, confirm=NEW_PASSWORD + "!")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "The two new passwords do not match." in html
    assert NEW_PASSWORD not in html  # passwords are never echoed back
    assert check_password_hash(reload(db, user).password_hash, DEFAULT_PASSWORD)


def test_missing_password_fields_are_reported(client, login):
    login("staff")
    response = client.post("/profile/password", data={})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter your current password." in html and "Enter a new password." in html


# -- throttling guesses at the current password ---------------------------------------------------------------


@pytest.fixture()
def clock(monkeypatch):
    """The time the views pass to services (sign-in, session loading, password change); moved with `clock.now`."""

    class Clock:
        def __init__(self) -> None:
            self.now = datetime.now(UTC)

    c = Clock()
    monkeypatch.setattr("stella.web.auth.views.current_time", lambda: c.now)
    return c


def password_attempts(db, user) -> list[bool]:
    query = sa.select(LoginAttempt.succeeded).where(LoginAttempt.email == user.email).order_by(LoginAttempt.created_at)
    return list(db.session.scalars(query))


def test_wrong_current_passwords_are_throttled_like_sign_in(client, db, login, clock):
    user = login("staff")
    start = clock.now
    for n in range(5):
        response = change_password(client, current=f"guess number {n}")
        assert response.status_code == 422, n
        assert "Your current password is not correct." in response.get_data(as_text=True)
    # The 6th try is refused even with the right password, and so is every one after it until the wait passes.
    for _ in range(7):
        refused = change_password(client)
        assert refused.status_code == 429
        assert "Too many failed sign-in attempts. Try again in 15 minutes." in refused.get_data(as_text=True)
    assert check_password_hash(reload(db, user).password_hash, DEFAULT_PASSWORD)
    assert password_attempts(db, user) == [True] + [False] * 5  # the sign-in, then the five guesses

    clock.now = start + timedelta(minutes=15, seconds=1)
    assert change_password(client).status_code == 302
    assert check_password_hash(reload(db, user).password_hash, NEW_PASSWORD)
    assert password_attempts(db, user)[-1] is True


def test_failed_sign_ins_also_hold_back_the_password_form(app, client, db, login, clock):
    user = login("staff")
    attacker = app.test_client()
    clock.now += timedelta(seconds=1)  # after the sign-in, which ends any earlier run of failures
    for n in range(5):
        attacker.post(
            "/login",
            data={"email": user.email, "password": "wrong password!"},
            environ_base={"REMOTE_ADDR": f"198.51.100.{n}"},
        )
    # The account's run of failures counts wherever the guesses were made.
    refused = change_password(client)
    assert refused.status_code == 429 and "Try again in 2 seconds." in refused.get_data(as_text=True)
    clock.now += timedelta(seconds=2)
    assert change_password(client).status_code == 302


# -- the generated password ---------------------------------------------------------------------------------------


def sign_in_as_generated_admin(client, db):
    from stella.services.users import bootstrap_admin

    created = bootstrap_admin("first.admin@example.com")
    db.session.commit()
    response = client.post("/login", data={"email": "first.admin@example.com", "password": created.generated_password})
    assert response.status_code == 302
    return created


def test_the_first_admin_is_nudged_on_every_page_to_replace_the_generated_password(client, db):
    sign_in_as_generated_admin(client, db)
    for path in ("/", "/posts", "/calendar", "/connections", "/admin/users"):
        page = client.get(path, follow_redirects=True).get_data(as_text=True)
        assert 'data-testid="password-nudge"' in page, path
        assert 'href="/profile#password"' in page


def test_the_nudge_goes_once_a_password_of_their_own_is_chosen(client, db):
    created = sign_in_as_generated_admin(client, db)
    response = client.post("/profile/password", data={
        "current_password": created.generated_password, "new_password": "our own long password",
        "confirm_password": "our own long password"})
    assert response.status_code == 302
    assert 'data-testid="password-nudge"' not in client.get("/").get_data(as_text=True)


def test_people_who_chose_their_password_are_never_nudged(client, login):
    login("admin")
    assert 'data-testid="password-nudge"' not in client.get("/").get_data(as_text=True)


def test_the_profile_uses_the_shared_page_header(client, login):
    login("marketing")
    page = client.get("/profile").get_data(as_text=True)
    assert '<h1 class="page-title">Your profile</h1>' in page
    assert 'href="/profile/api-tokens"' in page
