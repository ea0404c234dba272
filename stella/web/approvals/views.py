from __future__ import annotations

from flask import Blueprint

bp = Blueprint("approvals", __name__, url_prefix="/approvals")
