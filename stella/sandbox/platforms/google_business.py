"""Sandbox stand-in for Google Business Profile (being written: only the declaration so far)."""

from __future__ import annotations

from flask import Blueprint

from stella.sandbox.core import SandboxPlatform

bp = Blueprint("sandbox_google_business", __name__)

PLATFORM = SandboxPlatform(name="google_business", display_name="Google Business Profile", blueprint=bp, hosts=(), color="#4285F4")
