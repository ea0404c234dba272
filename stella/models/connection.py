from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from stella.extensions import Model
from stella.models.types import EncryptedText, JsonDocument, UTCDateTime, new_uuid, now_utc, utc_now
from stella.platforms import PLATFORMS

CONNECTION_STATUSES: tuple[str, ...] = ("connected", "pending", "error")


def _in_list(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class SocialConnection(Model):
    __tablename__ = "social_connections"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "provider", name="social_connections_user_id_provider_key"),
        sa.CheckConstraint(_in_list("provider", PLATFORMS), name="ck_social_connections_provider"),
        sa.CheckConstraint(_in_list("status", CONNECTION_STATUSES), name="ck_social_connections_status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4, server_default=new_uuid())
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.Text, server_default="pending")
    connected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    auth_metadata: Mapped[dict[str, Any]] = mapped_column(JsonDocument, server_default=sa.text("'{}'"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=utc_now(), onupdate=now_utc)
    # Rate-limit bookkeeping ("Future Enhancements: Rate Limiting" in the seed).
    api_calls_used: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    api_calls_reset_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rate_limit_tier: Mapped[str] = mapped_column(sa.Text, server_default="free")

    tokens: Mapped[SocialAccountToken | None] = relationship(
        back_populates="connection", cascade="all, delete-orphan", passive_deletes=True, uselist=False
    )


class SocialAccountToken(Model):
    __tablename__ = "social_account_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4, server_default=new_uuid())
    connection_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("social_connections.id", ondelete="CASCADE"), unique=True
    )
    access_token: Mapped[str | None] = mapped_column(EncryptedText)
    refresh_token: Mapped[str | None] = mapped_column(EncryptedText)
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    account_handle: Mapped[str | None] = mapped_column(sa.Text)
    display_name: Mapped[str | None] = mapped_column(sa.Text)
    profile_image_url: Mapped[str | None] = mapped_column(sa.Text)
    platform_account_id: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=utc_now())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=utc_now(), onupdate=now_utc)

    connection: Mapped[SocialConnection] = relationship(back_populates="tokens")
