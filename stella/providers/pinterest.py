"""Pinterest — identity only for now; the adapter is being written."""

from __future__ import annotations

from stella.providers.base import PlatformRules, Provider


class PinterestProvider(Provider):
    name = "pinterest"
    display_name = "Pinterest"
    icon = "pinterest"
    color = "#E60023"
    rules = PlatformRules(max_chars=500)
