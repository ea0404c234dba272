"""Sandbox stand-in for instagram (being written)."""
