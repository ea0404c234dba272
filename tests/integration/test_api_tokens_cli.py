"""`flask api-tokens …`, run through Flask's CLI runner against the test database."""

from __future__ import annotations

import hashlib
import uuid

import pytest

from stella.services import api_tokens as token_service
from tests.factories import make_user
from tests.fake_providers import raw_dump


@pytest.fixture()
def cli(app, db):
    return app.test_cli_runner()


@pytest.fixture()
def user(db):
    created = make_user("marketing", email="writer@example.com")
    db.session.commit()
    return created


def test_create_prints_the_token_alone_on_the_last_line(cli, client, db, user):
    result = cli.invoke(args=["api-tokens", "create", "--email", "Writer@Example.com", "--name", "Nightly import"])
    assert result.exit_code == 0, result.output
    last_line = result.output.rstrip("\n").splitlines()[-1]
    assert last_line.startswith("stl_") and " " not in last_line
    assert result.output.count(last_line) == 1
    [token] = token_service.list_api_tokens(user)
    assert token.name == "Nightly import"
    assert token.token_hash == hashlib.sha256(last_line.encode()).hexdigest()
    assert last_line not in raw_dump()
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {last_line}"})
    assert response.get_json()["email"] == "writer@example.com"


def test_create_for_an_unknown_email_fails(cli, db):
    result = cli.invoke(args=["api-tokens", "create", "--email", "nobody@example.com", "--name", "x"])
    assert result.exit_code != 0
    assert "No user has the email address 'nobody@example.com'" in result.output
    assert "stl_" not in result.output


def test_create_with_a_blank_name_fails(cli, user):
    result = cli.invoke(args=["api-tokens", "create", "--email", user.email, "--name", "   "])
    assert result.exit_code != 0 and "Give the token a name" in result.output
    assert token_service.list_api_tokens(user) == []


def test_create_for_a_deactivated_user_fails(cli, db):
    make_user("admin", email="gone@example.com", is_active=False)
    db.session.commit()
    result = cli.invoke(args=["api-tokens", "create", "--email", "gone@example.com", "--name", "x"])
    assert result.exit_code != 0 and "deactivated" in result.output


def test_list_shows_prefixes_never_tokens(cli, user, now, db):
    _, plaintext = token_service.create_api_token(user, "Zapier", now)
    db.session.commit()
    result = cli.invoke(args=["api-tokens", "list", "--email", user.email])
    assert result.exit_code == 0, result.output
    assert "Zapier" in result.output and plaintext[:10] in result.output and "active" in result.output
    assert plaintext not in result.output


def test_list_with_no_tokens(cli, user):
    result = cli.invoke(args=["api-tokens", "list", "--email", user.email])
    assert result.exit_code == 0 and "has no API tokens" in result.output


def test_list_for_an_unknown_email_fails(cli, db):
    assert cli.invoke(args=["api-tokens", "list", "--email", "nobody@example.com"]).exit_code != 0


def test_revoke(cli, client, user, now, db):
    token, plaintext = token_service.create_api_token(user, "Zapier", now)
    db.session.commit()
    result = cli.invoke(args=["api-tokens", "revoke", "--email", user.email, "--id", str(token.id)])
    assert result.exit_code == 0, result.output
    assert "Revoked API token 'Zapier'" in result.output
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {plaintext}"}).status_code == 401
    assert "revoked" in cli.invoke(args=["api-tokens", "list", "--email", user.email]).output


@pytest.mark.parametrize("token_id", ["not-a-uuid", str(uuid.uuid4())])
def test_revoke_a_bad_or_unknown_id_fails(cli, user, token_id):
    result = cli.invoke(args=["api-tokens", "revoke", "--email", user.email, "--id", token_id])
    assert result.exit_code != 0 and "Error" in result.output


def test_revoke_another_users_token_fails(cli, user, now, db):
    other = make_user("admin")
    db.session.commit()
    token, _ = token_service.create_api_token(other, "theirs", now)
    db.session.commit()
    result = cli.invoke(args=["api-tokens", "revoke", "--email", user.email, "--id", str(token.id)])
    assert result.exit_code != 0 and "does not exist" in result.output
    db.session.refresh(token)
    assert token.revoked_at is None
