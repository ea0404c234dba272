"""login_attempts: recent sign-in attempts, to throttle guessing per account and per address.

Revision ID: 20261124090200
Revises: 20261124090100
Create Date: 2026-11-24 09:02:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from stella.models.types import UTCDateTime, new_uuid, utc_now

# revision identifiers, used by Alembic.
revision = "20261124090200"
down_revision = "20261124090100"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Uuid(), server_default=new_uuid(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("remote_addr", sa.Text(), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), server_default=utc_now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="login_attempts_pkey"),
    )
    # The throttle counts recent failures "for this email since T" and "from this address since T".
    op.create_index("ix_login_attempts_email_created_at", "login_attempts", ["email", "created_at"])
    op.create_index("ix_login_attempts_remote_addr_created_at", "login_attempts", ["remote_addr", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_login_attempts_remote_addr_created_at", table_name="login_attempts")
    op.drop_index("ix_login_attempts_email_created_at", table_name="login_attempts")
    op.drop_table("login_attempts")
