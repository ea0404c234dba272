from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from stella.extensions import Model
from stella.models.post import InvalidTransitionError
from stella.models.types import EncryptedText, JsonDocument, UTCDateTime, new_uuid, now_utc, utc_now
from stella.platforms import PLATFORMS

CONNECTION_STATUSES: tuple[str, ...] = ("connected", "pending", "error")

# The one place that says how a connection's status may move; `SocialConnection.move_to` enforces it. `None` is a
# connection being created: it starts connected, pending (its login reaches several accounts and the user must
# pick one) or error (the first sign-in half worked: a permission unticked, nothing to publish to). Afterwards a
# fresh sign-in may replace any connection (connected, or pending when it must pick again) and any may fail; an
# `error` that fails again keeps the newer reason. A status added to CONNECTION_STATUSES needs a row here.
CONNECTION_TRANSITIONS: dict[str | None, frozenset[str]] = {
    None: frozenset({"connected", "pending", "error"}),
    "pending": frozenset({"connected", "pending", "error"}),
    "connected": frozenset({"connected", "pending", "error"}),
    "error": frozenset({"connected", "pending", "error"}),
}
# Keys of `auth_metadata` that describe an `error` status; they go when the connection leaves it.
ERROR_DETAILS: tuple[str, ...] = ("error_reason", "error_at")


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

    def move_to(self, status: str, *, now: datetime) -> None:
        """Change status along CONNECTION_TRANSITIONS; any other move raises InvalidTransitionError.

        Entering `connected` stamps `connected_at`; leaving `error` drops the reason it was shown with.
        """
        current: str | None = self.status  # None until a new connection is first given a status
        if status not in CONNECTION_TRANSITIONS.get(current, frozenset()):
            raise InvalidTransitionError(f"A {current or 'new'} connection cannot become {status!r}.")
        self.status = status
        if status == "connected":
            self.connected_at = now
        if status != "error" and any(key in (self.auth_metadata or {}) for key in ERROR_DETAILS):
            self.auth_metadata = {k: v for k, v in self.auth_metadata.items() if k not in ERROR_DETAILS}


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
