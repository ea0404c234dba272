"""Sign in and out."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from stella.extensions import db
from stella.permissions import public
from stella.services.auth import SignInError, TooManyAttemptsError, authenticate, configured_policy
from stella.web.auth.forms import LoginForm

bp = Blueprint("auth", __name__)


def current_time() -> datetime:
    """The clock the sign-in views pass to services (tests replace it)."""
    return datetime.now(UTC)


def safe_next(target: str | None) -> str:
    """`target` when it is a path on this site, else the dashboard: never an open redirect."""
    fallback = url_for("dashboard.home")
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return fallback
    if any(ord(char) < 32 or ord(char) == 127 for char in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return fallback
    return target


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> Response | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    status = 200
    error: str | None = None
    if form.validate_on_submit():
        try:
            user = authenticate(
                form.email.data or "",
                form.password.data or "",
                remote_addr=request.remote_addr or "unknown",
                now=current_time(),
                policy=configured_policy(),
            )
        except SignInError as refused:
            db.session.commit()  # keep the failed attempt: it is what the throttle counts
            error = refused.message
            status = 429 if isinstance(refused, TooManyAttemptsError) else 422
        else:
            db.session.commit()
            # Not a permanent session: Flask-Login's "strong" protection only drops non-permanent ones.
            login_user(user)
            return redirect(safe_next(form.next.data or request.args.get("next")))
    elif form.is_submitted():
        status = 422
    return render_template("auth/login.html", form=form, error=error), status


@bp.post("/logout")
def logout() -> Response:
    logout_user()
    flash("You have signed out.", "info")
    return redirect(url_for("auth.login"))
