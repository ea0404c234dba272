"""Sandbox stand-in for mastodon (being written)."""
