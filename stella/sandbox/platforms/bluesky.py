"""Sandbox stand-in for bluesky (being written)."""
