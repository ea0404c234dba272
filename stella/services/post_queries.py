"""Query pieces the post-listing services share: a post with its owner's label, and a counted select.

Rows may have been inserted by other programs with plain SQL, so optional columns are treated as optional.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from stella.extensions import db
from stella.models import SocialPost, User


@dataclass(frozen=True)
class PostRow:
    """A post plus its owner's label: what every list on these pages shows."""

    post: SocialPost
    owner_label: str | None

    @property
    def when(self) -> datetime | None:
        """The time that matters: when it went out if published, otherwise when it is due."""
        if self.post.status == "published" and self.post.posted_at is not None:
            return self.post.posted_at
        return self.post.scheduled_at


_Owner = aliased(User)


def post_rows(stmt: sa.Select[tuple[SocialPost, str | None, str | None]]) -> list[PostRow]:
    """Run a `posts_with_owner()` select into rows."""
    return [
        PostRow(post=post, owner_label=(display_name or email or None))
        for post, display_name, email in db.session.execute(stmt).all()
    ]


def posts_with_owner() -> sa.Select[tuple[SocialPost, str | None, str | None]]:
    """Posts with their owner's display name and email (both NULL for a post without an owner)."""
    stmt = sa.select(SocialPost, _Owner.display_name, _Owner.email).outerjoin(_Owner, _Owner.id == SocialPost.owner_id)
    # The outer join makes the owner's columns NULL for a post without one; SQLAlchemy types them as the columns.
    return cast(sa.Select[tuple[SocialPost, str | None, str | None]], stmt)


def count(stmt: sa.Select[tuple[int]]) -> int:
    """A `select(func.count())` as an int (0 for no rows)."""
    return int(db.session.scalar(stmt) or 0)


def count_posts(*conditions: sa.ColumnElement[bool]) -> int:
    """How many posts meet every condition."""
    return count(sa.select(sa.func.count()).select_from(SocialPost).where(*conditions))
