"""Google Business Profile — identity only for now; the adapter is being written."""

from __future__ import annotations

from stella.providers.base import PlatformRules, Provider


class GoogleBusinessProvider(Provider):
    name = "google_business"
    display_name = "Google Business Profile"
    icon = "google"
    color = "#4285F4"
    rules = PlatformRules(max_chars=500)
