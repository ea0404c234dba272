"""Server-side OAuth bookkeeping: pending authorization states and per-instance Mastodon app credentials."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from stella.extensions import Model
from stella.models.types import EncryptedText, UTCDateTime, new_uuid, utc_now
from stella.platforms import PLATFORMS


class OAuthState(Model):
    """One authorization attempt. Single use, bound to a user and a browser session, short-lived.

    Only a SHA-256 of the `state` value and of the session nonce are kept, so a database reader cannot
    complete someone else's sign-in; the PKCE verifier is encrypted like the tokens.
    """

    __tablename__ = "oauth_states"
    __table_args__ = (
        sa.CheckConstraint(
            f"provider IN ({', '.join(repr(p) for p in PLATFORMS)})", name="ck_oauth_states_provider"
        ),
        sa.Index("ix_oauth_states_created_at", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4, server_default=new_uuid())
    state_hash: Mapped[str] = mapped_column(sa.Text, unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(sa.Text)
    code_verifier: Mapped[str | None] = mapped_column(EncryptedText)
    instance_url: Mapped[str | None] = mapped_column(sa.Text)
    session_nonce_hash: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=utc_now())
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MastodonApp(Model):
    """Client credentials Stella registered on one Mastodon instance (`POST /api/v1/apps`), reused afterwards."""

    __tablename__ = "mastodon_apps"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4, server_default=new_uuid())
    instance_url: Mapped[str] = mapped_column(sa.Text, unique=True)
    client_id: Mapped[str] = mapped_column(sa.Text)
    client_secret: Mapped[str] = mapped_column(EncryptedText)
    redirect_uri: Mapped[str] = mapped_column(sa.Text)
    scopes: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=utc_now())
