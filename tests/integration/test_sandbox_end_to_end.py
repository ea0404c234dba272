"""Step 3 end to end: Stella, connected to a running sandbox, connects every platform and publishes to each.

The sandbox is a real HTTP server on a loopback port; Stella routes every platform request and every
authorization redirect to it. The sandbox's `GET /_sandbox/posts` is the ground truth of what was published.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest
import requests
import sqlalchemy as sa

import stella.providers as registry
from stella.extensions import db as _db
from stella.models import SocialConnection
from stella.models.types import now_utc
from stella.providers.base import MediaItem, OutboundPost, PublishResult
from stella.services.connections import provider_for_connection
from stella.services.tokens import call_with_fresh_token
from tests.sandbox_support import connect_through_sandbox

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 2048 + b"\xff\xd9"
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 4096


def media_for(name: str) -> tuple[MediaItem, ...]:
    """What each platform needs at the least: a photo where text alone is refused, a video for video platforms."""
    cls = registry.provider_class(name)
    if cls.rules.requires_video:
        return (MediaItem(url="https://media.harborvine.example/tour.mp4", kind="video", mime_type="video/mp4",
                          size_bytes=len(MP4), data=MP4),)
    if cls.rules.requires_media:
        return (MediaItem(url="https://media.harborvine.example/porch.jpg", kind="image", mime_type="image/jpeg",
                          size_bytes=len(JPEG), alt_text="Front porch", data=JPEG),)
    return ()


def publish_until_done(connection: SocialConnection, post: OutboundPost, sandbox_url: str) -> PublishResult:
    """Publish, then poll (moving the sandbox clock instead of sleeping) until the platform says published."""
    provider = provider_for_connection(connection)
    result = call_with_fresh_token(connection, lambda account: provider.publish(account, post))
    for _ in range(20):
        if result.state == "published":
            return result
        requests.post(f"{sandbox_url}/_sandbox/clock", json={"advance_seconds": 60}, timeout=5)
        # partial binds this round's poll handle; a lambda would read the loop variable late (B023).
        result = call_with_fresh_token(connection, partial(provider.check_publish, poll=result.poll))
    raise AssertionError(f"{connection.provider} never finished publishing: {result}")


@pytest.mark.parametrize("name", [cls.name for cls in registry.PROVIDER_CLASSES])
def test_each_platform_connects_through_real_redirects_and_publishes_one_post(client, login, db, sandboxed, name):
    user = login("marketing")
    connect_through_sandbox(client, name)
    _db.session.expire_all()
    connection = _db.session.execute(
        sa.select(SocialConnection).filter_by(user_id=user.id, provider=name)
    ).scalar_one()
    assert connection.status == "connected", connection.auth_metadata.get("error_reason")

    text = f"Just listed: 3-bed craftsman on Harbor Street, open house Saturday ({name}) #harborvine"
    # TikTok requires the user's own visibility choice for every post (content sharing guidelines).
    options = {"privacy_level": "PUBLIC_TO_EVERYONE"} if name == "tiktok" else {}
    post = OutboundPost(text=text, title="Harbor Street open house", media=media_for(name),
                        idempotency_key=f"e2e-{name}-{user.id}", options=options)
    result = publish_until_done(connection, post, sandboxed)
    assert result.platform_post_id

    published = requests.get(f"{sandboxed}/_sandbox/posts", params={"platform": name}, timeout=5).json()
    ours = [p for p in published if p["platform_post_id"] == result.platform_post_id]
    assert len(ours) == 1, published
    assert "Harbor Street" in ours[0]["text"] or "Harbor Street" in str(ours[0]["extra"])


def test_a_refresh_through_the_sandbox_keeps_the_connection_usable(client, login, db, sandboxed):
    """X's access tokens live two hours and rotate their refresh token: the refresh service renews them."""
    from stella.services.tokens import refresh_connection

    user = login("marketing")
    connect_through_sandbox(client, "x")
    connection = _db.session.execute(sa.select(SocialConnection).filter_by(user_id=user.id, provider="x")).scalar_one()
    old_access, old_refresh = connection.tokens.access_token, connection.tokens.refresh_token
    assert refresh_connection(connection, now=now_utc() + timedelta(hours=2))
    assert connection.tokens.access_token != old_access and connection.tokens.refresh_token != old_refresh
    result = publish_until_done(connection, OutboundPost(text="After a refresh", idempotency_key="e2e-refresh"),
                                sandboxed)
    assert result.state == "published"
