from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("dashboard", __name__)


@bp.get("/")
def home() -> str:
    return render_template("dashboard/home.html")
