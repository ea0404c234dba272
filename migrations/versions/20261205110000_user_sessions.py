"""user_sessions: one row per sign-in, so signing out (or a password change) ends the session on the server.

Revision ID: 20261205110000
Revises: 20261205100000
Create Date: 2026-12-05 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from stella.models.types import UTCDateTime, new_uuid, utc_now

# revision identifiers, used by Alembic.
revision = "20261205110000"
down_revision = "20261205100000"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.Uuid(), server_default=new_uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        # SHA-256 of the random session id in the cookie; the id itself is never stored.
        sa.Column("token_hash", sa.Text(), nullable=False),
        sa.Column("remote_addr", sa.Text(), nullable=False),
        sa.Column("user_agent", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), server_default=utc_now(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), server_default=utc_now(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="user_sessions_pkey"),
        sa.UniqueConstraint("token_hash", name="user_sessions_token_hash_key"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="user_sessions_user_id_fkey", ondelete="CASCADE"),
    )
    # Ending every session of a user (password change, deactivation) looks them up by user.
    op.create_index("ix_user_sessions_user_id", "user_sessions", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_user_sessions_user_id", table_name="user_sessions")
    op.drop_table("user_sessions")
