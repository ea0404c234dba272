"""Sandbox stand-in for LinkedIn (being written: only the declaration so far)."""

from __future__ import annotations

from flask import Blueprint

from stella.sandbox.core import SandboxPlatform

bp = Blueprint("sandbox_linkedin", __name__)

PLATFORM = SandboxPlatform(name="linkedin", display_name="LinkedIn", blueprint=bp, hosts=(), color="#0A66C2")
