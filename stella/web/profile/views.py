"""The signed-in user's own profile: display name, time zone and password."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user

from stella.extensions import db
from stella.services import users as user_service
from stella.services.auth import TooManyAttemptsError, change_own_password, configured_policy
from stella.services.errors import DomainError
from stella.services.users import WrongCurrentPasswordError
from stella.web.auth import views as auth_views
from stella.web.forms import show_domain_error
from stella.web.profile.forms import PasswordForm, ProfileForm

bp = Blueprint("profile", __name__, url_prefix="/profile")


@bp.app_context_processor
def password_nudge() -> dict[str, Any]:
    """For `profile/_password_nudge.html`, on every page: still signing in with a generated password?"""

    def still_generated() -> bool:
        return bool(current_user.is_authenticated) and user_service.uses_generated_password(current_user)

    return {"uses_generated_password": still_generated}


def _page(profile_form: ProfileForm | None = None, password_form: PasswordForm | None = None, status: int = 200) -> Any:
    if profile_form is None:
        profile_form = ProfileForm(
            formdata=None, display_name=current_user.display_name, timezone=current_user.timezone
        )
    return render_template(
        "profile/index.html",
        profile_form=profile_form,
        password_form=password_form or PasswordForm(formdata=None),
        timezones=user_service.timezone_names(),
    ), status


@bp.get("")
def index() -> Any:
    return _page()


@bp.post("")
def update() -> Any:
    form = ProfileForm()
    if form.validate_on_submit():
        try:
            user_service.update_profile(
                current_user, display_name=form.display_name.data or "", timezone=form.timezone.data or ""
            )
        except DomainError as error:
            db.session.rollback()
            show_domain_error(form, error)
        else:
            db.session.commit()
            flash("Your profile was saved.", "success")
            return redirect(url_for("profile.index"))
    return _page(profile_form=form, status=422)


@bp.post("/password")
def change_password() -> Any:
    form = PasswordForm()
    status = 422
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            change_own_password(
                user,
                current_password=form.current_password.data or "",
                new_password=form.new_password.data or "",
                confirm_password=form.confirm_password.data or "",
                remote_addr=request.remote_addr or "unknown",
                user_agent=request.user_agent.string,
                now=auth_views.current_time(),
                policy=configured_policy(),
            )
        except (TooManyAttemptsError, WrongCurrentPasswordError) as error:
            db.session.commit()  # keep the failed attempt: the throttle counts it, as for sign-in
            show_domain_error(form, error)
            status = 429 if isinstance(error, TooManyAttemptsError) else 422
        except DomainError as error:
            db.session.rollback()
            show_domain_error(form, error)
        else:
            db.session.commit()
            # Every session ended with the change; carry on in the new one the service started for this browser.
            login_user(user)
            flash("Your password was changed. Other devices have been signed out.", "success")
            return redirect(url_for("profile.index"))
    return _page(password_form=form, status=status)
