"""social_account_tokens: OAuth tokens and profile of a connected account (seed migration 20251102120100).

access_token / refresh_token hold Fernet ciphertext (stella.models.types.EncryptedText), never plaintext.

Revision ID: 20251102120100
Revises: 20251102120000
Create Date: 2025-11-02 12:01:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from stella.models.types import UTCDateTime, new_uuid, utc_now

# revision identifiers, used by Alembic.
revision = "20251102120100"
down_revision = "20251102120000"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "social_account_tokens",
        sa.Column("id", sa.Uuid(), server_default=new_uuid(), nullable=False),
        sa.Column("connection_id", sa.Uuid(), nullable=False),
        sa.Column("access_token", sa.Text(), nullable=True),
        sa.Column("refresh_token", sa.Text(), nullable=True),
        sa.Column("token_expires_at", UTCDateTime(), nullable=True),
        sa.Column("account_handle", sa.Text(), nullable=True),
        sa.Column("display_name", sa.Text(), nullable=True),
        sa.Column("profile_image_url", sa.Text(), nullable=True),
        sa.Column("platform_account_id", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), server_default=utc_now(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), server_default=utc_now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="social_account_tokens_pkey"),
        # Disconnecting (deleting the connection) deletes its tokens (seed: cascading deletes).
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["social_connections.id"],
            name="social_account_tokens_connection_id_fkey",
            ondelete="CASCADE",
        ),
        # One token set per connection; a refresh replaces it in place.
        sa.UniqueConstraint("connection_id", name="social_account_tokens_connection_id_key"),
    )


def downgrade() -> None:
    op.drop_table("social_account_tokens")
