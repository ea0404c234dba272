"""Bluesky — identity only for now; the adapter is being written."""

from __future__ import annotations

from stella.providers.base import PlatformRules, Provider


class BlueskyProvider(Provider):
    name = "bluesky"
    display_name = "Bluesky"
    icon = "bluesky"
    color = "#1185FE"
    rules = PlatformRules(max_chars=500)
