"""A built-in stand-in for the 11 platforms: first-run demos, end-to-end tests, fault injection, benchmarks.

A separate Flask app with its own SQLite state; see `stella.sandbox.core`.
"""
