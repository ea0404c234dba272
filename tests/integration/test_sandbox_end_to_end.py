"""Step 3 end to end: Stella, connected to a running sandbox, connects every platform and publishes to each.

The sandbox is a real HTTP server on a loopback port; Stella routes every platform request and every
authorization redirect to it. The sandbox's `GET /_sandbox/posts` is the ground truth of what was published.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
import sqlalchemy as sa

import stella.providers as registry
from stella.extensions import db as _db
from stella.models import SocialConnection
from stella.models.types import now_utc
from stella.providers.base import OutboundPost
from stella.sandbox.demo import demo_media
from stella.services.publishing import publish_until_done
from tests.sandbox_support import connect_through_sandbox, sandbox_clock


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
    media = demo_media(registry.provider_class(name).rules)
    post = OutboundPost(text=text, title="Harbor Street open house", media=media,
                        idempotency_key=f"e2e-{name}-{user.id}", options=options)
    result = publish_until_done(connection, post, sandbox_clock(sandboxed))
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
                                sandbox_clock(sandboxed))
    assert result.state == "published"
