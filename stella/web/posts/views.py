from __future__ import annotations

from flask import Blueprint

bp = Blueprint("posts", __name__, url_prefix="/posts")
