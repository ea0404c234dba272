"""Connections: list the platforms, connect (OAuth, Bluesky form, Mastodon instance), pick a target, disconnect."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from stella.database import writes_database
from stella.extensions import db
from stella.models.types import now_utc
from stella.permissions import Ability, can, requires
from stella.providers.errors import ProviderError
from stella.services import connections as service
from stella.services.errors import DomainError, NotFoundError
from stella.services.platforms import is_configured, provider_class, provider_names, setup_help
from stella.services.tokens import reconnect_warnings
from stella.web.connections.forms import BlueskyConnectForm, DisconnectForm, MastodonInstanceForm, TargetForm
from stella.web.forms import show_domain_error

bp = Blueprint("connections", __name__, url_prefix="/connections")

# Binds OAuth states to this browser session (a SHA-256 of it is stored with each state).
SESSION_NONCE_KEY = "oauth_session_nonce"


def _platform_or_404(name: str) -> Any:
    if name not in provider_names():
        abort(404)
    return provider_class(name)


def _session_nonce() -> str:
    nonce = session.get(SESSION_NONCE_KEY)
    if not nonce:
        nonce = secrets.token_urlsafe(24)
        session[SESSION_NONCE_KEY] = nonce
    return str(nonce)


def _to_index(name: str | None = None) -> Response:
    return redirect(url_for("connections.index") + (f"#platform-{name}" if name else ""))


@bp.get("", strict_slashes=False)
@requires(Ability.VIEW)
def index() -> str:
    cards = service.list_platform_cards(current_user)
    return render_template("connections/index.html", cards=cards, disconnect_form=DisconnectForm(),
                           can_manage=can(current_user, Ability.MANAGE_CONNECTIONS))


@bp.get("/<provider>/connect")
@requires(Ability.MANAGE_CONNECTIONS)
def connect(provider: str) -> Any:
    cls = _platform_or_404(provider)
    if cls.auth_style == "app_password":
        return render_template("connections/bluesky.html", form=BlueskyConnectForm(), cls=cls)
    if not is_configured(provider):
        flash(f"{cls.display_name} is not set up yet. The card below says how to set it up.", "error")
        return _to_index(provider)
    if cls.needs_instance:
        form = MastodonInstanceForm(request.args)
        if "instance" not in request.args:
            return render_template("connections/instance.html", form=form, cls=cls)
    try:
        url = service.start_authorization(
            current_user, provider, session_nonce=_session_nonce(), now=now_utc(),
            instance=request.args.get("instance"),
        )
    except DomainError as error:
        db.session.commit()  # keeps a Mastodon app registration made before the failure
        if cls.needs_instance and error.field == "instance":
            show_domain_error(form, error)
            return render_template("connections/instance.html", form=form, cls=cls), 422
        flash(error.message, "error")
        return _to_index(provider)
    except ProviderError as error:
        db.session.rollback()
        flash(f"Could not start the {cls.display_name} sign-in: {error.message}", "error")
        return _to_index(provider)
    db.session.commit()
    return redirect(url)


@bp.post("/bluesky/connect")
@requires(Ability.MANAGE_CONNECTIONS)
def connect_bluesky() -> Any:
    cls = provider_class("bluesky")
    form = BlueskyConnectForm()
    if not form.validate_on_submit():
        return render_template("connections/bluesky.html", form=form, cls=cls), 422
    try:
        outcome = service.connect_bluesky(
            current_user, handle=form.handle.data or "", app_password=form.app_password.data or "",
            service=form.service.data or service.DEFAULT_BLUESKY_SERVICE, now=now_utc(),
        )
    except DomainError as error:
        db.session.rollback()
        show_domain_error(form, error)
        return render_template("connections/bluesky.html", form=form, cls=cls), 422
    db.session.commit()
    flash(outcome.message, "success")
    return _to_index("bluesky")


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
        db.session.commit()  # the state is spent and any error status is recorded, whatever happened next
        flash(error.message, "error")
        return _to_index(provider)
    db.session.commit()
    if outcome.needs_selection:
        flash(outcome.message, "info")
        return redirect(url_for("connections.select", provider=provider))
    flash(outcome.message, "success")
    return _to_index(provider)


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
        flash(error.message, "error")
        return _to_index(provider)
    form.target.choices = [(t.id, t.name) for t in targets]
    if form.validate_on_submit():
        try:
            outcome = service.select_target(current_user, provider, form.target.data or "", now=now_utc(),
                                            listed=targets)
        except DomainError as error:
            db.session.rollback()
            show_domain_error(form, error)
        else:
            db.session.commit()
            flash(outcome.message, "success")
            return _to_index(provider)
    status = 422 if request.method == "POST" else 200
    return render_template("connections/select.html", form=form, cls=cls, targets=targets), status


@bp.post("/<provider>/disconnect")
@requires(Ability.MANAGE_CONNECTIONS)
def disconnect(provider: str) -> Any:
    _platform_or_404(provider)
    form = DisconnectForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        outcome = service.disconnect(current_user, provider, now=now_utc())
    except NotFoundError:
        abort(404)
    db.session.commit()
    category = "warning" if outcome.revoke_failed else "success"
    if request.headers.get("HX-Request"):
        card = next(c for c in service.list_platform_cards(current_user) if c.name == provider)
        return render_template("connections/_card.html", card=card, disconnect_form=DisconnectForm(),
                               can_manage=True, notice=(category, outcome.message))
    flash(outcome.message, category)
    return _to_index(provider)


@bp.app_context_processor
def reconnect_banner() -> dict[str, Any]:
    """Data for `connections/_banner.html`, which base.html includes on every page."""

    def warnings() -> list[Any]:
        if not can(current_user, Ability.VIEW):
            return []
        return reconnect_warnings(current_user, now_utc())

    return {"reconnect_warnings": warnings, "platform_setup_help": setup_help}
