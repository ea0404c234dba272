"""Server-side sessions: each sign-in is a `user_sessions` row, and only a live, unrevoked one lets a cookie in."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import sqlalchemy as sa

from stella.models import User, UserSession
from stella.scheduler import JOBS
from stella.services import users as user_service
from stella.services.auth import prune_user_sessions
from tests.factories import DEFAULT_PASSWORD, make_user

NEW_PASSWORD = "a fresh passphrase 2026"


@pytest.fixture()
def clock(monkeypatch, now):
    """The time the sign-in views and the session loader use; tests move it with `clock.now = …`."""

    class Clock:
        def __init__(self) -> None:
            self.now = now

    c = Clock()
    monkeypatch.setattr("stella.web.auth.views.current_time", lambda: c.now)
    return c


@pytest.fixture()
def user(db):
    made = make_user("marketing", display_name="Original Name")
    db.session.commit()
    return made


def sign_in(client, user, password=DEFAULT_PASSWORD):
    response = client.post("/login", data={"email": user.email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)


def signed_in(client) -> bool:
    return client.get("/profile").status_code == 200


def sessions(db, user) -> list[UserSession]:
    db.session.expire_all()
    query = sa.select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.created_at)
    return list(db.session.scalars(query))


def cookie_id(client) -> str:
    with client.session_transaction() as session:
        return str(session["_user_id"])


def test_signing_in_records_a_session_holding_only_a_hash_of_its_id(client, db, clock, now, user):
    sign_in(client, user)
    [row] = sessions(db, user)
    assert (row.created_at, row.last_seen_at, row.revoked_at) == (now, now, None)
    assert row.remote_addr == "127.0.0.1" and row.user_agent.startswith("Werkzeug/")
    user_id, version, token = cookie_id(client).split(":")
    assert (user_id, version) == (str(user.id), str(user.session_version))
    assert len(token) >= 40 and row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in (row.token_hash, row.remote_addr, row.user_agent)


def test_a_cookie_replayed_after_sign_out_is_refused_for_pages_and_forms(client, db, clock, now, user):
    sign_in(client, user)
    stolen = client.get_cookie("session").value
    clock.now = now + timedelta(minutes=1)
    assert client.post("/logout").status_code == 302
    assert [row.revoked_at for row in sessions(db, user)] == [clock.now]

    client.set_cookie("session", stolen)
    page = client.get("/profile")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")
    form = client.post("/profile", data={"display_name": "Hijacked", "timezone": "UTC"})
    assert form.status_code == 302 and form.headers["Location"].startswith("/login")
    db.session.expire_all()
    assert db.session.get(User, user.id).display_name == "Original Name"


def test_signing_out_ends_only_that_session(app, client, db, clock, user):
    laptop, phone = client, app.test_client()
    sign_in(laptop, user)
    sign_in(phone, user)
    laptop.post("/logout")
    assert not signed_in(laptop)
    assert signed_in(phone)
    assert [row.revoked_at is None for row in sessions(db, user)] == [False, True]


def test_an_idle_session_expires_after_a_week_without_requests(client, db, clock, now, user):
    sign_in(client, user)
    clock.now = now + timedelta(days=6)
    assert signed_in(client)  # and marks the session as seen
    clock.now = now + timedelta(days=12)
    assert signed_in(client)
    clock.now = now + timedelta(days=19, seconds=1)
    assert not signed_in(client)


def test_a_session_ends_thirty_days_after_sign_in_however_busy(client, db, clock, now, user):
    sign_in(client, user)
    for day in range(5, 30, 5):
        clock.now = now + timedelta(days=day)
        assert signed_in(client), day
    clock.now = now + timedelta(days=30)
    assert not signed_in(client)


def test_last_seen_is_written_at_most_every_ten_minutes(client, db, clock, now, user):
    sign_in(client, user)
    clock.now = now + timedelta(minutes=9)
    assert signed_in(client)
    assert sessions(db, user)[0].last_seen_at == now
    clock.now = now + timedelta(minutes=10)
    assert signed_in(client)
    assert sessions(db, user)[0].last_seen_at == now + timedelta(minutes=10)


def test_changing_the_password_revokes_every_session_and_starts_a_new_one_here(app, client, db, clock, now, user):
    other_device = app.test_client()
    sign_in(client, user)
    sign_in(other_device, user)
    old_id = cookie_id(client)
    clock.now = now + timedelta(minutes=5)
    response = client.post(
        "/profile/password",
        data={"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
    )
    assert response.status_code == 302
    rows = sessions(db, user)
    assert [row.revoked_at for row in rows] == [clock.now, clock.now, None]
    assert rows[2].created_at == clock.now
    assert cookie_id(client) != old_id and signed_in(client)
    assert not signed_in(other_device)


@pytest.mark.parametrize("action", ["deactivate", "set_password"])
def test_deactivation_and_a_password_set_by_an_admin_revoke_every_session(client, db, clock, now, user, action):
    sign_in(client, user)
    admin = make_user("admin")
    target = db.session.get(User, user.id)
    later = now + timedelta(hours=1)
    if action == "deactivate":
        user_service.deactivate_user(target, actor=admin, now=later)
    else:
        user_service.set_password(target, NEW_PASSWORD, actor=admin, now=later)
    db.session.commit()
    clock.now = later
    assert not signed_in(client)
    assert [row.revoked_at for row in sessions(db, user)] == [later]


def test_an_id_from_before_server_side_sessions_is_refused(client, db, clock, user):
    sign_in(client, user)
    with client.session_transaction() as session:
        session["_user_id"] = f"{user.id}:{user.session_version}"
    assert not signed_in(client)


def test_a_session_id_cannot_be_carried_over_to_another_user(client, db, clock, user):
    other = make_user("admin")
    db.session.commit()
    sign_in(client, user)
    token = cookie_id(client).split(":")[2]
    with client.session_transaction() as session:
        session["_user_id"] = f"{other.id}:{other.session_version}:{token}"
    assert not signed_in(client)


# -- pruning ------------------------------------------------------------------------------------------------


def add_session(db, user, now, *, created, last_seen=None, revoked=None) -> UserSession:
    row = UserSession(
        user_id=user.id,
        token_hash=hashlib.sha256(f"{created}{last_seen}{revoked}".encode()).hexdigest(),
        remote_addr="10.0.0.1",
        user_agent="test",
        created_at=now - created,
        last_seen_at=now - (last_seen if last_seen is not None else created),
        revoked_at=None if revoked is None else now - revoked,
    )
    db.session.add(row)
    db.session.flush()
    return row


def test_pruning_deletes_sessions_that_ended_more_than_a_day_ago(app, db, now, user):
    kept = [
        add_session(db, user, now, created=timedelta(hours=2)),  # live
        add_session(db, user, now, created=timedelta(hours=2), revoked=timedelta(hours=23)),  # signed out today
        add_session(db, user, now, created=timedelta(days=8), last_seen=timedelta(days=7, hours=12)),  # idle today
        add_session(db, user, now, created=timedelta(days=30, hours=12), last_seen=timedelta(hours=1)),  # too old today
    ]
    for gone in (
        dict(created=timedelta(days=3), revoked=timedelta(days=1, seconds=1)),
        dict(created=timedelta(days=9), last_seen=timedelta(days=8, seconds=1)),
        dict(created=timedelta(days=31, seconds=1), last_seen=timedelta(hours=1)),
    ):
        add_session(db, user, now, **gone)

    assert prune_user_sessions(now) == 3
    assert {row.id for row in sessions(db, user)} == {row.id for row in kept}


def test_sessions_are_pruned_hourly() -> None:
    assert ("prune_user_sessions", timedelta(hours=1), "stella.services.auth:prune_user_sessions") in JOBS
