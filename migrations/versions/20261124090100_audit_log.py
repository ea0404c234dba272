"""audit_log: who did what to which object (seed "Security Considerations: audit logging").

Revision ID: 20261124090100
Revises: 20261124090000
Create Date: 2026-11-24 09:01:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from stella.models.types import JsonDocument, UTCDateTime, new_uuid, utc_now

# revision identifiers, used by Alembic.
revision = "20261124090100"
down_revision = "20261124090000"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Uuid(), server_default=new_uuid(), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("subject_type", sa.Text(), nullable=False),
        sa.Column("subject_id", sa.Text(), nullable=True),
        sa.Column("details", JsonDocument, server_default=sa.text("'{}'"), nullable=False),
        sa.Column("created_at", UTCDateTime(), server_default=utc_now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="audit_log_pkey"),
        # The trail outlives the actor: deleting a user keeps the entries, without the reference.
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name="audit_log_actor_id_fkey", ondelete="SET NULL"),
    )
    op.create_index("ix_audit_log_created_at", "audit_log", ["created_at"])
    op.create_index("ix_audit_log_subject", "audit_log", ["subject_type", "subject_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_subject", table_name="audit_log")
    op.drop_index("ix_audit_log_created_at", table_name="audit_log")
    op.drop_table("audit_log")
