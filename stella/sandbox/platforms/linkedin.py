"""Sandbox stand-in for linkedin (being written)."""
