"""User administration (admins only): list, create, change role, deactivate and reactivate."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from stella.extensions import db
from stella.models import User
from stella.permissions import ROLE_DESCRIPTIONS, Ability, requires
from stella.services import users as user_service
from stella.services.errors import DomainError, NotFoundError
from stella.timezones import viewer_zone
from stella.web.admin.forms import ConfirmForm, CreateUserForm, RoleForm, role_help
from stella.web.forms import show_domain_error

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _viewer_time(moment: datetime | None) -> str:
    """A UTC timestamp shown in the signed-in viewer's time zone."""
    if moment is None:
        return "Never"
    return moment.astimezone(viewer_zone(current_user.timezone)).strftime("%d %b %Y, %H:%M")


def _load(user_id: uuid.UUID) -> User:
    try:
        return user_service.get_user(user_id)
    except NotFoundError:
        abort(404)


def _row_context(user: User, *, message: str | None = None, error: str | None = None) -> dict[str, Any]:
    form = RoleForm(formdata=None, role=user.role)
    return {
        "user": user,
        "role_form": form,
        "confirm_form": ConfirmForm(formdata=None),
        "row_message": message,
        "row_error": error,
        "fmt_time": _viewer_time,
        "role_descriptions": ROLE_DESCRIPTIONS,
    }


def _after_change(user: User, *, message: str | None = None, error: str | None = None) -> Any:
    """htmx swaps the changed row in place; a plain form gets a flash and goes back to the list."""
    if request.headers.get("HX-Request"):
        return render_template("admin/_user_row.html", row=_row_context(user, message=message, error=error))
    if error:
        flash(error, "error")
    elif message:
        flash(message, "success")
    return redirect(url_for("admin.users"))


@bp.get("/users")
@requires(Ability.MANAGE_USERS)
def users() -> str:
    everyone = user_service.list_users()
    return render_template(
        "admin/users.html",
        rows=[_row_context(user) for user in everyone],
        active_count=sum(1 for user in everyone if user.is_active),
    )


@bp.route("/users/new", methods=["GET", "POST"])
@requires(Ability.MANAGE_USERS)
def new_user() -> Any:
    form = CreateUserForm()
    if form.validate_on_submit():
        try:
            created = user_service.create_user(
                email=form.email.data or "",
                role=form.role.data or "",
                display_name=form.display_name.data or "",
                password=form.password.data or None,
                actor=current_user,
            )
        except DomainError as error:
            db.session.rollback()
            show_domain_error(form, error)
        else:
            db.session.commit()
            if created.generated_password is None:
                flash(f"{created.user.email} can now sign in.", "success")
                return redirect(url_for("admin.users"))
            # Shown on this one response and nowhere else: not flashed (the session cookie is only signed).
            response = make_response(
                render_template("admin/user_created.html", user=created.user, password=created.generated_password)
            )
            response.headers["Cache-Control"] = "no-store"
            return response
    status = 422 if form.is_submitted() else 200
    return render_template("admin/new_user.html", form=form, role_help=role_help()), status


def _apply(user_id: uuid.UUID, change: Callable[[User], object], message: Callable[[User], str]) -> Any:
    """Run one user-service change on the user, commit it, and answer with the row (htmx) or a flash."""
    user = _load(user_id)
    try:
        change(user)
    except DomainError as error:
        db.session.rollback()
        # The rollback expired `user`; load it again to show the row as it really is.
        return _after_change(_load(user_id), error=error.message)
    db.session.commit()
    return _after_change(user, message=message(user))


@bp.post("/users/<uuid:user_id>/role")
@requires(Ability.MANAGE_USERS)
def change_role(user_id: uuid.UUID) -> Any:
    form = RoleForm()
    if not form.validate_on_submit():
        return _after_change(_load(user_id), error="That form expired; reload the page and try again.")
    role = form.role.data or ""
    return _apply(
        user_id,
        lambda user: user_service.change_role(user, role, actor=current_user),
        lambda user: f"{user.email} is now {user.role}.",
    )


@bp.post("/users/<uuid:user_id>/deactivate")
@requires(Ability.MANAGE_USERS)
def deactivate(user_id: uuid.UUID) -> Any:
    return _apply(
        user_id,
        lambda user: user_service.deactivate_user(user, actor=current_user),
        lambda user: f"{user.email} was deactivated and signed out everywhere.",
    )


@bp.post("/users/<uuid:user_id>/reactivate")
@requires(Ability.MANAGE_USERS)
def reactivate(user_id: uuid.UUID) -> Any:
    return _apply(
        user_id,
        lambda user: user_service.reactivate_user(user, actor=current_user),
        lambda user: f"{user.email} can sign in again.",
    )
