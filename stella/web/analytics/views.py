from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from stella.permissions import Ability, requires
from stella.services.analytics import AnalyticsOverview, analytics_overview
from stella.web.dashboard.ui import platform_meta

bp = Blueprint("analytics", __name__, url_prefix="/analytics")


def chart_data(overview: AnalyticsOverview) -> dict[str, Any]:
    """What static/js/analytics.js draws: one bar per platform in its brand colour."""
    metas = [platform_meta(row.platform) for row in overview.by_platform]
    return {
        "labels": [meta.display_name for meta in metas],
        "colors": [meta.color for meta in metas],
        "impressions": [row.impressions for row in overview.by_platform],
        "engagement": [row.engagement for row in overview.by_platform],
    }


@bp.get("/")
@requires(Ability.VIEW)
def index() -> str:
    overview = analytics_overview()
    return render_template("analytics/index.html", overview=overview, chart=chart_data(overview))
