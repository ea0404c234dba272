"""Composing: per-platform targets, media and their place in posts, post versions and thread parts, personal API
tokens and API idempotency keys.

Revision ID: 20261205100000
Revises: 20261124100000
Create Date: 2026-12-05 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from stella.models.types import JsonDocument, UTCDateTime, new_uuid, utc_now

# revision identifiers, used by Alembic.
revision = "20261205100000"
down_revision = "20261124100000"
branch_labels = None
depends_on = None

PLATFORMS = (
    "instagram", "facebook", "linkedin", "x", "tiktok", "youtube", "threads", "pinterest", "bluesky", "mastodon",
    "google_business",
)


def upgrade() -> None:
    with op.batch_alter_table("social_posts") as batch:
        batch.add_column(sa.Column("thread_parts", JsonDocument, nullable=True))
        batch.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))

    op.create_table(
        "social_post_targets",
        sa.Column("id", sa.Uuid(), server_default=new_uuid(), nullable=False),
        sa.Column("post_id", sa.Uuid(), nullable=False),
        sa.Column("platform", sa.Text(), nullable=False),
        sa.Column("connection_id", sa.Uuid(), nullable=True),
        sa.Column("content", sa.Text(), nullable=True),
        sa.Column("options", JsonDocument, server_default=sa.text("'{}'"), nullable=False),
        sa.Column("created_at", UTCDateTime(), server_default=utc_now(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), server_default=utc_now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="social_post_targets_pkey"),
        sa.ForeignKeyConstraint(["post_id"], ["social_posts.id"], name="social_post_targets_post_id_fkey",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["connection_id"], ["social_connections.id"],
                                name="social_post_targets_connection_id_fkey", ondelete="SET NULL"),
        sa.UniqueConstraint("post_id", "platform", name="uq_social_post_targets_post_platform"),
        sa.CheckConstraint(f"platform IN ({', '.join(repr(p) for p in PLATFORMS)})",
                           name="ck_social_post_targets_platform"),
    )
    op.create_index("ix_social_post_targets_connection_id", "social_post_targets", ["connection_id"])

    op.create_table(
        "media_assets",
        sa.Column("id", sa.Uuid(), server_default=new_uuid(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("mime_type", sa.Text(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("video_codec", sa.Text(), nullable=True),
        sa.Column("audio_codec", sa.Text(), nullable=True),
        sa.Column("frame_rate", sa.Float(), nullable=True),
        sa.Column("original_filename", sa.Text(), nullable=True),
        sa.Column("source_url", sa.Text(), nullable=True),
        sa.Column("public_token", sa.Text(), nullable=False),
        sa.Column("location_removed", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTCDateTime(), server_default=utc_now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="media_assets_pkey"),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name="media_assets_created_by_fkey",
                                ondelete="SET NULL"),
        sa.UniqueConstraint("public_token", name="uq_media_assets_public_token"),
        sa.CheckConstraint("kind IN ('image', 'video')", name="ck_media_assets_kind"),
    )
    op.create_index("ix_media_assets_sha256", "media_assets", ["sha256"])

    op.create_table(
        "social_post_media",
        sa.Column("id", sa.Uuid(), server_default=new_uuid(), nullable=False),
        sa.Column("post_id", sa.Uuid(), nullable=False),
        sa.Column("media_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("alt_text", sa.Text(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id", name="social_post_media_pkey"),
        sa.ForeignKeyConstraint(["post_id"], ["social_posts.id"], name="social_post_media_post_id_fkey",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["media_id"], ["media_assets.id"], name="social_post_media_media_id_fkey",
                                ondelete="RESTRICT"),
        sa.UniqueConstraint("post_id", "position", name="uq_social_post_media_post_position"),
    )

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Uuid(), server_default=new_uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("token_hash", sa.Text(), nullable=False),
        sa.Column("prefix", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), server_default=utc_now(), nullable=False),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="api_tokens_pkey"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="api_tokens_user_id_fkey", ondelete="CASCADE"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])

    op.create_table(
        "api_idempotency_keys",
        sa.Column("id", sa.Uuid(), server_default=new_uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("request_hash", sa.Text(), nullable=False),
        sa.Column("post_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTCDateTime(), server_default=utc_now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="api_idempotency_keys_pkey"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="api_idempotency_keys_user_id_fkey",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["post_id"], ["social_posts.id"], name="api_idempotency_keys_post_id_fkey",
                                ondelete="SET NULL"),
        sa.UniqueConstraint("user_id", "key", name="uq_api_idempotency_keys_user_key"),
    )


def downgrade() -> None:
    op.drop_table("api_idempotency_keys")
    op.drop_index("ix_api_tokens_user_id", table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_table("social_post_media")
    op.drop_index("ix_media_assets_sha256", table_name="media_assets")
    op.drop_table("media_assets")
    op.drop_index("ix_social_post_targets_connection_id", table_name="social_post_targets")
    op.drop_table("social_post_targets")
    with op.batch_alter_table("social_posts") as batch:
        batch.drop_column("version")
        batch.drop_column("thread_parts")
