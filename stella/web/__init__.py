"""Web layer: blueprints, deny-by-default sign-in, error pages and template helpers."""

from __future__ import annotations

import importlib
from typing import Any

from flask import Flask, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from stella.config import CONFIG_KEY, get_config
from stella.extensions import db
from stella.permissions import ROLE_ABILITIES, Ability, can
from stella.web.platform_styles import register_platform_styles
from stella.web.security_headers import register_security_headers

# Each module exposes `bp`; order sets nothing but readability.
BLUEPRINT_MODULES: tuple[str, ...] = (
    "stella.web.auth.views",
    "stella.web.dashboard.views",
    "stella.web.connections.views",
    "stella.web.posts.views",
    "stella.web.media.views",
    "stella.web.calendar.views",
    "stella.web.approvals.views",
    "stella.web.analytics.views",
    "stella.web.profile.views",
    "stella.web.admin.views",
    "stella.web.api_tokens.views",
    "stella.api",
)

# Endpoints anyone may reach; every other one needs a signed-in, active user.
PUBLIC_ENDPOINTS = frozenset({"static", "auth.login", "health", "platform_styles"})


def register_web(app: Flask) -> None:
    for module_name in BLUEPRINT_MODULES:
        app.register_blueprint(importlib.import_module(module_name).bp)

    @app.get("/healthz", endpoint="health")
    def health() -> tuple[str, int]:
        return "ok", 200

    register_platform_styles(app)
    app.before_request(_require_sign_in)
    register_security_headers(app, app.extensions[CONFIG_KEY])
    _register_error_handlers(app)
    _register_template_helpers(app)


def _require_sign_in() -> Any:
    endpoint = request.endpoint
    if endpoint is None:  # unknown URL: let the 404 handler answer
        return None
    view = request.url_rule and request.url_rule.endpoint and _view_function(endpoint)
    if endpoint in PUBLIC_ENDPOINTS or getattr(view, "is_public", False):
        return None
    if current_user.is_authenticated:
        return None
    from stella.extensions import login_manager

    if request.headers.get("HX-Request"):
        # htmx cannot follow a redirect to a full page inside a fragment: ask it to reload the page.
        response = app_response("", 401)
        response.headers["HX-Redirect"] = url_for("auth.login", next=request.full_path)
        return response
    return login_manager.unauthorized()


def _view_function(endpoint: str) -> Any:
    from flask import current_app

    return current_app.view_functions.get(endpoint)


def app_response(body: str, status: int) -> Any:
    from flask import make_response

    return make_response(body, status)


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_failed(error: CSRFError) -> Any:
        flash("Your session expired, so that form was not sent. Please try again.", "error")
        target = request.referrer if _same_site(request.referrer) else None
        if request.method == "POST" and request.path == url_for("auth.login"):
            target = url_for("auth.login")
        return redirect(target or url_for("dashboard.home"))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        code = error.code or 500
        if code in (403, 404, 405, 413):
            return render_template(f"errors/{code if code in (403, 404) else 'generic'}.html", error=error), code
        return error

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> Any:
        if app.config.get("TESTING"):
            raise error
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        return render_template("errors/500.html"), 500


def _same_site(url: str | None) -> bool:
    if not url:
        return False
    from urllib.parse import urlparse

    return urlparse(url).netloc in ("", request.host)


def _register_template_helpers(app: Flask) -> None:
    @app.context_processor
    def inject_helpers() -> dict[str, Any]:
        config = get_config()
        return {
            "can": lambda ability: can(current_user, ability),
            "Ability": Ability,
            "ROLE_ABILITIES": ROLE_ABILITIES,
            "sandbox_url": config.sandbox_url,
        }
