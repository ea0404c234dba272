"""Sign in and out."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from stella.extensions import db
from stella.permissions import public
from stella.services.auth import (
    FailedSignIns,
    SignInError,
    TooManyAttemptsError,
    configured_policy,
    end_session,
    sign_in,
)
from stella.timezones import viewer_zone
from stella.web.auth.forms import LoginForm

bp = Blueprint("auth", __name__)


def current_time() -> datetime:
    """The clock the sign-in views and the session loader pass to services (tests replace it)."""
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


def failed_attempts_notice(failed: FailedSignIns, timezone: str | None) -> str:
    """What the owner is told after signing in, the time in their own zone."""
    local = failed.latest_at.astimezone(viewer_zone(timezone))
    clock = f"{local.hour % 12 or 12}:{local:%M} {'AM' if local.hour < 12 else 'PM'}"
    when = f"{local:%b} {local.day}, {local.year} {clock} {local.tzname()}"
    attempts = "1 failed sign-in attempt" if failed.count == 1 else f"{failed.count} failed sign-in attempts"
    return (
        f"{attempts} on your account since you last signed in, the latest at {when} from {failed.latest_from}. "
        "If that was not you, change your password."
    )


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> Response | tuple[str, int] | tuple[str, int, dict[str, str]]:
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    status = 200
    headers: dict[str, str] = {}
    error: str | None = None
    if form.validate_on_submit():
        try:
            signed_in = sign_in(
                form.email.data or "",
                form.password.data or "",
                remote_addr=request.remote_addr or "unknown",
                user_agent=request.user_agent.string,
                now=current_time(),
                policy=configured_policy(),
            )
        except SignInError as refused:
            db.session.commit()  # keep the failed attempt: it is what the throttle counts
            error = refused.message
            status = 422
            if isinstance(refused, TooManyAttemptsError):
                status = 429
                headers["Retry-After"] = str(refused.seconds)
        else:
            db.session.commit()
            # Not a permanent session: Flask-Login's "strong" protection only drops non-permanent ones.
            login_user(signed_in.user)
            if signed_in.failed_attempts is not None:
                flash(failed_attempts_notice(signed_in.failed_attempts, signed_in.user.timezone), "warning")
            return redirect(safe_next(form.next.data or request.args.get("next")))
    elif form.is_submitted():
        status = 422
    return render_template("auth/login.html", form=form, error=error), status, headers


@bp.post("/logout")
def logout() -> Response:
    # Revoke the server-side session first: a copy of the cookie must not outlive the sign-out.
    end_session(current_user._get_current_object(), now=current_time())
    db.session.commit()
    logout_user()
    flash("You have signed out.", "info")
    return redirect(url_for("auth.login"))
