"""The dashboard's figures and its "next up" list. Nothing here writes.

Functions that depend on the clock take `now` (aware UTC) so tests never sleep; "this week" is the viewer's local
week, so they take the viewer's zone too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from stella.models import SocialConnection, SocialPost
from stella.services.approvals import count_awaiting_approval
from stella.services.post_queries import PostRow, count, count_posts, post_rows, posts_with_owner

# Statuses of posts still waiting to go out.
UPCOMING_STATUSES: tuple[str, ...] = ("scheduled", "queued")


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


def dashboard_summary(now: datetime, zone: ZoneInfo, *, upcoming_limit: int = 6) -> DashboardSummary:
    """The KPI figures and the next posts due, for the team as a whole."""
    week_start, week_end = week_bounds(now, zone)
    return DashboardSummary(
        scheduled_this_week=count_posts(
            SocialPost.status.in_(UPCOMING_STATUSES),
            SocialPost.scheduled_at >= week_start,
            SocialPost.scheduled_at < week_end,
        ),
        awaiting_approval=count_awaiting_approval(),
        published_last_30_days=count_posts(
            SocialPost.status == "published", SocialPost.posted_at >= now - timedelta(days=30)
        ),
        failed=count_posts(SocialPost.status == "failed"),
        connected_accounts=count(
            sa.select(sa.func.count()).select_from(SocialConnection).where(SocialConnection.status == "connected")
        ),
        total_posts=count_posts(),
        week_start=week_start.astimezone(zone).date(),
        upcoming=upcoming_posts(now, limit=upcoming_limit),
    )


def upcoming_posts(now: datetime, *, limit: int = 6) -> list[PostRow]:
    """Scheduled or queued posts due from `now` on, soonest first."""
    stmt = (
        posts_with_owner()
        .where(SocialPost.status.in_(UPCOMING_STATUSES), SocialPost.scheduled_at >= now)
        .order_by(SocialPost.scheduled_at, SocialPost.id)
        .limit(limit)
    )
    return post_rows(stmt)
