"""oauth_states and mastodon_apps: server-side OAuth state (single use, session-bound) and per-instance app credentials.

Revision ID: 20261124100000
Revises: 20261124090200
Create Date: 2026-11-24 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from stella.models.types import UTCDateTime, new_uuid, utc_now

# revision identifiers, used by Alembic.
revision = "20261124100000"
down_revision = "20261124090200"
branch_labels = None
depends_on = None

PLATFORMS = (
    "instagram", "facebook", "linkedin", "x", "tiktok", "youtube", "threads", "pinterest", "bluesky", "mastodon",
    "google_business",
)


def upgrade() -> None:
    op.create_table(
        "oauth_states",
        sa.Column("id", sa.Uuid(), server_default=new_uuid(), nullable=False),
        # SHA-256 of the state sent to the platform; the state itself is never stored.
        sa.Column("state_hash", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        # Fernet ciphertext (EncryptedText in the model).
        sa.Column("code_verifier", sa.Text(), nullable=True),
        sa.Column("instance_url", sa.Text(), nullable=True),
        sa.Column("session_nonce_hash", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), server_default=utc_now(), nullable=False),
        sa.Column("consumed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="oauth_states_pkey"),
        sa.UniqueConstraint("state_hash", name="oauth_states_state_hash_key"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="oauth_states_user_id_fkey", ondelete="CASCADE"),
        sa.CheckConstraint(
            f"provider IN ({', '.join(repr(p) for p in PLATFORMS)})", name="ck_oauth_states_provider"
        ),
    )
    op.create_index("ix_oauth_states_created_at", "oauth_states", ["created_at"])

    op.create_table(
        "mastodon_apps",
        sa.Column("id", sa.Uuid(), server_default=new_uuid(), nullable=False),
        sa.Column("instance_url", sa.Text(), nullable=False),
        sa.Column("client_id", sa.Text(), nullable=False),
        # Fernet ciphertext (EncryptedText in the model).
        sa.Column("client_secret", sa.Text(), nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), server_default=utc_now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="mastodon_apps_pkey"),
        sa.UniqueConstraint("instance_url", name="mastodon_apps_instance_url_key"),
    )


def downgrade() -> None:
    op.drop_table("mastodon_apps")
    op.drop_index("ix_oauth_states_created_at", table_name="oauth_states")
    op.drop_table("oauth_states")
