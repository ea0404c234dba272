"""Read queries behind the dashboard, posts list, calendar, approvals queue and analytics pages.

Nothing here writes. Every function that depends on the clock takes `now` (aware UTC) so tests never sleep;
every function that groups by day takes the viewer's zone, because "this week" and "the 3rd" are local ideas.
Rows may have been inserted by other programs with plain SQL, so optional columns are treated as optional.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from stella.extensions import db
from stella.models import SocialAnalytics, SocialConnection, SocialPost, User
from stella.models.post import POST_STATUSES
from stella.platforms import PLATFORMS

UTC = UTC
PER_PAGE = 20
# Statuses that carry a time worth putting on a calendar.
CALENDAR_STATUSES: tuple[str, ...] = ("scheduled", "queued", "published", "failed")
UPCOMING_STATUSES: tuple[str, ...] = ("scheduled", "queued")


def viewer_zone(name: str | None) -> ZoneInfo:
    """The viewer's zone; an unknown or empty name falls back to UTC rather than breaking the page."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


# -- shared row shape ---------------------------------------------------------------------------------


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


def _post_rows(stmt: sa.Select[tuple[SocialPost, str | None, str | None]]) -> list[PostRow]:
    return [
        PostRow(post=post, owner_label=(display_name or email or None))
        for post, display_name, email in db.session.execute(stmt).all()
    ]


def _posts_with_owner() -> sa.Select[tuple[SocialPost, str | None, str | None]]:
    stmt = sa.select(SocialPost, _Owner.display_name, _Owner.email).outerjoin(_Owner, _Owner.id == SocialPost.owner_id)
    # The outer join makes the owner's columns NULL for a post without one; SQLAlchemy types them as the columns.
    return cast(sa.Select[tuple[SocialPost, str | None, str | None]], stmt)


