"""The viewer's time zone, resolved once for every page that shows local times."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC_ZONE = ZoneInfo("UTC")


def viewer_zone(name: str | None) -> ZoneInfo:
    """The viewer's zone; an unknown or empty name falls back to UTC rather than breaking the page."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return UTC_ZONE
