from __future__ import annotations

from flask import Blueprint, render_template, request

from stella.permissions import Ability, requires
from stella.services.posts import PostFilters, list_posts, status_counts

bp = Blueprint("posts", __name__, url_prefix="/posts")


@bp.get("/")
@requires(Ability.VIEW)
def index() -> str:
    filters = PostFilters.parse(request.args.get("status"), request.args.get("platform"))
    # A mistyped page number shows the first page rather than an error.
    page = request.args.get("page", default=1, type=int) or 1
    return render_template(
        "posts/index.html",
        filters=filters,
        result=list_posts(filters, page=page),
        counts=status_counts(),
    )
