"""Facebook — identity only for now; the adapter is being written."""

from __future__ import annotations

from stella.providers.base import PlatformRules, Provider


class FacebookProvider(Provider):
    name = "facebook"
    display_name = "Facebook"
    icon = "facebook"
    color = "#1877F2"
    rules = PlatformRules(max_chars=500)
