"""The calendar page: a month of posts laid out on the viewer's local days. Nothing here writes."""

from __future__ import annotations

from calendar import MONDAY, Calendar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from stella.models import SocialPost
from stella.services.post_queries import PostRow, post_rows, posts_with_owner

# Statuses that carry a time worth putting on a calendar.
CALENDAR_STATUSES: tuple[str, ...] = ("scheduled", "queued", "published", "failed")


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
    grid = Calendar(firstweekday=MONDAY).monthdatescalendar(year, month)
    start = datetime.combine(grid[0][0], time.min, tzinfo=zone).astimezone(UTC)
    end = datetime.combine(grid[-1][-1] + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)
    # Published posts sit on the day they went out; the rest on the day they are due.
    when = sa.case(
        (sa.and_(SocialPost.status == "published", SocialPost.posted_at.is_not(None)), SocialPost.posted_at),
        else_=SocialPost.scheduled_at,
    )
    stmt = (
        posts_with_owner()
        .where(SocialPost.status.in_(CALENDAR_STATUSES), when >= start, when < end)
        .order_by(when, SocialPost.id)
    )
    today = now.astimezone(zone).date()
    days = {d: CalendarDay(day=d, in_month=d.month == month, is_today=d == today) for week in grid for d in week}
    total = 0
    for row in post_rows(stmt):
        moment = row.when
        if moment is None:
            continue
        cell = days.get(moment.astimezone(zone).date())
        if cell is not None:
            cell.posts.append(row)
            total += cell.in_month
    return CalendarMonth(year=year, month=month, weeks=[[days[d] for d in week] for week in grid], total=total)
