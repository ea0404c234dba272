"""social_connections: API usage bookkeeping (seed "Future Enhancements: 1. Rate Limiting").

Revision ID: 20261124090000
Revises: 20251102120100
Create Date: 2026-11-24 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from stella.models.types import UTCDateTime

# revision identifiers, used by Alembic.
revision = "20261124090000"
down_revision = "20251102120100"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NOT NULL with a server default, so existing connections get 0 / 'free' on both engines.
    op.add_column("social_connections", sa.Column("api_calls_used", sa.Integer(), server_default="0", nullable=False))
    op.add_column("social_connections", sa.Column("api_calls_reset_at", UTCDateTime(), nullable=True))
    op.add_column("social_connections", sa.Column("rate_limit_tier", sa.Text(), server_default="free", nullable=False))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite >= 3.35 has it): these columns carry no index or constraint, and a batch
    # rebuild of social_connections would be needless churn on the table the tokens hang from.
    op.drop_column("social_connections", "rate_limit_tier")
    op.drop_column("social_connections", "api_calls_reset_at")
    op.drop_column("social_connections", "api_calls_used")
