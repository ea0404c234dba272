from __future__ import annotations

from flask import Blueprint

bp = Blueprint("connections", __name__, url_prefix="/connections")
