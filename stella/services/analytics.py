"""The analytics page: metric totals per platform from social_analytics. Nothing here writes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from stella.extensions import db
from stella.models import SocialAnalytics
from stella.platforms import PLATFORMS


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
