"""Sandbox stand-in for Mastodon (being written: only the declaration so far)."""

from __future__ import annotations

from flask import Blueprint

from stella.sandbox.core import SandboxPlatform

bp = Blueprint("sandbox_mastodon", __name__)

PLATFORM = SandboxPlatform(name="mastodon", display_name="Mastodon", blueprint=bp, hosts=(), color="#6364FF")
