"""Sandbox stand-in for Pinterest (being written: only the declaration so far)."""

from __future__ import annotations

from flask import Blueprint

from stella.sandbox.core import SandboxPlatform

bp = Blueprint("sandbox_pinterest", __name__)

PLATFORM = SandboxPlatform(name="pinterest", display_name="Pinterest", blueprint=bp, hosts=(), color="#E60023")
