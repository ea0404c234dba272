"""Sandbox stand-in for YouTube (being written: only the declaration so far)."""

from __future__ import annotations

from flask import Blueprint

from stella.sandbox.core import SandboxPlatform

bp = Blueprint("sandbox_youtube", __name__)

PLATFORM = SandboxPlatform(name="youtube", display_name="YouTube", blueprint=bp, hosts=(), color="#FF0000")
