"""Personal API tokens (stored hashed) and the idempotency keys that make a retried API create safe."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from stella.extensions import Model
from stella.models.types import UTCDateTime, new_uuid, utc_now


class ApiToken(Model):
    __tablename__ = "api_tokens"
    __table_args__ = (
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
        sa.Index("ix_api_tokens_user_id", "user_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4, server_default=new_uuid())
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.Text)
    # SHA-256 of the token: the token itself is shown once and never stored.
    token_hash: Mapped[str] = mapped_column(sa.Text)
    # The first characters, so the owner can tell tokens apart on the profile page.
    prefix: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=utc_now())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiIdempotencyKey(Model):
    """An `Idempotency-Key` a user sent with a create: the same key again returns the same post."""

    __tablename__ = "api_idempotency_keys"
    __table_args__ = (sa.UniqueConstraint("user_id", "key", name="uq_api_idempotency_keys_user_key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4, server_default=new_uuid())
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.Text)
    # SHA-256 of the request body: the same key with a different body is refused, not silently answered.
    request_hash: Mapped[str] = mapped_column(sa.Text)
    post_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("social_posts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=utc_now())
