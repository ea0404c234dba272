"""Sandbox stand-in for x (being written)."""
