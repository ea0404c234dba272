"""Template helpers every page uses: platform chips, local times, and links to sections that may not exist yet.

Registered app-wide from the dashboard blueprint (`register_ui`). Nothing here touches the database or
`current_user` until a template actually calls it, so the 500 page can render when both are broken.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, url_for
from flask_login import current_user

from stella.platforms import PLATFORMS
from stella.providers import PROVIDERS_BY_NAME
from stella.services.approvals import count_awaiting_approval
from stella.timezones import viewer_zone


@dataclass(frozen=True)
class PlatformMeta:
    name: str
    display_name: str
    icon: str
    color: str


def platform_meta(name: str) -> PlatformMeta:
    """Display name, bootstrap-icons name and brand colour for a stored platform id (a neutral chip if unknown)."""
    provider = PROVIDERS_BY_NAME.get(name)
    if provider is None:
        return PlatformMeta(name=name, display_name=name.replace("_", " ").title(), icon="globe2", color="#6c757d")
    return PlatformMeta(name=name, display_name=provider.display_name, icon=provider.icon, color=provider.color)


def current_zone() -> ZoneInfo:
    """The signed-in viewer's zone (UTC for anonymous pages)."""
    user_zone = getattr(current_user, "timezone", None) if current_user else None
    return viewer_zone(user_zone)


def format_local(value: datetime | None, style: str = "datetime") -> str:
    """An aware datetime shown in the viewer's zone. Styles: datetime, date, time, day, weekday."""
    if value is None:
        return ""
    local = value.astimezone(current_zone())
    clock = f"{local.hour % 12 or 12}:{local:%M} {'AM' if local.hour < 12 else 'PM'}"
    if style == "time":
        return clock
    if style == "date":
        return f"{local:%b} {local.day}, {local.year}"
    if style == "day":
        return f"{local:%a}, {local:%b} {local.day}"
    if style == "weekday":
        return f"{local:%a} {local.day} {local:%b} · {clock}"
    return f"{local:%b} {local.day}, {local.year} · {clock}"


def endpoint_url(*endpoints: str, **values: Any) -> str | None:
    """URL of the first registered endpoint among `endpoints`, or None: sections built by others appear when ready."""
    for endpoint in endpoints:
        if endpoint in current_app.view_functions:
            return url_for(endpoint, **values)
    return None


def section_url(blueprint: str) -> str | None:
    """The landing page of a blueprint: its `index` endpoint, else its shortest argument-free GET route."""
    found = endpoint_url(f"{blueprint}.index")
    if found:
        return found
    candidates = [
        rule
        for rule in current_app.url_map.iter_rules()
        if rule.endpoint.startswith(f"{blueprint}.") and not rule.arguments and "GET" in (rule.methods or ())
    ]
    if not candidates:
        return None
    return url_for(min(candidates, key=lambda rule: len(rule.rule)).endpoint)


def approvals_waiting() -> int:
    """How many posts wait for approval: the count on the sidebar's Approvals link."""
    return count_awaiting_approval()


def register_ui(bp: Blueprint) -> None:
    @bp.app_context_processor
    def ui_helpers() -> dict[str, Any]:
        return {
            "platform_meta": platform_meta,
            "ALL_PLATFORMS": PLATFORMS,
            "endpoint_url": endpoint_url,
            "section_url": section_url,
            "current_zone": current_zone,
            "approvals_waiting": approvals_waiting,
        }

    bp.add_app_template_filter(format_local, "localtime")
