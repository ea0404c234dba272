"""`flask users …` commands, run through Flask's CLI runner against the test database."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from werkzeug.security import check_password_hash

from stella.models import User
from stella.services import users as user_service
from tests.factories import make_user


@pytest.fixture()
def cli(app, db):
    return app.test_cli_runner()


def count(db) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(User))


def test_bootstrap_admin_creates_the_first_admin_and_prints_the_password_once(cli, db):
    assert count(db) == 0
    result = cli.invoke(args=["users", "bootstrap-admin"])
    assert result.exit_code == 0, result.output
    admin = user_service.find_user_by_email("admin@stella.local")
    assert admin.role == "admin" and admin.is_active
    password = result.output.split("password:", 1)[1].split()[0]
    assert result.output.count(password) == 1
    assert check_password_hash(admin.password_hash, password)


def test_bootstrap_admin_accepts_another_email(cli, db):
    result = cli.invoke(args=["users", "bootstrap-admin", "--email", "Boss@Agency.com"])
    assert result.exit_code == 0
    assert user_service.find_user_by_email("boss@agency.com").role == "admin"


def test_bootstrap_admin_does_nothing_when_users_exist(cli, db):
    make_user("staff")
    db.session.commit()
    result = cli.invoke(args=["users", "bootstrap-admin"])
    assert result.exit_code == 0
    assert "Users already exist; nothing to do." in result.output and "password" not in result.output
    assert count(db) == 1


def test_create_with_password_on_stdin(cli, db):
    result = cli.invoke(
        args=["users", "create", "--email", "Writer@Example.com", "--role", "marketing", "--name", "Wendy Writer",
              "--password-stdin"],
        input="stdin secret 123\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created writer@example.com (marketing)." in result.output
    user = user_service.find_user_by_email("writer@example.com")
    assert user.display_name == "Wendy Writer" and check_password_hash(user.password_hash, "stdin secret 123")
    assert "stdin secret 123" not in result.output


def test_create_prompts_twice_and_asks_again_on_mismatch(cli, db):
    result = cli.invoke(
        args=["users", "create", "--email", "p@example.com", "--role", "staff"],
        input="first try 12345\ndifferent 12345\nsecond try 12345\nsecond try 12345\n",
    )
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output
    assert check_password_hash(user_service.find_user_by_email("p@example.com").password_hash, "second try 12345")


def test_create_duplicate_email_fails_with_a_clear_message_before_prompting(cli, db):
    make_user("staff", email="dup@example.com")
    db.session.commit()
    result = cli.invoke(args=["users", "create", "--email", "DUP@example.com", "--role", "admin"])
    assert result.exit_code == 1
    assert "A user with that email address already exists." in result.output
    assert "Password" not in result.output
    assert count(db) == 1


def test_create_with_a_short_password_fails_and_saves_nothing(cli, db):
    result = cli.invoke(
        args=["users", "create", "--email", "s@example.com", "--role", "staff", "--password-stdin"], input="short\n"
    )
    assert result.exit_code == 1 and "at least 10 characters" in result.output
    assert count(db) == 0


def test_create_with_an_empty_stdin_password_fails(cli, db):
    result = cli.invoke(
        args=["users", "create", "--email", "e@example.com", "--role", "staff", "--password-stdin"], input=""
    )
    assert result.exit_code == 1 and "No password was given on standard input." in result.output
    assert count(db) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--email", "x@example.com", "--role", "overlord"], "Invalid value for '--role'"),
        (["--email", "not an email", "--role", "staff"], "Enter a valid email address"),
        (["--role", "staff"], "Missing option '--email'"),
    ],
)
def test_create_bad_options_fail_with_a_message(cli, db, args, message):
    result = cli.invoke(args=["users", "create", *args, "--password-stdin"], input="long enough pw\n")
    assert result.exit_code != 0 and message in result.output
    assert count(db) == 0


def test_list_prints_every_user_with_role_and_status(cli, db):
    make_user("approver", email="a@example.com", display_name="Ann")
    make_user("staff", email="b@example.com", is_active=False)
    db.session.commit()
    result = cli.invoke(args=["users", "list"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split()[:3] == ["EMAIL", "ROLE", "STATUS"]
    assert any(line.split()[:4] == ["a@example.com", "approver", "active", "never"] for line in lines)
    assert any(line.split()[:3] == ["b@example.com", "staff", "deactivated"] for line in lines)


def test_list_with_no_users_says_how_to_start(cli, db):
    result = cli.invoke(args=["users", "list"])
    assert result.exit_code == 0 and "bootstrap-admin" in result.output


def test_set_password_replaces_it_and_ends_sessions(cli, db):
    user = make_user("staff", email="forgetful@example.com")
    db.session.commit()
    version = user.session_version
    result = cli.invoke(
        args=["users", "set-password", "--email", "Forgetful@example.com", "--password-stdin"], input="brand new pw 1\n"
    )
    assert result.exit_code == 0 and "Password updated for forgetful@example.com." in result.output
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert check_password_hash(user.password_hash, "brand new pw 1") and user.session_version == version + 1


def test_set_password_for_an_unknown_email_fails(cli, db):
    result = cli.invoke(args=["users", "set-password", "--email", "ghost@example.com", "--password-stdin"],
                        input="whatever 12345\n")
    assert result.exit_code == 1 and "No user has the email address 'ghost@example.com'." in result.output


def test_set_password_refuses_a_short_one_and_keeps_the_old(cli, db):
    user = make_user("staff")
    db.session.commit()
    old_hash = user.password_hash
    result = cli.invoke(args=["users", "set-password", "--email", user.email, "--password-stdin"], input="short\n")
    assert result.exit_code == 1 and "at least 10 characters" in result.output
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash == old_hash
