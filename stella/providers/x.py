"""X — identity only for now; the adapter is being written."""

from __future__ import annotations

from stella.providers.base import PlatformRules, Provider


class XProvider(Provider):
    name = "x"
    display_name = "X"
    icon = "twitter-x"
    color = "#000000"
    rules = PlatformRules(max_chars=500)