def _has_platform(platform: str) -> sa.ColumnElement[bool]:
    """`platforms` contains `platform`, on either engine (TEXT[] on PostgreSQL, a JSON array on SQLite)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return SocialPost.platforms.op("@>")(sa.cast([platform], SocialPost.platforms.type))
    # On SQLite the array is JSON text; ask json_each so spacing or escaping in hand-written rows cannot fool us.
    items = sa.func.json_each(SocialPost.platforms).table_valued("value")
    return sa.exists(sa.select(1).select_from(items).where(items.c.value == platform))


# -- dashboard ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DashboardSummary:
    scheduled_this_week: int
    awaiting_approval: int
    published_last_30_days: int
    failed: int
    connected_accounts: int
    total_posts: int
    week_start: date
    upcoming: list[PostRow]


def week_bounds(now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Monday 00:00 to next Monday 00:00 of the viewer's current week, as UTC instants."""
    local_today = now.astimezone(zone).date()
    monday = local_today - timedelta(days=local_today.weekday())
    start = datetime.combine(monday, time.min, tzinfo=zone)
    end = datetime.combine(monday + timedelta(days=7), time.min, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def _count(stmt: sa.Select[tuple[int]]) -> int:
    return int(db.session.scalar(stmt) or 0)


def dashboard_summary(now: datetime, zone: ZoneInfo, *, upcoming_limit: int = 6) -> DashboardSummary:
    """The KPI figures and the next posts due, for the team as a whole."""
    week_start, week_end = week_bounds(now, zone)
    posts = sa.select(sa.func.count()).select_from(SocialPost)
    return DashboardSummary(
        scheduled_this_week=_count(
            posts.where(
                SocialPost.status.in_(UPCOMING_STATUSES),
                SocialPost.scheduled_at >= week_start,
                SocialPost.scheduled_at < week_end,
            )
        ),
        awaiting_approval=count_awaiting_approval(),
        published_last_30_days=_count(
            posts.where(SocialPost.status == "published", SocialPost.posted_at >= now - timedelta(days=30))
        ),
        failed=_count(posts.where(SocialPost.status == "failed")),
        connected_accounts=_count(
            sa.select(sa.func.count()).select_from(SocialConnection).where(SocialConnection.status == "connected")
        ),
        total_posts=_count(posts),
        week_start=week_start.astimezone(zone).date(),
        upcoming=upcoming_posts(now, limit=upcoming_limit),
    )


def upcoming_posts(now: datetime, *, limit: int = 6) -> list[PostRow]:
    """Scheduled or queued posts due from `now` on, soonest first."""
    stmt = (
        _posts_with_owner()
        .where(SocialPost.status.in_(UPCOMING_STATUSES), SocialPost.scheduled_at >= now)
        .order_by(SocialPost.scheduled_at, SocialPost.id)
        .limit(limit)
    )
    return _post_rows(stmt)


# -- posts list ---------------------------------------------------------------------------------------


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


def list_posts(filters: PostFilters, *, page: int = 1, per_page: int = PER_PAGE) -> PostPage:
    """One page of posts, newest activity first; a page past the end shows the last page."""
    conditions: list[sa.ColumnElement[bool]] = []
    if filters.status:
        conditions.append(SocialPost.status == filters.status)
    if filters.platform:
        conditions.append(_has_platform(filters.platform))
    total = _count(sa.select(sa.func.count()).select_from(SocialPost).where(*conditions))
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    # Posts with a time sort by it; undated drafts come after, most recently edited first.
    when = sa.func.coalesce(SocialPost.scheduled_at, SocialPost.posted_at)
    stmt = (
        _posts_with_owner()
        .where(*conditions)
        .order_by(when.is_(None), when.desc(), SocialPost.updated_at.desc(), SocialPost.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return PostPage(rows=_post_rows(stmt), page=page, per_page=per_page, total=total)


def status_counts() -> dict[str, int]:
    """How many posts are in each status (every status present, zero when none)."""
    counts = dict.fromkeys(POST_STATUSES, 0)
    for status, count in db.session.execute(
        sa.select(SocialPost.status, sa.func.count()).group_by(SocialPost.status)
    ).all():
        counts[status] = int(count)
    return counts


# -- calendar -----------------------------------------------------------------------------------------


@dataclass
class CalendarDay:
    day: date
    in_month: bool
    is_today: bool
    posts: list[PostRow] = field(default_factory=list)


@dataclass(frozen=True)
class CalendarMonth:
    year: int
    month: int
    weeks: list[list[CalendarDay]]
    total: int

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def prev(self) -> date:
        return (self.first - timedelta(days=1)).replace(day=1)

    @property
    def next(self) -> date:
        return (self.first + timedelta(days=32)).replace(day=1)


def calendar_month(year: int, month: int, zone: ZoneInfo, now: datetime) -> CalendarMonth:
    """A Monday-first month grid in the viewer's zone, each day holding the posts due or sent that local day."""
    grid = calendar.Calendar(firstweekday=calendar.MONDAY).monthdatescalendar(year, month)
    start = datetime.combine(grid[0][0], time.min, tzinfo=zone).astimezone(UTC)
    end = datetime.combine(grid[-1][-1] + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)
    # Published posts sit on the day they went out; the rest on the day they are due.
    when = sa.case(
        (sa.and_(SocialPost.status == "published", SocialPost.posted_at.is_not(None)), SocialPost.posted_at),
        else_=SocialPost.scheduled_at,
    )
    stmt = (
        _posts_with_owner()
        .where(SocialPost.status.in_(CALENDAR_STATUSES), when >= start, when < end)
        .order_by(when, SocialPost.id)
    )
    today = now.astimezone(zone).date()
    days = {d: CalendarDay(day=d, in_month=d.month == month, is_today=d == today) for week in grid for d in week}
    total = 0
    for row in _post_rows(stmt):
        moment = row.when
        if moment is None:
            continue
        cell = days.get(moment.astimezone(zone).date())
        if cell is not None:
            cell.posts.append(row)
            total += cell.in_month
    return CalendarMonth(year=year, month=month, weeks=[[days[d] for d in week] for week in grid], total=total)


# -- approvals ----------------------------------------------------------------------------------------


def _awaiting_approval() -> sa.ColumnElement[bool]:
    # A post already sent cannot be approved any more, whatever its approval column says.
    return sa.and_(SocialPost.approval_status == "pending", SocialPost.status != "published")


def count_awaiting_approval() -> int:
    return _count(sa.select(sa.func.count()).select_from(SocialPost).where(_awaiting_approval()))


def pending_approvals() -> list[PostRow]:
    """Posts waiting for an approver, the soonest due first (undated ones last, oldest first)."""
    stmt = (
        _posts_with_owner()
        .where(_awaiting_approval())
        .order_by(SocialPost.scheduled_at.is_(None), SocialPost.scheduled_at, SocialPost.created_at, SocialPost.id)
    )
    return _post_rows(stmt)


# -- analytics ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlatformTotals:
    platform: str
    posts: int
    impressions: int
    engagement: int
    likes: int
    comments: int
    shares: int
    last_fetched_at: datetime | None

    @property
    def engagement_rate(self) -> float | None:
        """Engagement per impression, or None when nothing was seen (no meaningful rate)."""
        return self.engagement / self.impressions if self.impressions else None


@dataclass(frozen=True)
class AnalyticsOverview:
    by_platform: list[PlatformTotals]
    totals: PlatformTotals

    @property
    def empty(self) -> bool:
        return not self.by_platform


def analytics_overview() -> AnalyticsOverview:
    """Metric totals per platform from social_analytics, biggest reach first, plus a grand total."""
    a = SocialAnalytics
    sums = (
        sa.func.count(sa.distinct(a.post_id)),
        sa.func.coalesce(sa.func.sum(a.impressions), 0),
        sa.func.coalesce(sa.func.sum(a.engagement), 0),
        sa.func.coalesce(sa.func.sum(a.likes), 0),
        sa.func.coalesce(sa.func.sum(a.comments), 0),
        sa.func.coalesce(sa.func.sum(a.shares), 0),
        sa.func.max(a.fetched_at),
    )
    rows = db.session.execute(sa.select(a.platform, *sums).group_by(a.platform)).all()
    by_platform = sorted(
        (_totals(row[0], row[1:]) for row in rows), key=lambda t: (-t.impressions, PLATFORMS.index(t.platform))
    )
    grand = db.session.execute(sa.select(*sums)).one()
    return AnalyticsOverview(by_platform=by_platform, totals=_totals("all", grand))


def _totals(platform: str, values: Sequence[Any]) -> PlatformTotals:
    posts, impressions, engagement, likes, comments, shares, fetched = values
    return PlatformTotals(
        platform=platform,
        posts=int(posts or 0),
        impressions=int(impressions or 0),
        engagement=int(engagement or 0),
        likes=int(likes or 0),
        comments=int(comments or 0),
        shares=int(shares or 0),
        last_fetched_at=fetched,  # max() keeps the column's UTCDateTime type, so this is aware UTC
    )

