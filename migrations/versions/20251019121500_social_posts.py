"""social_posts: the queue of drafts, scheduled and published posts (seed migration 20251019121500).

Revision ID: 20251019121500
Revises: 20251019120000
Create Date: 2025-10-19 12:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from stella.models.post import PG_PLATFORMS_CHECK, SQLITE_PLATFORMS_CHECK
from stella.models.types import TextArray, UTCDateTime, new_uuid, utc_now

# revision identifiers, used by Alembic.
revision = "20251019121500"
down_revision = "20251019120000"
branch_labels = None
depends_on = None

POST_STATUSES = ("draft", "scheduled", "queued", "published", "failed")
APPROVAL_STATUSES = ("pending", "approved", "rejected")


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(repr(v) for v in values)


def upgrade() -> None:
    # TEXT[] on PostgreSQL, a JSON array on SQLite: each engine gets the platforms check it can evaluate.
    dialect = op.get_bind().dialect.name
    platforms_check = PG_PLATFORMS_CHECK if dialect == "postgresql" else SQLITE_PLATFORMS_CHECK
    op.create_table(
        "social_posts",
        sa.Column("id", sa.Uuid(), server_default=new_uuid(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("platforms", TextArray, nullable=False),
        sa.Column("status", sa.Text(), server_default="draft", nullable=False),
        sa.Column("scheduled_at", UTCDateTime(), nullable=True),
        sa.Column("posted_at", UTCDateTime(), nullable=True),
        sa.Column("timezone", sa.Text(), server_default="UTC", nullable=False),
        sa.Column("media_urls", TextArray, nullable=True),
        sa.Column("campaign", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("approval_required", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("approval_status", sa.Text(), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTCDateTime(), server_default=utc_now(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), server_default=utc_now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="social_posts_pkey"),
        # Posts outlive the people who wrote them: deleting a user only clears the reference.
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name="social_posts_created_by_fkey", ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name="social_posts_owner_id_fkey", ondelete="SET NULL"),
        sa.CheckConstraint(platforms_check, name="ck_social_posts_platforms"),
        sa.CheckConstraint(f"status IN ({_quoted(POST_STATUSES)})", name="ck_social_posts_status"),
        sa.CheckConstraint(
            f"approval_status IS NULL OR approval_status IN ({_quoted(APPROVAL_STATUSES)})",
            name="ck_social_posts_approval_status",
        ),
    )
    # The publisher's queue lookup: scheduled posts whose time has come.
    op.create_index("idx_social_posts_scheduled_at", "social_posts", ["scheduled_at"])


def downgrade() -> None:
    op.drop_index("idx_social_posts_scheduled_at", table_name="social_posts")
    op.drop_table("social_posts")
