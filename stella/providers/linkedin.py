"""LinkedIn — identity only for now; the adapter is being written."""

from __future__ import annotations

from stella.providers.base import PlatformRules, Provider


class LinkedInProvider(Provider):
    name = "linkedin"
    display_name = "LinkedIn"
    icon = "linkedin"
    color = "#0A66C2"
    rules = PlatformRules(max_chars=500)
