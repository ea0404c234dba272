"""Sandbox stand-in for threads (being written)."""
