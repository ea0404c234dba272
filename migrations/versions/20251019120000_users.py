"""users: the people who sign in (the seed's Supabase auth.users, kept here since Stella is self-hosted).

Revision ID: 20251019120000
Revises:
Create Date: 2025-10-19 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from stella.models.types import UTCDateTime, new_uuid, utc_now

# revision identifiers, used by Alembic.
revision = "20251019120000"
down_revision = None
branch_labels = None
depends_on = None

ROLES = ("staff", "marketing", "approver", "admin")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), server_default=new_uuid(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("display_name", sa.Text(), server_default="", nullable=False),
        sa.Column("role", sa.Text(), server_default="staff", nullable=False),
        sa.Column("timezone", sa.Text(), server_default="UTC", nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", UTCDateTime(), server_default=utc_now(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), server_default=utc_now(), nullable=False),
        sa.Column("last_login_at", UTCDateTime(), nullable=True),
        # Bumped on password change or deactivation so existing sessions stop working.
        sa.Column("session_version", sa.Integer(), server_default="1", nullable=False),
        sa.PrimaryKeyConstraint("id", name="users_pkey"),
        sa.CheckConstraint(f"role IN ({', '.join(repr(r) for r in ROLES)})", name="ck_users_role"),
    )
    # Unique whatever the case, so "Ann@x.com" cannot sign up beside "ann@x.com".
    op.create_index("uq_users_email_lower", "users", [sa.text("lower(email)")], unique=True)


def downgrade() -> None:
    op.drop_index("uq_users_email_lower", table_name="users")
    op.drop_table("users")
