"""Sandbox stand-in for facebook (being written)."""
