"""TikTok — identity only for now; the adapter is being written."""

from __future__ import annotations

from stella.providers.base import PlatformRules, Provider


class TikTokProvider(Provider):
    name = "tiktok"
    display_name = "TikTok"
    icon = "tiktok"
    color = "#010101"
    rules = PlatformRules(max_chars=500)
