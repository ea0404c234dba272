"""Sandbox stand-in for TikTok (being written: only the declaration so far)."""

from __future__ import annotations

from flask import Blueprint

from stella.sandbox.core import SandboxPlatform

bp = Blueprint("sandbox_tiktok", __name__)

PLATFORM = SandboxPlatform(name="tiktok", display_name="TikTok", blueprint=bp, hosts=(), color="#010101")
