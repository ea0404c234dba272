"""The journeys the benchmarks time: connecting like a browser does, and publishing like the publisher does."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

import stella.providers as registry
from stella.extensions import db
from stella.models import SocialConnection
from stella.providers.base import MediaItem, OutboundPost, PublishResult
from stella.sandbox.demo import demo_media
from stella.services import publishing

SANDBOX_MASTODON = "https://mastodon.example"
# Small but well-formed files: the sandboxes check magic bytes, not pixels.
MAX_POLLS = 20
# Sandbox seconds per poll: past every stand-in's processing time (at most 20 s) without racing the clock
# towards token expiry over a long run.
POLL_ADVANCE_SECONDS = 30
# Choices the composer asks the user for, where a platform refuses to default them.
PLATFORM_OPTIONS: dict[str, dict[str, Any]] = {
    # TikTok §6 (creator_info): the user picks the visibility per post from privacy_level_options; no default.
    "tiktok": {"privacy_level": "PUBLIC_TO_EVERYONE"},
}


class FlowError(RuntimeError):
    """A step of a journey answered something a browser would not have expected."""


def platform_names() -> list[str]:
    return [cls.name for cls in registry.PROVIDER_CLASSES]


def connect_via_browser(client: FlaskClient, name: str) -> None:
    """Connect → consent (Allow) → callback → (pick the first target), as a browser would.

    Raises FlowError on an unexpected answer; whether the account ended up connected is for the caller to read.
    """
    if name == "bluesky":
        from stella.sandbox.platforms.bluesky import DEMO

        response = client.post("/connections/bluesky/connect", data={
            "handle": DEMO["handle"], "app_password": DEMO["app_password"], "service": "https://bsky.social"})
        _expect(response.status_code in (302, 422), "Bluesky sign-in", response.status_code)
        return
    query = {"instance": SANDBOX_MASTODON} if name == "mastodon" else {}
    response = client.post(f"/connections/{name}/connect", data=query)
    _expect(response.status_code == 302, f"{name} connect", response.status_code)
    consent_url = response.headers["Location"]
    if urlsplit(consent_url).path.startswith("/connections/"):
        return  # Stella sent us back to its own page: starting failed (a flash says why)
    page = requests.get(consent_url, timeout=10)
    _expect(page.status_code == 200, f"{name} consent page", page.status_code)
    decision = requests.post(consent_url, data={"decision": "allow"}, allow_redirects=False, timeout=10)
    _expect(decision.status_code in (302, 303), f"{name} consent decision", decision.status_code)
    back = urlsplit(decision.headers["Location"])
    _expect(back.path == f"/connections/{name}/callback", f"{name} redirect back", back.path)
    response = client.get(back.path, query_string=back.query)
    _expect(response.status_code == 302, f"{name} callback", response.status_code)
    if response.headers["Location"].endswith(f"/connections/{name}/select"):
        page_html = client.get(f"/connections/{name}/select").get_data(as_text=True)
        choices = re.findall(r'name="target" value="([^"]+)"', page_html)
        if not choices:
            return  # listing the targets failed; the caller sees a pending connection
        response = client.post(f"/connections/{name}/select", data={"target": choices[0]})
        _expect(response.status_code in (302, 422), f"{name} target choice", response.status_code)


def connection_status(app: Flask, user_id: uuid.UUID, name: str) -> tuple[uuid.UUID | None, str | None]:
    with app.app_context():
        connection = db.session.execute(
            sa.select(SocialConnection).filter_by(user_id=user_id, provider=name)
        ).scalar_one_or_none()
        return (connection.id, connection.status) if connection else (None, None)


def connect_until_connected(app: Flask, client: FlaskClient, user_id: uuid.UUID, name: str,
                            attempts: int = 10) -> uuid.UUID:
    """Connect, trying again (as a person would) while injected faults make a step fail."""
    for _ in range(attempts):
        try:
            connect_via_browser(client, name)
        except (FlowError, requests.RequestException):
            continue
        connection_id, status = connection_status(app, user_id, name)
        if connection_id is not None and status == "connected":
            return connection_id
    raise FlowError(f"{name} did not connect in {attempts} attempts")


def media_for(name: str) -> tuple[MediaItem, ...]:
    return demo_media(registry.provider_class(name).rules)


def post_kind(name: str) -> str:
    media = media_for(name)
    return media[0].kind if media else "text"


def outbound_post(name: str, tag: str) -> OutboundPost:
    """A post every platform accepts, unique by `tag` (X refuses duplicate text)."""
    return OutboundPost(
        text=f"Just listed: 3-bed craftsman on Harbor Street, open house Saturday #harborvine [{tag}]",
        title=f"Harbor Street open house {tag}",
        media=media_for(name),
        idempotency_key=tag,
        options=PLATFORM_OPTIONS.get(name, {}),
    )


def publish_until_done(connection: SocialConnection, post: OutboundPost,
                       advance_clock: Callable[[float], None]) -> PublishResult:
    """Publish and poll until published (the same flow the end-to-end tests use)."""
    try:
        return publishing.publish_until_done(connection, post, advance_clock, polls=MAX_POLLS,
                                             poll_seconds=POLL_ADVANCE_SECONDS)
    except publishing.PublishNotFinishedError as exc:
        raise FlowError(str(exc)) from None


def _expect(condition: bool, step: str, got: object) -> None:
    if not condition:
        raise FlowError(f"{step}: unexpected answer {got!r}")
