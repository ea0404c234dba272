"""Refresh (scheduled, on 401), the Reconnect banner, key rotation and the startup key check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import responses
import sqlalchemy as sa
from cryptography.fernet import Fernet

from stella import create_app
from stella.config import ConfigError
from stella.crypto import EXTENSION_KEY as CIPHER_KEY
from stella.crypto import TokenCipher, TokenDecryptionError
from stella.extensions import db as _db
from stella.models import AuditLog, MastodonApp, OAuthState, SocialAccountToken, SocialConnection
from stella.providers.errors import AuthExpiredError
from stella.scheduler import JOBS
from stella.services.tokens import call_with_fresh_token, refresh_expiring_tokens
from tests.conftest import TEST_ENCRYPTION_KEY, make_test_config
from tests.factories import make_post, make_user
from tests.fake_providers import ACCESS, FAKE, REFRESH

NEW_ACCESS = "fresh-access-token-GGGG7777"
NEW_REFRESH = "fresh-refresh-token-HHHH8888"


def make_connection(user: Any, provider: str = "x", *, expires_at: datetime | None, refresh: str | None = REFRESH,
                    status: str = "connected", metadata: dict[str, Any] | None = None) -> SocialConnection:
    connection = SocialConnection(user_id=user.id, provider=provider, status=status,
                                  auth_metadata=metadata or {"scopes": ["post.write", "profile.read"]},
                                  connected_at=datetime.now(UTC))
    connection.tokens = SocialAccountToken(access_token=ACCESS, refresh_token=refresh, token_expires_at=expires_at,
                                           account_handle="harborvine", platform_account_id="4242")
    _db.session.add(connection)
    _db.session.flush()
    return connection


def refresh_answer(mock: responses.RequestsMock, body: dict[str, Any], status: int = 200) -> None:
    mock.add(responses.POST, f"{FAKE}/oauth/token", json=body, status=status)


def reload(connection: SocialConnection) -> SocialConnection:
    _db.session.expire_all()
    return _db.session.get(SocialConnection, connection.id)


# -- scheduled refresh --------------------------------------------------------------------------------------


def test_refresh_keeps_the_old_refresh_token_when_the_platform_sends_none(db, fake, now):
    connection = make_connection(make_user(), expires_at=now + timedelta(minutes=5))
    refresh_answer(fake, {"access_token": NEW_ACCESS, "expires_in": 3600})
    summary = refresh_expiring_tokens(now)
    assert len(summary.refreshed) == 1 and not summary.failed
    form = parse_qs(fake.calls[0].request.body)
    assert form == {"grant_type": ["refresh_token"], "refresh_token": [REFRESH]}
    tokens = reload(connection).tokens
    assert (tokens.access_token, tokens.refresh_token) == (NEW_ACCESS, REFRESH)
    assert tokens.token_expires_at > now + timedelta(minutes=50)


def test_refresh_stores_a_rotated_refresh_token(db, fake, now):
    connection = make_connection(make_user(), expires_at=now + timedelta(minutes=1))
    refresh_answer(fake, {"access_token": NEW_ACCESS, "refresh_token": NEW_REFRESH, "expires_in": 3600})
    refresh_expiring_tokens(now)
    tokens = reload(connection).tokens
    assert (tokens.access_token, tokens.refresh_token) == (NEW_ACCESS, NEW_REFRESH)


def test_tokens_outside_the_refresh_margin_and_unrenewable_ones_are_left_alone(db, fake, now):
    user = make_user()
    later = make_connection(user, expires_at=now + timedelta(hours=2))
    no_refresh = make_connection(user, "facebook", expires_at=now + timedelta(minutes=5), refresh=None)
    summary = refresh_expiring_tokens(now)
    assert summary.refreshed == [] and summary.failed == [] and not fake.calls
    assert reload(later).tokens.access_token == ACCESS and reload(no_refresh).status == "connected"


def test_a_refused_refresh_marks_the_connection_error_audits_it_and_shows_the_banner(client, login, fake, db, now):
    user = login("marketing")
    connection = make_connection(user, expires_at=datetime.now(UTC) + timedelta(minutes=5))
    refresh_answer(fake, {"error": "invalid_grant", "error_description": f"token {REFRESH} revoked"}, status=400)
    summary = refresh_expiring_tokens(datetime.now(UTC))
    assert len(summary.failed) == 1
    connection = reload(connection)
    assert connection.status == "error"
    reason = connection.auth_metadata["error_reason"]
    assert reason.startswith("FakeNet would not renew Stella's access") and REFRESH not in reason
    audit = db.session.execute(sa.select(AuditLog).filter_by(action="connection.refresh_failed")).scalar_one()
    assert audit.subject_id == str(connection.id) and REFRESH not in str(audit.details)
    db.session.commit()
    page = client.get("/connections").get_data(as_text=True)
    assert 'data-testid="reconnect-banner"' in page and "would not renew" in page


def test_a_transient_failure_while_the_token_is_still_valid_is_retried_later(db, fake, now):
    connection = make_connection(make_user(), expires_at=now + timedelta(minutes=5))
    refresh_answer(fake, {"error": "temporarily_unavailable"}, status=503)
    summary = refresh_expiring_tokens(now)
    assert len(summary.deferred) == 1 and not summary.failed
    assert reload(connection).status == "connected"


def test_a_transient_failure_after_expiry_marks_the_connection_error(db, fake, now):
    connection = make_connection(make_user(), expires_at=now - timedelta(minutes=1))
    refresh_answer(fake, {"error": "temporarily_unavailable"}, status=503)
    summary = refresh_expiring_tokens(now)
    assert len(summary.failed) == 1 and reload(connection).status == "error"


def test_the_scheduler_runs_the_refresh_every_five_minutes():
    assert ("refresh_tokens", timedelta(minutes=5), "stella.services.tokens:refresh_expiring_tokens") in JOBS


# -- refresh on 401 -----------------------------------------------------------------------------------------


def test_call_with_fresh_token_refreshes_once_and_retries_once(db, fake, now):
    connection = make_connection(make_user(), expires_at=now + timedelta(hours=1))
    refresh_answer(fake, {"access_token": NEW_ACCESS, "expires_in": 3600})
    seen: list[str] = []

    def publish(account: Any) -> str:
        seen.append(account.access_token)
        if account.access_token == ACCESS:
            raise AuthExpiredError("expired", platform="x")
        return "ok"

    assert call_with_fresh_token(connection, publish, now=now) == "ok"
    assert seen == [ACCESS, NEW_ACCESS] and len(fake.calls) == 1


def test_call_with_fresh_token_gives_up_when_the_refresh_fails(db, fake, now):
    connection = make_connection(make_user(), expires_at=now + timedelta(hours=1))
    refresh_answer(fake, {"error": "invalid_grant"}, status=400)
    calls = []

    def publish(account: Any) -> str:
        calls.append(account)
        raise AuthExpiredError("expired", platform="x")

    with pytest.raises(AuthExpiredError):
        call_with_fresh_token(connection, publish, now=now)
    assert len(calls) == 1 and reload(connection).status == "error"


# -- banner for scheduled posts -----------------------------------------------------------------------------


def test_banner_warns_when_an_unrenewable_token_expires_before_a_scheduled_post(client, login, fake, db):
    user = login("marketing")
    soon = datetime.now(UTC) + timedelta(days=1)
    make_connection(user, expires_at=soon, refresh=None)
    make_post(user, platforms=["x"], status="scheduled", scheduled_at=soon + timedelta(days=1))
    db.session.commit()
    page = client.get("/connections").get_data(as_text=True)
    assert 'data-testid="reconnect-banner"' in page and "before a post scheduled for" in page


def test_no_banner_when_scheduled_posts_come_before_the_expiry_or_the_token_renews(client, login, fake, db):
    user = login("marketing")
    soon = datetime.now(UTC) + timedelta(days=1)
    make_connection(user, expires_at=soon, refresh=None)
    make_connection(user, "facebook", expires_at=soon, refresh=REFRESH)
    make_post(user, platforms=["x"], status="scheduled", scheduled_at=soon - timedelta(hours=1))
    make_post(user, platforms=["facebook"], status="scheduled", scheduled_at=soon + timedelta(days=3))
    make_post(user, platforms=["x"], status="draft", scheduled_at=soon + timedelta(days=3))
    db.session.commit()
    page = client.get("/connections").get_data(as_text=True)
    assert 'data-testid="reconnect-banner"' not in page


# -- keys ---------------------------------------------------------------------------------------------------


def test_rotate_key_re_encrypts_every_secret_under_the_first_key(app, db, monkeypatch):
    user = make_user()
    make_connection(user, expires_at=None)
    db.session.add(MastodonApp(instance_url="https://social.example", client_id="c", client_secret="masto-secret",
                               redirect_uri="http://127.0.0.1:5000/connections/mastodon/callback", scopes="profile"))
    db.session.add(OAuthState(state_hash="h", user_id=user.id, provider="x", code_verifier="verifier-value",
                              session_nonce_hash="n"))
    db.session.commit()
    new_key = Fernet.generate_key().decode()
    monkeypatch.setitem(app.extensions, CIPHER_KEY, TokenCipher((new_key, TEST_ENCRYPTION_KEY)))

    result = app.test_cli_runner().invoke(args=["tokens", "rotate-key"])
    assert result.exit_code == 0, result.output
    assert "Re-encrypted 4 value(s)" in result.output

    only_new, only_old = TokenCipher((new_key,)), TokenCipher((TEST_ENCRYPTION_KEY,))
    raw = [
        *db.session.execute(sa.text("SELECT access_token, refresh_token FROM social_account_tokens")).one(),
        db.session.execute(sa.text("SELECT client_secret FROM mastodon_apps")).scalar_one(),
        db.session.execute(sa.text("SELECT code_verifier FROM oauth_states")).scalar_one(),
    ]
    assert [only_new.decrypt(v) for v in raw] == [ACCESS, REFRESH, "masto-secret", "verifier-value"]
    with pytest.raises(TokenDecryptionError):
        only_old.decrypt(raw[0])


def test_rotate_key_refuses_and_changes_nothing_when_a_value_cannot_be_decrypted(app, db, monkeypatch):
    make_connection(make_user(), expires_at=None)
    db.session.commit()
    before = db.session.execute(sa.text("SELECT access_token FROM social_account_tokens")).scalar_one()
    monkeypatch.setitem(app.extensions, CIPHER_KEY, TokenCipher((Fernet.generate_key().decode(),)))
    result = app.test_cli_runner().invoke(args=["tokens", "rotate-key"])
    assert result.exit_code != 0 and "cannot be decrypted with any configured key" in result.output
    assert ACCESS not in result.output
    assert db.session.execute(sa.text("SELECT access_token FROM social_account_tokens")).scalar_one() == before


def test_generate_key_prints_a_usable_fernet_key(app):
    result = app.test_cli_runner().invoke(args=["tokens", "generate-key"])
    assert result.exit_code == 0
    TokenCipher((result.output.strip(),))  # raises when it is not a Fernet key


def test_tokens_refresh_command_prints_a_summary(app, db, fake):
    make_connection(make_user(), expires_at=datetime.now(UTC) + timedelta(minutes=3))
    refresh_answer(fake, {"access_token": NEW_ACCESS, "expires_in": 3600})
    result = app.test_cli_runner().invoke(args=["tokens", "refresh"])
    assert result.exit_code == 0, result.output
    assert "refreshed 1, failed 0, deferred 0" in result.output and NEW_ACCESS not in result.output


def test_startup_refuses_a_key_that_cannot_decrypt_the_stored_tokens(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    first = create_app(make_test_config(url, tmp_path))  # no tables yet: the check is skipped quietly
    with first.app_context():
        _db.create_all()
        make_connection(make_user(), expires_at=None)
        _db.session.commit()
        _db.session.remove()
        _db.engine.dispose()
    create_app(make_test_config(url, tmp_path))  # the right key starts fine
    wrong = make_test_config(url, tmp_path).with_overrides(encryption_keys=(Fernet.generate_key().decode(),))
    with pytest.raises(ConfigError, match="cannot be decrypted with the configured STELLA_ENCRYPTION_KEYS"):
        create_app(wrong)
    rotated = make_test_config(url, tmp_path).with_overrides(
        encryption_keys=(Fernet.generate_key().decode(), TEST_ENCRYPTION_KEY))
    create_app(rotated)  # an old key listed after a new one still decrypts


def test_a_token_another_worker_already_refreshed_is_used_without_refreshing_again(db, fake, now):
    """With rotating refresh tokens a second refresh would use a dead refresh token and break the connection."""
    from stella.providers.base import TokenSet
    from stella.services.connections import store_tokens

    connection = make_connection(make_user(), expires_at=now + timedelta(hours=1))
    seen: list[str] = []

    def publish(account: Any) -> str:
        seen.append(account.access_token)
        if account.access_token == ACCESS:
            # Meanwhile another worker refreshed the token (and rotated the refresh token).
            store_tokens(connection, TokenSet(access_token=NEW_ACCESS, refresh_token="rotated-refresh-token",
                                              expires_at=now + timedelta(hours=2)))
            raise AuthExpiredError("expired", platform="x")
        return "ok"

    assert call_with_fresh_token(connection, publish, now=now) == "ok"
    assert seen == [ACCESS, NEW_ACCESS] and len(fake.calls) == 0
    assert reload(connection).status == "connected"
