"""Sandbox stand-in for X (being written: only the declaration so far)."""

from __future__ import annotations

from flask import Blueprint

from stella.sandbox.core import SandboxPlatform

bp = Blueprint("sandbox_x", __name__)

PLATFORM = SandboxPlatform(name="x", display_name="X", blueprint=bp, hosts=(), color="#000000")
