from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, render_template, request
from flask_login import current_user

from stella.permissions import Ability, requires
from stella.services.calendar import calendar_month
from stella.timezones import viewer_zone

bp = Blueprint("calendar", __name__, url_prefix="/calendar")


def parse_month(raw: str | None, fallback: datetime) -> tuple[int, int, str | None]:
    """`YYYY-MM` from the query string; anything else shows the viewer's current month with a note."""
    if not raw:
        return fallback.year, fallback.month, None
    try:
        parsed = datetime.strptime(raw.strip(), "%Y-%m")
    except ValueError:
        return fallback.year, fallback.month, f"“{raw}” is not a month like 2026-11, so this month is shown."
    if not 1900 <= parsed.year <= 2999:
        return fallback.year, fallback.month, f"“{raw}” is out of range, so this month is shown."
    return parsed.year, parsed.month, None


@bp.get("/")
@requires(Ability.VIEW)
def index() -> str:
    now = datetime.now(UTC)
    zone = viewer_zone(current_user.timezone)
    year, month, problem = parse_month(request.args.get("month"), now.astimezone(zone))
    return render_template(
        "calendar/index.html", cal=calendar_month(year, month, zone, now), problem=problem, zone=zone
    )
