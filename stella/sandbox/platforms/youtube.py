"""Sandbox stand-in for youtube (being written)."""
