"""Mastodon — identity only for now; the adapter is being written."""

from __future__ import annotations

from stella.providers.base import PlatformRules, Provider


class MastodonProvider(Provider):
    name = "mastodon"
    display_name = "Mastodon"
    icon = "mastodon"
    color = "#6364FF"
    rules = PlatformRules(max_chars=500)
