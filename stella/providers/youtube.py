"""YouTube — identity only for now; the adapter is being written."""

from __future__ import annotations

from stella.providers.base import PlatformRules, Provider


class YouTubeProvider(Provider):
    name = "youtube"
    display_name = "YouTube"
    icon = "youtube"
    color = "#FF0000"
    rules = PlatformRules(max_chars=500)
