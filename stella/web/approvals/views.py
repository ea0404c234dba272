from __future__ import annotations

from flask import Blueprint, render_template

from stella.permissions import Ability, requires
from stella.services.approvals import pending_approvals

bp = Blueprint("approvals", __name__, url_prefix="/approvals")


@bp.get("/")
@requires(Ability.VIEW)
def index() -> str:
    return render_template("approvals/index.html", rows=pending_approvals())
