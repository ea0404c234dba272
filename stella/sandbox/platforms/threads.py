"""Sandbox stand-in for Threads (being written: only the declaration so far)."""

from __future__ import annotations

from flask import Blueprint

from stella.sandbox.core import SandboxPlatform

bp = Blueprint("sandbox_threads", __name__)

PLATFORM = SandboxPlatform(name="threads", display_name="Threads", blueprint=bp, hosts=(), color="#101010")
