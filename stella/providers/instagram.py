"""Instagram — identity only for now; the adapter is being written."""

from __future__ import annotations

from stella.providers.base import PlatformRules, Provider


class InstagramProvider(Provider):
    name = "instagram"
    display_name = "Instagram"
    icon = "instagram"
    color = "#E1306C"
    rules = PlatformRules(max_chars=500)
