"""Per-platform targets of a post: which account it goes to, its caption variant and the platform's options."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from stella.extensions import Model
from stella.models.types import JsonDocument, UTCDateTime, new_uuid, now_utc, utc_now
from stella.platforms import PLATFORMS


class SocialPostTarget(Model):
    """One row per (post, platform). The post's `platforms` array stays the list of targets (the service keeps the
    two in step); posts written straight into `social_posts` by other programs get their rows when claimed."""

    __tablename__ = "social_post_targets"
    __table_args__ = (
        sa.UniqueConstraint("post_id", "platform", name="uq_social_post_targets_post_platform"),
        sa.CheckConstraint(
            f"platform IN ({', '.join(repr(p) for p in PLATFORMS)})", name="ck_social_post_targets_platform"
        ),
        sa.Index("ix_social_post_targets_connection_id", "connection_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4, server_default=new_uuid())
    post_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("social_posts.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(sa.Text)
    # The account it will be published with; NULL when that connection was removed (the post then says so).
    connection_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("social_connections.id", ondelete="SET NULL")
    )
    # A caption written for this platform only; NULL means the post's `content`.
    content: Mapped[str | None] = mapped_column(sa.Text)
    # The platform's own choices (format, title, board, privacy, call to action...), checked by the service.
    options: Mapped[dict[str, Any]] = mapped_column(JsonDocument, server_default=sa.text("'{}'"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=utc_now())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=utc_now(), onupdate=now_utc)
