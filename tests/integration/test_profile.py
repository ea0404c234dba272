"""The signed-in user's profile: display name, time zone and password."""

from __future__ import annotations

import sqlalchemy as sa
from werkzeug.security import check_password_hash

from stella.models import AuditLog, User
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
