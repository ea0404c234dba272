"""Sandbox stand-in for Instagram (being written: only the declaration so far)."""

from __future__ import annotations

from flask import Blueprint

from stella.sandbox.core import SandboxPlatform

bp = Blueprint("sandbox_instagram", __name__)

PLATFORM = SandboxPlatform(name="instagram", display_name="Instagram", blueprint=bp, hosts=(), color="#E1306C")
