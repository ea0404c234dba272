"""Sandbox stand-in for google_business (being written)."""
