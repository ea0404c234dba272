"""Personal API tokens on the profile: list, create (the token is shown once, on the response page) and revoke."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, flash, make_response, redirect, render_template, url_for
from flask_login import current_user

from stella.extensions import db
from stella.models.types import now_utc
from stella.services import api_tokens as token_service
from stella.services.errors import DomainError
from stella.web.api_tokens.forms import CreateTokenForm
from stella.web.forms import CsrfOnlyForm, show_domain_error

bp = Blueprint("api_tokens", __name__, url_prefix="/profile/api-tokens")


def _page(form: CreateTokenForm | None = None, *, new_token: str | None = None, status: int = 200) -> Any:
    response = make_response(
        render_template(
            "api_tokens/index.html",
            tokens=token_service.list_api_tokens(current_user),
            form=form or CreateTokenForm(formdata=None),
            revoke_form=CsrfOnlyForm(formdata=None),
            new_token=new_token,
        ),
        status,
    )
    # The page can show a freshly created token: keep it out of every cache, including the back button's.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("")
def index() -> Any:
    return _page()


@bp.post("")
def create() -> Any:
    form = CreateTokenForm()
    if form.validate_on_submit():
        try:
            token, plaintext = token_service.create_api_token(current_user, form.name.data or "", now_utc())
        except DomainError as error:
            db.session.rollback()
            show_domain_error(form, error)
        else:
            db.session.commit()
            flash(f"Token “{token.name}” created. Copy it now: it will not be shown again.", "success")
            # Rendered, not redirected: the token must never travel through the session cookie or a URL.
            return _page(new_token=plaintext)
    return _page(form, status=422)


@bp.post("/<uuid:token_id>/revoke")
def revoke(token_id: uuid.UUID) -> Any:
    if not CsrfOnlyForm().validate_on_submit():
        flash("That form had expired, so nothing was revoked. Please try again.", "error")
        return redirect(url_for("api_tokens.index"))
    try:
        token = token_service.revoke_api_token(current_user, token_id, now_utc())
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(f"Token “{token.name}” was revoked; anything still using it is now refused.", "success")
    return redirect(url_for("api_tokens.index"))
