"""User administration pages: who may use them, and every rule they enforce."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from werkzeug.security import check_password_hash

from stella.models import AuditLog, User
from stella.services import users as user_service
from stella.services.errors import PermissionDeniedError
from tests.factories import make_user

HX = {"HX-Request": "true"}


def user_count(db) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(User))


def audit(db, action):
    return list(db.session.scalars(sa.select(AuditLog).where(AuditLog.action == action)))


def reload(db, user) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


@pytest.mark.parametrize("role", ["staff", "marketing", "approver"])
def test_non_admins_get_403_on_every_admin_page_and_change_nothing(client, db, login, role):
    me = login(role)
    other = make_user("staff")
    db.session.commit()
    before = user_count(db)
    assert client.get("/admin/users").status_code == 403
    assert client.get("/admin/users/new").status_code == 403
    assert client.post("/admin/users/new", data={"email": "sneaky@example.com", "role": "admin"}).status_code == 403
    assert client.post(f"/admin/users/{me.id}/role", data={"role": "admin"}).status_code == 403
    assert client.post(f"/admin/users/{other.id}/deactivate").status_code == 403
    assert user_count(db) == before
    assert reload(db, me).role == role and reload(db, other).is_active


def test_user_list_shows_each_account_with_role_zone_status_and_last_sign_in(client, db, login, now):
    admin = login("admin", timezone="America/New_York")
    make_user("approver", email="ann@example.com", display_name="Ann Approver", timezone="Europe/Paris",
              last_login_at=now)
    make_user("staff", email="gone@example.com", is_active=False)
    db.session.commit()
    html = client.get("/admin/users").get_data(as_text=True)
    assert "ann@example.com" in html and "Ann Approver" in html and "Europe/Paris" in html
    assert "gone@example.com" in html and "Deactivated" in html
    assert admin.email in html
    # 15:00 UTC shown in the viewer's zone (New York, UTC-5 in November).
    assert "24 Nov 2026, 10:00" in html
    assert "Never" in html


def test_the_account_count_agrees_with_its_number(client, db, login):
    login("admin")
    assert "1 account · 1 active" in client.get("/admin/users").get_data(as_text=True)
    make_user("staff", email="second@example.com")
    db.session.commit()
    assert "2 accounts · 2 active" in client.get("/admin/users").get_data(as_text=True)


def test_admin_creates_a_user_with_a_chosen_password_that_can_sign_in(app, client, db, login, flashes):
    admin = login("admin")
    response = client.post(
        "/admin/users/new",
        data={"email": "  New.Agent@Example.com ", "display_name": "New Agent", "role": "marketing",
              "password": "a long enough secret"},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/admin/users"
    assert ("success", "new.agent@example.com can now sign in.") in flashes()
    user = user_service.find_user_by_email("new.agent@example.com")
    assert user.role == "marketing" and user.display_name == "New Agent" and user.is_active
    assert user.password_hash != "a long enough secret"
    assert check_password_hash(user.password_hash, "a long enough secret")
    [entry] = audit(db, "user.created")
    assert entry.actor_id == admin.id and entry.subject_id == str(user.id)
    assert "a long enough secret" not in str(entry.details)

    other = app.test_client()
    signed_in = other.post("/login", data={"email": "new.agent@example.com", "password": "a long enough secret"})
    assert signed_in.status_code == 302


def test_leaving_the_password_empty_generates_one_shown_once_and_never_stored_in_clear(app, client, db, login):
    login("admin")
    response = client.post("/admin/users/new", data={"email": "gen@example.com", "role": "staff", "password": ""})
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    html = response.get_data(as_text=True)
    assert "shown only once" in html
    user = user_service.find_user_by_email("gen@example.com")
    password = html.split('id="generated-password" value="', 1)[1].split('"', 1)[0]
    assert len(password) >= 16 and check_password_hash(user.password_hash, password)
    # Not in the session cookie (flashes), not in the audit log, not on the list page.
    with client.session_transaction() as session:
        assert password not in str(dict(session))
    assert all(password not in str(e.details) for e in audit(db, "user.created"))
    assert password not in client.get("/admin/users").get_data(as_text=True)
    assert app.test_client().post("/login", data={"email": "gen@example.com", "password": password}).status_code == 302


def test_duplicate_email_in_any_case_is_a_form_error_and_saves_nothing(client, db, login):
    login("admin")
    make_user("staff", email="taken@example.com")
    db.session.commit()
    before = user_count(db)
    response = client.post(
        "/admin/users/new", data={"email": "TAKEN@Example.com", "display_name": "Copy Cat", "role": "approver"}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "A user with that email address already exists." in html
    assert "Copy Cat" in html and '<option selected value="approver">' in html  # what was typed is kept
    assert user_count(db) == before
    assert audit(db, "user.created") == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "not-an-email", "role": "staff"}, "Enter a valid email address"),
        ({"email": "", "role": "staff"}, "Enter an email address."),
        ({"email": "ok@example.com", "role": "overlord"}, "Choose one of the roles"),
        ({"email": "ok@example.com", "role": "staff", "password": "short"}, "at least 10 characters"),
        ({"email": "ok@example.com", "role": "staff", "display_name": "x" * 121}, "120 characters"),
    ],
)
def test_bad_input_on_create_is_explained_and_saves_nothing(client, db, login, data, message):
    login("admin")
    before = user_count(db)
    response = client.post("/admin/users/new", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert user_count(db) == before


def test_role_change_by_plain_form_saves_audits_and_flashes(client, db, login, flashes):
    admin = login("admin")
    target = make_user("staff")
    db.session.commit()
    response = client.post(f"/admin/users/{target.id}/role", data={"role": "approver"})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/users"
    assert ("success", f"{target.email} is now approver.") in flashes()
    assert reload(db, target).role == "approver"
    [entry] = audit(db, "user.role_changed")
    assert entry.actor_id == admin.id and entry.details == {"previous": "staff", "role": "approver"}


def test_role_change_by_htmx_returns_just_the_updated_row(client, db, login):
    login("admin")
    target = make_user("staff")
    db.session.commit()
    response = client.post(f"/admin/users/{target.id}/role", data={"role": "marketing"}, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith(f'<tr id="user-{target.id}"')
    assert "<html" not in html and "is now marketing" in html
    assert reload(db, target).role == "marketing"


def test_unknown_role_is_refused_with_a_message(client, db, login, flashes):
    login("admin")
    target = make_user("staff")
    db.session.commit()
    client.post(f"/admin/users/{target.id}/role", data={"role": "root"})
    assert any(category == "error" and "Choose one of the roles" in text for category, text in flashes())
    assert reload(db, target).role == "staff"


def test_admin_cannot_demote_themself(client, db, login, flashes):
    admin = login("admin")
    make_user("admin")  # not the last admin: the self rule alone refuses
    db.session.commit()
    client.post(f"/admin/users/{admin.id}/role", data={"role": "staff"})
    assert ("error", "You cannot remove your own admin role; ask another admin.") in flashes()
    assert reload(db, admin).role == "admin"
    htmx = client.post(f"/admin/users/{admin.id}/role", data={"role": "staff"}, headers=HX)
    assert "You cannot remove your own admin role" in htmx.get_data(as_text=True)
    assert reload(db, admin).role == "admin"


def test_admin_cannot_deactivate_themself(client, db, login, flashes):
    admin = login("admin")
    client.post(f"/admin/users/{admin.id}/deactivate")
    assert ("error", "You cannot deactivate your own account.") in flashes()
    assert reload(db, admin).is_active


def test_deactivate_and_reactivate_another_user(client, db, login, flashes):
    admin = login("admin")
    target = make_user("marketing")
    db.session.commit()
    version = target.session_version
    client.post(f"/admin/users/{target.id}/deactivate")
    assert ("success", f"{target.email} was deactivated and signed out everywhere.") in flashes()
    target = reload(db, target)
    assert not target.is_active and target.session_version == version + 1
    assert client.get("/admin/users").status_code == 200  # the admin's own session is untouched

    response = client.post(f"/admin/users/{target.id}/reactivate", headers=HX)
    assert "can sign in again" in response.get_data(as_text=True)
    assert reload(db, target).is_active
    assert [e.actor_id for e in audit(db, "user.deactivated")] == [admin.id]
    assert [e.actor_id for e in audit(db, "user.reactivated")] == [admin.id]


def test_the_last_active_admin_cannot_be_demoted_or_deactivated(db):
    last = make_user("admin")
    make_user("admin", is_active=False)  # an inactive admin does not count
    with pytest.raises(PermissionDeniedError, match="last active admin"):
        user_service.change_role(last, "staff")
    with pytest.raises(PermissionDeniedError, match="last active admin"):
        user_service.deactivate_user(last)
    assert last.role == "admin" and last.is_active


def test_another_admin_can_be_demoted_while_one_remains(client, db, login):
    login("admin")
    second = make_user("admin")
    db.session.commit()
    client.post(f"/admin/users/{second.id}/role", data={"role": "approver"})
    assert reload(db, second).role == "approver"


@pytest.mark.parametrize("path", ["/admin/users/not-a-uuid/role", "/admin/users/123/deactivate",
                                  "/admin/users/%27%3B--/reactivate"])
def test_malformed_user_ids_are_404(client, login, path):
    login("admin")
    assert client.post(path, data={"role": "staff"}).status_code == 404


@pytest.mark.parametrize("action", ["role", "deactivate", "reactivate"])
def test_unknown_user_ids_are_404(client, login, action):
    login("admin")
    assert client.post(f"/admin/users/{uuid.uuid4()}/{action}", data={"role": "staff"}).status_code == 404


def test_admin_pages_render_the_new_user_form(client, login):
    login("admin")
    html = client.get("/admin/users/new").get_data(as_text=True)
    for name in ("email", "display_name", "role", "password"):
        assert f'name="{name}"' in html
    assert "shown to you once" in html
