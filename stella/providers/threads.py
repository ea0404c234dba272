"""Threads — identity only for now; the adapter is being written."""

from __future__ import annotations

from stella.providers.base import PlatformRules, Provider


class ThreadsProvider(Provider):
    name = "threads"
    display_name = "Threads"
    icon = "threads"
    color = "#101010"
    rules = PlatformRules(max_chars=500)
