"""The approvals queue: posts waiting for an approver. Nothing here writes."""

from __future__ import annotations

import sqlalchemy as sa

from stella.models import SocialPost
from stella.services.post_queries import PostRow, count_posts, post_rows, posts_with_owner


def _awaiting_approval() -> sa.ColumnElement[bool]:
    # A post already sent cannot be approved any more, whatever its approval column says.
    return sa.and_(SocialPost.approval_status == "pending", SocialPost.status != "published")


def count_awaiting_approval() -> int:
    """How many posts wait for an approver (the dashboard figure and the sidebar badge)."""
    return count_posts(_awaiting_approval())


def pending_approvals() -> list[PostRow]:
    """Posts waiting for an approver, the soonest due first (undated ones last, oldest first)."""
    stmt = (
        posts_with_owner()
        .where(_awaiting_approval())
        .order_by(SocialPost.scheduled_at.is_(None), SocialPost.scheduled_at, SocialPost.created_at, SocialPost.id)
    )
    return post_rows(stmt)
