"""Posts: the list (filters, sort, pages), a post's own page, and deleting a post.

The composer (`/posts/new`, `/posts/<id>/edit`) lives in `compose.py` and registers on this same `bp`.
Every signed-in role reads every post: the team shares them.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from stella.permissions import Ability, requires
from stella.services.compose import delete_post, get_post
from stella.services.errors import DomainError, NotFoundError, settle
from stella.services.posts import (
    DIRECTIONS,
    SORTS,
    PostFilters,
    filter_choices,
    list_posts,
    post_detail,
    status_counts,
)
from stella.web.dashboard.ui import current_zone
from stella.web.forms import CsrfOnlyForm

bp = Blueprint("posts", __name__, url_prefix="/posts")


@bp.get("/")
@requires(Ability.VIEW)
def index() -> str:
    zone = current_zone()
    choices = filter_choices()
    filters = PostFilters.parse(request.args, zone=zone, choices=choices)
    # A mistyped page number shows the first page rather than an error.
    page = request.args.get("page", default=1, type=int) or 1
    return render_template(
        "posts/index.html",
        filters=filters,
        choices=choices,
        sorts=SORTS,
        directions=DIRECTIONS,
        result=list_posts(filters, zone=zone, page=page),
        counts=status_counts(filters),
    )


@bp.get("/<uuid:post_id>")
@requires(Ability.VIEW)
def detail(post_id: uuid.UUID) -> str:
    try:
        post = post_detail(post_id, current_zone())
    except NotFoundError:
        abort(404)
    return render_template("posts/detail.html", post=post, delete_form=CsrfOnlyForm())


@bp.post("/<uuid:post_id>/delete")
@requires(Ability.CREATE_POSTS)
def delete(post_id: uuid.UUID) -> Any:
    if not CsrfOnlyForm().validate_on_submit():
        abort(400)
    try:
        post = get_post(post_id)
    except NotFoundError:
        abort(404)
    try:
        message = delete_post(post, actor=current_user._get_current_object())
    except DomainError as error:
        settle(error)
        flash(error.message, "error")
        return redirect(url_for("posts.detail", post_id=post_id))
    settle()
    flash(message, "success")
    return redirect(url_for("posts.index"))


# The composer registers its routes on `bp` (imported last: it imports `bp` from here).
from stella.web.posts import compose as _compose  # noqa: E402, F401
