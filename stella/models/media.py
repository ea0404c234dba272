"""Media kept by Stella: uploaded files (stored under instance/media/ by content hash) and media fetched from URLs,
with what was read from them, and their place in posts."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from stella.extensions import Model
from stella.models.types import UTCDateTime, new_uuid, utc_now

MEDIA_KINDS: tuple[str, ...] = ("image", "video")


class MediaAsset(Model):
    __tablename__ = "media_assets"
    __table_args__ = (
        sa.CheckConstraint(f"kind IN ({', '.join(repr(k) for k in MEDIA_KINDS)})", name="ck_media_assets_kind"),
        sa.UniqueConstraint("public_token", name="uq_media_assets_public_token"),
        sa.Index("ix_media_assets_sha256", "sha256"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4, server_default=new_uuid())
    # SHA-256 of the stored bytes (after EXIF location was removed): the file's name on disk and the approval hash.
    sha256: Mapped[str] = mapped_column(sa.Text)
    kind: Mapped[str] = mapped_column(sa.Text)
    mime_type: Mapped[str] = mapped_column(sa.Text)
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger)
    width: Mapped[int | None] = mapped_column(sa.Integer)
    height: Mapped[int | None] = mapped_column(sa.Integer)
    duration_seconds: Mapped[float | None] = mapped_column(sa.Float)
    video_codec: Mapped[str | None] = mapped_column(sa.Text)
    audio_codec: Mapped[str | None] = mapped_column(sa.Text)
    frame_rate: Mapped[float | None] = mapped_column(sa.Float)
    original_filename: Mapped[str | None] = mapped_column(sa.Text)
    # Where it came from when added by URL (kept for the record; Stella serves its own copy).
    source_url: Mapped[str | None] = mapped_column(sa.Text)
    # The unguessable part of the public URL platforms fetch the file from.
    public_token: Mapped[str] = mapped_column(sa.Text)
    location_removed: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    created_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=utc_now())


class SocialPostMedia(Model):
    """A media item's place in a post, with the alt text written for it there."""

    __tablename__ = "social_post_media"
    __table_args__ = (sa.UniqueConstraint("post_id", "position", name="uq_social_post_media_post_position"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4, server_default=new_uuid())
    post_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("social_posts.id", ondelete="CASCADE"))
    media_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("media_assets.id", ondelete="RESTRICT"))
    position: Mapped[int] = mapped_column(sa.Integer)
    alt_text: Mapped[str] = mapped_column(sa.Text, server_default="")
