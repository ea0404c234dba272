"""Connections: list the platforms, connect (OAuth, a server first, an app password), pick a target, disconnect.

Every request that starts a sign-in is a POST with the CSRF token: a sign-in may replace the user's connection,
so no link may start one. GET on the connect URL only shows the step (a confirmation, the server form, the
app-password form) and changes nothing. Every view ends its transaction with `settle`.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from stella.database import writes_database
from stella.models.types import now_utc
from stella.permissions import Ability, can, requires
from stella.providers.base import Provider
from stella.services import connections as service
from stella.services.errors import DomainError, NotFoundError, settle
from stella.services.platforms import is_configured, provider_class, provider_names, setup_help
from stella.services.tokens import reconnect_warnings
from stella.web.connections.forms import AppPasswordForm, InstanceForm, TargetForm
from stella.web.forms import CsrfOnlyForm, show_domain_error

bp = Blueprint("connections", __name__, url_prefix="/connections")

# Binds OAuth states to this browser session (a SHA-256 of it is stored with each state).
SESSION_NONCE_KEY = "oauth_session_nonce"


def _platform_or_404(name: str) -> type[Provider]:
    if name not in provider_names():
        abort(404)
    return provider_class(name)


def _session_nonce() -> str:
    nonce = session.get(SESSION_NONCE_KEY)
    if not nonce:
        nonce = secrets.token_urlsafe(24)
        session[SESSION_NONCE_KEY] = nonce
    return str(nonce)


def _to_index() -> Response:
    # No `#platform-…` jump: the flash message at the top of the page must stay in view.
    return redirect(url_for("connections.index"))


def _flash_outcome(outcome: service.ConnectOutcome) -> None:
    flash(outcome.message, "info" if outcome.needs_selection else "success")
    if outcome.warning:
        flash(outcome.warning, "warning")


@bp.get("", strict_slashes=False)
@requires(Ability.VIEW)
def index() -> str:
    cards = service.list_platform_cards(current_user)
    return render_template("connections/index.html", cards=cards,
                           can_manage=can(current_user, Ability.MANAGE_CONNECTIONS))


def _connect_form(cls: type[Provider]) -> FlaskForm:
    if cls.auth_style == "app_password":
        form: FlaskForm = AppPasswordForm()
        if request.method == "GET":
            form.service.data = cls.default_service_url
        return form
    if cls.needs_instance:
        return InstanceForm()
    return CsrfOnlyForm()


def _connect_page(cls: type[Provider], form: FlaskForm, status: int = 200) -> tuple[str, int]:
    if cls.auth_style == "app_password":
        template = "connections/app_password.html"
    elif cls.needs_instance:
        template = "connections/instance.html"
    else:
        template = "connections/confirm.html"
    current = service.get_connection(current_user, cls.name)
    return render_template(template, form=form, cls=cls, current=current), status


@bp.route("/<provider>/connect", methods=["GET", "POST"])
@requires(Ability.MANAGE_CONNECTIONS)
def connect(provider: str) -> Any:
    """GET shows the step and changes nothing; only the POST (with its CSRF token) signs in or leaves for the
    platform's consent page."""
    cls = _platform_or_404(provider)
    if not is_configured(provider):
        flash(f"{cls.display_name} is not set up yet. Its card below says how to set it up.", "error")
        return _to_index()
    form = _connect_form(cls)
    if not form.validate_on_submit():
        return _connect_page(cls, form, 422 if request.method == "POST" else 200)
    try:
        if isinstance(form, AppPasswordForm):
            outcome = service.connect_with_app_password(
                current_user, provider, handle=form.handle.data or "", app_password=form.app_password.data or "",
                service=form.service.data, now=now_utc(),
            )
        else:
            url = service.start_authorization(
                current_user, provider, session_nonce=_session_nonce(), now=now_utc(),
                instance=form.instance.data if isinstance(form, InstanceForm) else None,
            )
    except DomainError as error:
        settle(error)
        if error.field and hasattr(form, error.field):
            show_domain_error(form, error)
            return _connect_page(cls, form, 422)
        flash(error.message, "error")
        return _to_index()
    settle()
    if isinstance(form, AppPasswordForm):
        _flash_outcome(outcome)
        return _to_index()
    return redirect(url)


@bp.get("/<provider>/callback")
@writes_database
@requires(Ability.MANAGE_CONNECTIONS)
def callback(provider: str) -> Response:
    _platform_or_404(provider)
    try:
        outcome = service.complete_authorization(
            current_user, provider, params=request.args.to_dict(), session_nonce=session.get(SESSION_NONCE_KEY),
            now=now_utc(),
        )
    except DomainError as error:
        settle(error)
        flash(error.message, "error")
        return _to_index()
    settle()
    _flash_outcome(outcome)
    if outcome.needs_selection:
        return redirect(url_for("connections.select", provider=provider))
    return _to_index()


@bp.route("/<provider>/select", methods=["GET", "POST"])
@requires(Ability.MANAGE_CONNECTIONS)
def select(provider: str) -> Any:
    cls = _platform_or_404(provider)
    form = TargetForm()
    try:
        targets = service.pending_targets(current_user, provider)
    except NotFoundError:
        abort(404)
    except DomainError as error:
        settle(error)
        flash(error.message, "error")
        return _to_index()
    form.target.choices = [(t.id, t.name) for t in targets]
    if form.validate_on_submit():
        try:
            outcome = service.select_target(current_user, provider, form.target.data or "", now=now_utc(),
                                            listed=targets)
        except DomainError as error:
            settle(error)
            show_domain_error(form, error)
        else:
            settle()
            _flash_outcome(outcome)
            return _to_index()
    status = 422 if request.method == "POST" else 200
    return render_template("connections/select.html", form=form, cls=cls, targets=targets), status


@bp.post("/<provider>/disconnect")
@requires(Ability.MANAGE_CONNECTIONS)
def disconnect(provider: str) -> Any:
    _platform_or_404(provider)
    if not CsrfOnlyForm().validate_on_submit():
        abort(400)
    try:
        outcome = service.disconnect(current_user, provider, now=now_utc())
    except NotFoundError:
        abort(404)
    settle()
    category = "warning" if outcome.revoke_failed else "success"
    if request.headers.get("HX-Request"):
        card = next(c for c in service.list_platform_cards(current_user) if c.name == provider)
        return render_template("connections/_card.html", card=card, can_manage=True, notice=(category, outcome.message))
    flash(outcome.message, category)
    return _to_index()


@bp.app_context_processor
def reconnect_banner() -> dict[str, Any]:
    """Data for `connections/_banner.html`, which base.html includes on every page."""

    def warnings() -> list[Any]:
        if not can(current_user, Ability.VIEW):
            return []
        return reconnect_warnings(current_user, now_utc())

    return {"reconnect_warnings": warnings, "platform_setup_help": setup_help}
