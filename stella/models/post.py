from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from stella.extensions import Model
from stella.models.media import SocialPostMedia
from stella.models.target import SocialPostTarget
from stella.models.types import JsonDocument, TextArray, UTCDateTime, new_uuid, now_utc, utc_now
from stella.platforms import PLATFORMS

POST_STATUSES: tuple[str, ...] = ("draft", "scheduled", "queued", "published", "failed")
APPROVAL_STATUSES: tuple[str, ...] = ("pending", "approved", "rejected")

# The seed's status workflow; the one place that says which moves a post may make.
POST_TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"scheduled", "published"}),
    "scheduled": frozenset({"queued"}),
    "queued": frozenset({"published", "failed"}),
    "published": frozenset(),
    "failed": frozenset({"scheduled"}),
}


class InvalidTransitionError(ValueError):
    """A post was asked to move between statuses the workflow does not connect."""


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(repr(v) for v in values)


def _sqlite_platforms_check() -> str:
    # SQLite CHECKs cannot hold subqueries, so strip every valid quoted name from the JSON text and
    # require that only array punctuation and JSON whitespace is left, with a single "[": a nested
    # array ('[[]]') is punctuation too and must not pass for a platform.
    stripped = "platforms"
    for name in PLATFORMS:
        stripped = f"replace({stripped}, '\"{name}\"', '')"
    return (
        "json_valid(platforms) AND json_type(platforms) = 'array' AND json_array_length(platforms) > 0 "
        f"AND trim({stripped}, '[], ' || char(9, 10, 13)) = '' "
        "AND instr(substr(platforms, instr(platforms, '[') + 1), '[') = 0"
    )


PG_PLATFORMS_CHECK = f"cardinality(platforms) > 0 AND platforms <@ ARRAY[{_quoted(PLATFORMS)}]::text[]"
SQLITE_PLATFORMS_CHECK = _sqlite_platforms_check()


class SocialPost(Model):
    __tablename__ = "social_posts"
    __table_args__ = (
        sa.CheckConstraint(PG_PLATFORMS_CHECK, name="ck_social_posts_platforms").ddl_if(dialect="postgresql"),
        sa.CheckConstraint(SQLITE_PLATFORMS_CHECK, name="ck_social_posts_platforms").ddl_if(dialect="sqlite"),
        sa.CheckConstraint(f"status IN ({_quoted(POST_STATUSES)})", name="ck_social_posts_status"),
        sa.CheckConstraint(
            f"approval_status IS NULL OR approval_status IN ({_quoted(APPROVAL_STATUSES)})",
            name="ck_social_posts_approval_status",
        ),
        sa.Index("idx_social_posts_scheduled_at", "scheduled_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4, server_default=new_uuid())
    content: Mapped[str] = mapped_column(sa.Text)
    platforms: Mapped[list[str]] = mapped_column(TextArray)
    status: Mapped[str] = mapped_column(sa.Text, server_default="draft")
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    timezone: Mapped[str] = mapped_column(sa.Text, server_default="UTC")
    media_urls: Mapped[list[str] | None] = mapped_column(TextArray)
    campaign: Mapped[str | None] = mapped_column(sa.Text)
    notes: Mapped[str | None] = mapped_column(sa.Text)
    approval_required: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    approval_status: Mapped[str | None] = mapped_column(sa.Text)
    failure_reason: Mapped[str | None] = mapped_column(sa.Text)
    created_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    owner_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=utc_now())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=utc_now(), onupdate=now_utc)
    # Parts 2..n of a thread (X, Bluesky, Threads, Mastodon); `content` is always the first part.
    thread_parts: Mapped[list[str] | None] = mapped_column(JsonDocument)
    # Bumped by every change (optimistic locking): a save based on an older version is refused, never merged.
    version: Mapped[int] = mapped_column(sa.Integer, server_default="1")

    targets: Mapped[list[SocialPostTarget]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by=SocialPostTarget.platform
    )
    media: Mapped[list[SocialPostMedia]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by=SocialPostMedia.position
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's declarative attribute

    def move_to(self, status: str) -> None:
        """Change status along the workflow (POST_TRANSITIONS); any other move raises InvalidTransitionError."""
        current = self.status or "draft"
        if status not in POST_TRANSITIONS.get(current, frozenset()):
            raise InvalidTransitionError(f"A {current} post cannot become {status}.")
        self.status = status


class SocialAnalytics(Model):
    __tablename__ = "social_analytics"
    __table_args__ = (
        sa.CheckConstraint(f"platform IN ({_quoted(PLATFORMS)})", name="ck_social_analytics_platform"),
        sa.Index("idx_social_analytics_post_id", "post_id"),
        sa.Index("idx_social_analytics_platform", "platform"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4, server_default=new_uuid())
    post_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("social_posts.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(sa.Text)
    platform_post_id: Mapped[str | None] = mapped_column(sa.Text)
    impressions: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    engagement: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    shares: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    comments: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    likes: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=utc_now())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=utc_now(), onupdate=now_utc)
