"""social_analytics: metrics per post and platform (seed migration 20251102120000).

Revision ID: 20251102120000
Revises: 20251019123000
Create Date: 2025-11-02 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from stella.models.types import UTCDateTime, new_uuid, utc_now
from stella.platforms import PLATFORMS

# revision identifiers, used by Alembic.
revision = "20251102120000"
down_revision = "20251019123000"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "social_analytics",
        sa.Column("id", sa.Uuid(), server_default=new_uuid(), nullable=False),
        # NULL for account-level metrics (seed).
        sa.Column("post_id", sa.Uuid(), nullable=True),
        sa.Column("platform", sa.Text(), nullable=False),
        sa.Column("platform_post_id", sa.Text(), nullable=True),
        sa.Column("impressions", sa.Integer(), server_default="0", nullable=False),
        sa.Column("engagement", sa.Integer(), server_default="0", nullable=False),
        sa.Column("shares", sa.Integer(), server_default="0", nullable=False),
        sa.Column("comments", sa.Integer(), server_default="0", nullable=False),
        sa.Column("likes", sa.Integer(), server_default="0", nullable=False),
        sa.Column("fetched_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), server_default=utc_now(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), server_default=utc_now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="social_analytics_pkey"),
        # Deleting a post deletes its metrics (seed: cascading deletes).
        sa.ForeignKeyConstraint(
            ["post_id"], ["social_posts.id"], name="social_analytics_post_id_fkey", ondelete="CASCADE"
        ),
        sa.CheckConstraint(
            f"platform IN ({', '.join(repr(p) for p in PLATFORMS)})", name="ck_social_analytics_platform"
        ),
    )
    op.create_index("idx_social_analytics_post_id", "social_analytics", ["post_id"])
    op.create_index("idx_social_analytics_platform", "social_analytics", ["platform"])


def downgrade() -> None:
    op.drop_index("idx_social_analytics_platform", table_name="social_analytics")
    op.drop_index("idx_social_analytics_post_id", table_name="social_analytics")
    op.drop_table("social_analytics")
