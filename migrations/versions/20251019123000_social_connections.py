"""social_connections: one row per user and platform (seed migration 20251019123000).

The rate-limit columns came later (20261124090000), as in the seed's "Future Enhancements".

Revision ID: 20251019123000
Revises: 20251019121500
Create Date: 2025-10-19 12:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from stella.models.types import JsonDocument, UTCDateTime, new_uuid, utc_now
from stella.platforms import PLATFORMS

# revision identifiers, used by Alembic.
revision = "20251019123000"
down_revision = "20251019121500"
branch_labels = None
depends_on = None

CONNECTION_STATUSES = ("connected", "pending", "error")


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(repr(v) for v in values)


def upgrade() -> None:
    op.create_table(
        "social_connections",
        sa.Column("id", sa.Uuid(), server_default=new_uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column("connected_at", UTCDateTime(), nullable=True),
        sa.Column("auth_metadata", JsonDocument, server_default=sa.text("'{}'"), nullable=False),
        sa.Column("updated_at", UTCDateTime(), server_default=utc_now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="social_connections_pkey"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="social_connections_user_id_fkey", ondelete="CASCADE"),
        # One connection per platform per user (seed constraint).
        sa.UniqueConstraint("user_id", "provider", name="social_connections_user_id_provider_key"),
        sa.CheckConstraint(f"provider IN ({_quoted(PLATFORMS)})", name="ck_social_connections_provider"),
        sa.CheckConstraint(f"status IN ({_quoted(CONNECTION_STATUSES)})", name="ck_social_connections_status"),
    )


def downgrade() -> None:
    op.drop_table("social_connections")
