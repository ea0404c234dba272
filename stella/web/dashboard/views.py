from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, render_template
from flask_login import current_user

from stella.permissions import Ability, requires
from stella.services.dashboard import dashboard_summary
from stella.timezones import viewer_zone
from stella.web.dashboard.ui import register_ui

bp = Blueprint("dashboard", __name__)
register_ui(bp)


def greeting(hour: int) -> str:
    if hour < 12:
        return "Good morning"
    if hour < 18:
        return "Good afternoon"
    return "Good evening"


@bp.get("/")
@requires(Ability.VIEW)
def home() -> str:
    now = datetime.now(UTC)
    zone = viewer_zone(current_user.timezone)
    summary = dashboard_summary(now, zone)
    return render_template(
        "dashboard/home.html",
        summary=summary,
        greeting=greeting(now.astimezone(zone).hour),
        today=now.astimezone(zone),
    )
