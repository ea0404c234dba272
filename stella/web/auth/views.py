from __future__ import annotations

from flask import Blueprint

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login() -> str:
    return "login"  # replaced by the sign-in work
