"""Sandbox stand-in for tiktok (being written)."""
