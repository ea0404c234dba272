"""Run every connection flow with DEBUG logging captured: no token, code, secret or password in any log line,
page or database row in clear."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
import responses
import sqlalchemy as sa

import stella.providers as registry
from stella.models import SocialConnection
from stella.services.tokens import refresh_expiring_tokens
from tests.fake_providers import (
    ACCESS,
    APP_PASSWORD,
    CODE,
    FAKE,
    SECRETS,
    callback,
    connect_fully,
    pages_answer,
    profile_answer,
    raw_dump,
    session_answer,
    start,
    token_answer,
)
from tests.sandbox_support import connect_through_sandbox


def logged_text(caplog: pytest.LogCaptureFixture) -> str:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(formatter.format(record) for record in caplog.records)


def test_the_fake_flows_leak_no_secret_into_logs_pages_or_the_database(client, login, fake, db, caplog):
    caplog.set_level(logging.DEBUG)
    login("marketing")
    pages: list[str] = []

    # connect, reconnect with a refused code exchange that echoes the code, deny, replay
    connect_fully(client, fake)
    query = start(client)
    token_answer(fake, status=400, body={"error": "invalid_grant", "error_description": f"bad code {CODE}"})
    pages.append(client.get(callback(client, code=CODE, state=query["state"]).headers["Location"])
                 .get_data(as_text=True))
    query = start(client)
    callback(client, error="access_denied", state=query["state"])
    callback(client, code=CODE, state=query["state"])

    # a login with several targets, the pick step
    query = start(client, "facebook")
    token_answer(fake)
    profile_answer(fake)
    pages_answer(fake, [("1", "Harbor & Vine Realty"), ("2", "Harbor & Vine Rentals")])
    callback(client, "facebook", code=CODE, state=query["state"])
    pages.append(client.get("/connections/facebook/select").get_data(as_text=True))
    client.post("/connections/facebook/select", data={"target": "2"})

    # Bluesky with a wrong, then a right app password
    session_answer(fake, status=401)
    pages.append(client.post("/connections/bluesky/connect", data={
        "handle": "harborvine.bsky.social", "app_password": APP_PASSWORD}).get_data(as_text=True))
    session_answer(fake)
    client.post("/connections/bluesky/connect", data={
        "handle": "harborvine.bsky.social", "app_password": APP_PASSWORD})

    # refresh: one refused (the platform echoes the token), then the page with the banner
    connection = db.session.execute(sa.select(SocialConnection).filter_by(provider="x")).scalar_one()
    connection.status = "connected"
    connection.tokens.token_expires_at = datetime.now(UTC) + timedelta(minutes=1)
    db.session.commit()
    fake.add(responses.POST, f"{FAKE}/oauth/token", status=400,
             json={"error": "invalid_grant", "error_description": f"refresh token for {ACCESS} revoked"})
    refresh_expiring_tokens(datetime.now(UTC))
    db.session.commit()
    pages.append(client.get("/connections").get_data(as_text=True))

    # disconnect with a failing revoke that echoes the token
    fake.add(responses.POST, f"{FAKE}/oauth/revoke", status=400, json={"error": f"token {ACCESS} unknown"})
    client.post("/connections/x/disconnect")
    pages.append(client.get("/connections").get_data(as_text=True))

    logs = logged_text(caplog)
    assert caplog.records, "the flows should have logged something at DEBUG"
    everything = "\n".join([logs, raw_dump(), *pages])
    for secret in SECRETS:
        assert secret not in everything, f"a secret leaked: {secret[:6]}…"


def test_the_sandbox_flows_leak_no_secret_into_logs(client, login, db, sandboxed, caplog):
    caplog.set_level(logging.DEBUG)
    user = login("marketing")
    secrets: list[str] = []
    ready = [cls.name for cls in registry.PROVIDER_CLASSES]
    for name in ready:
        secrets += connect_through_sandbox(client, name)
        secrets += [f"sandbox-{name}-secret"]
    db.session.expire_all()
    for connection in db.session.execute(sa.select(SocialConnection).filter_by(user_id=user.id)).scalars():
        if connection.tokens:
            secrets += [t for t in (connection.tokens.access_token, connection.tokens.refresh_token) if t]
    assert len(ready) == 11 and secrets
    # Disconnecting revokes at the sandbox: those calls are logged too.
    for name in ready:
        client.post(f"/connections/{name}/disconnect")
    logs = logged_text(caplog)
    dump = raw_dump()
    for secret in secrets:
        assert secret not in logs, f"a secret reached the logs: {secret[:6]}…"
        assert secret not in dump
