"""Sandbox stand-in for Bluesky (being written: only the declaration so far)."""

from __future__ import annotations

from flask import Blueprint

from stella.sandbox.core import SandboxPlatform

bp = Blueprint("sandbox_bluesky", __name__)

PLATFORM = SandboxPlatform(name="bluesky", display_name="Bluesky", blueprint=bp, hosts=(), color="#1185FE")
