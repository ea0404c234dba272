"""Concurrent writers on the embedded SQLite database: no request may fail with "database is locked".

These tests need a real database file shared by several threads, so they build their own app instead of using the
rolled-back `db` fixture (whose single connection would serialise everything and hide the problem).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
import sqlalchemy as sa
from flask import Flask

import stella.providers as registry
from stella import create_app
from stella.config import ProviderCredentials
from stella.extensions import db
from stella.models import OAuthState, SocialConnection, User
from stella.models.types import now_utc
from stella.services.connections import start_authorization
from tests.conftest import StellaTestClient, make_test_config
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.fake_providers import ACCESS, CLIENT_ID, CLIENT_SECRET, FAKE, REFRESH, FakeProvider

# Long enough that the callbacks overlap while one of them holds the write lock.
TOKEN_ENDPOINT_DELAY = 0.3


@pytest.fixture()
def file_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    monkeypatch.setitem(registry.PROVIDERS_BY_NAME, "x", FakeProvider)
    config = make_test_config(f"sqlite:///{tmp_path / 'stella.db'}", tmp_path / "instance").with_overrides(
        provider_credentials={"x": ProviderCredentials(CLIENT_ID, CLIENT_SECRET)}
    )
    app = create_app(config)
    app.test_client_class = StellaTestClient
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture()
def slow_platform() -> Iterator[responses.RequestsMock]:
    def token(request: Any) -> tuple[int, dict[str, str], str]:
        time.sleep(TOKEN_ENDPOINT_DELAY)
        return 200, {"Content-Type": "application/json"}, (
            f'{{"access_token": "{ACCESS}", "refresh_token": "{REFRESH}", "expires_in": 7200,'
            ' "scope": "post.write profile.read"}'
        )

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.POST, f"{FAKE}/oauth/token", callback=token)
        mock.add(responses.GET, f"{FAKE}/me", json={"id": "4242", "username": "harborvine", "name": "Harbor & Vine"})
        yield mock


def signed_in_client(app: Flask, email: str) -> Any:
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    return client


def begin_flow(app: Flask, client: Any, email: str) -> str:
    """Start an authorization for `email` bound to `client`'s browser session; return the state."""
    with client.session_transaction() as browser_session:
        browser_session["oauth_session_nonce"] = nonce = f"nonce-{email}"
    with app.app_context():
        user = db.session.execute(sa.select(User).filter_by(email=email)).scalar_one()
        url = start_authorization(user, "x", session_nonce=nonce, now=now_utc())
        db.session.commit()
    return parse_qs(urlsplit(url).query)["state"][0]


def run_together(calls: list[Any]) -> list[Any]:
    """Run every call at the same moment in its own thread; return their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = calls[index]()
        except Exception as exc:  # a 500 re-raises in testing: keep it as the result to assert on
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def make_users(app: Flask, *emails: str) -> None:
    with app.app_context():
        for email in emails:
            make_user("marketing", email=email)
        db.session.commit()


def test_simultaneous_callbacks_with_one_state_connect_once_and_answer_the_rest_clearly(file_app, slow_platform):
    make_users(file_app, "morgan@example.com")
    clients = [signed_in_client(file_app, "morgan@example.com") for _ in range(4)]
    # All four tabs share one browser session (same nonce), as a double-clicked or replayed callback would.
    state = begin_flow(file_app, clients[0], "morgan@example.com")
    with clients[0].session_transaction() as first:
        cookie_session = dict(first)
    for other in clients[1:]:
        with other.session_transaction() as browser_session:
            browser_session.update(cookie_session)

    results = run_together([lambda c=c: c.get("/connections/x/callback", query_string={"code": "c", "state": state})
                            for c in clients])

    assert not [r for r in results if isinstance(r, Exception)], results
    assert all(r.status_code == 302 for r in results)
    assert len(slow_platform.calls) >= 1
    token_calls = [call for call in slow_platform.calls if call.request.url.endswith("/oauth/token")]
    assert len(token_calls) == 1, "the state is single use: exactly one callback may exchange the code"
    with file_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SocialConnection)) == 1
        assert db.session.scalar(sa.select(sa.func.count()).where(OAuthState.consumed_at.is_not(None))) == 1


def test_two_people_completing_a_connection_at_the_same_moment_both_succeed(file_app, slow_platform):
    emails = ["morgan@example.com", "riley@example.com"]
    make_users(file_app, *emails)
    clients = [signed_in_client(file_app, email) for email in emails]
    states = [begin_flow(file_app, client, email) for client, email in zip(clients, emails, strict=True)]

    results = run_together([
        lambda c=c, s=s: c.get("/connections/x/callback", query_string={"code": "c", "state": s})
        for c, s in zip(clients, states, strict=True)
    ])

    assert not [r for r in results if isinstance(r, Exception)], results
    assert [r.status_code for r in results] == [302, 302]
    with file_app.app_context():
        statuses = db.session.scalars(sa.select(SocialConnection.status)).all()
    assert sorted(statuses) == ["connected", "connected"]
