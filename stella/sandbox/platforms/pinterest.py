"""Sandbox stand-in for pinterest (being written)."""
