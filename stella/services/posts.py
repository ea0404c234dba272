"""The posts list: filters, one page of posts, and the count per status. Nothing here writes."""

from __future__ import annotations

import math
from dataclasses import dataclass

import sqlalchemy as sa

from stella.extensions import db
from stella.models import SocialPost
from stella.models.post import POST_STATUSES
from stella.platforms import PLATFORMS
from stella.services.post_queries import PostRow, count_posts, post_rows, posts_with_owner

PER_PAGE = 20


@dataclass(frozen=True)
class PostFilters:
    status: str | None = None
    platform: str | None = None
    # Values we were given but could not use: shown to the user, never silently dropped.
    rejected: tuple[str, ...] = ()

    @classmethod
    def parse(cls, status: str | None, platform: str | None) -> PostFilters:
        rejected: list[str] = []
        status = (status or "").strip().lower() or None
        platform = (platform or "").strip().lower() or None
        if status is not None and status not in POST_STATUSES:
            rejected.append(f"“{status}” is not a post status, so all statuses are shown.")
            status = None
        if platform is not None and platform not in PLATFORMS:
            rejected.append(f"“{platform}” is not a platform Stella supports, so all platforms are shown.")
            platform = None
        return cls(status=status, platform=platform, rejected=tuple(rejected))

    @property
    def active(self) -> bool:
        return self.status is not None or self.platform is not None


@dataclass(frozen=True)
class PostPage:
    rows: list[PostRow]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first_index(self) -> int:
        return 0 if self.total == 0 else (self.page - 1) * self.per_page + 1

    @property
    def last_index(self) -> int:
        return min(self.total, self.page * self.per_page)


def _has_platform(platform: str) -> sa.ColumnElement[bool]:
    """`platforms` contains `platform`, on either engine (TEXT[] on PostgreSQL, a JSON array on SQLite)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return SocialPost.platforms.op("@>")(sa.cast([platform], SocialPost.platforms.type))
    # On SQLite the array is JSON text; ask json_each so spacing or escaping in hand-written rows cannot fool us.
    items = sa.func.json_each(SocialPost.platforms).table_valued("value")
    return sa.exists(sa.select(1).select_from(items).where(items.c.value == platform))


def list_posts(filters: PostFilters, *, page: int = 1, per_page: int = PER_PAGE) -> PostPage:
    """One page of posts, newest activity first; a page past the end shows the last page."""
    conditions: list[sa.ColumnElement[bool]] = []
    if filters.status:
        conditions.append(SocialPost.status == filters.status)
    if filters.platform:
        conditions.append(_has_platform(filters.platform))
    total = count_posts(*conditions)
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    # Posts with a time sort by it; undated drafts come after, most recently edited first.
    when = sa.func.coalesce(SocialPost.scheduled_at, SocialPost.posted_at)
    stmt = (
        posts_with_owner()
        .where(*conditions)
        .order_by(when.is_(None), when.desc(), SocialPost.updated_at.desc(), SocialPost.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return PostPage(rows=post_rows(stmt), page=page, per_page=per_page, total=total)


def status_counts() -> dict[str, int]:
    """How many posts are in each status (every status present, zero when none)."""
    counts = dict.fromkeys(POST_STATUSES, 0)
    for status, count in db.session.execute(
        sa.select(SocialPost.status, sa.func.count()).group_by(SocialPost.status)
    ).all():
        counts[status] = int(count)
    return counts
