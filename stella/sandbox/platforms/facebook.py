"""Sandbox stand-in for Facebook (being written: only the declaration so far)."""

from __future__ import annotations

from flask import Blueprint

from stella.sandbox.core import SandboxPlatform

bp = Blueprint("sandbox_facebook", __name__)

PLATFORM = SandboxPlatform(name="facebook", display_name="Facebook", blueprint=bp, hosts=(), color="#1877F2")
