"""Stella: a self-hosted social publishing dashboard."""

from __future__ import annotations

import logging
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from stella.config import CONFIG_KEY, PROJECT_ROOT, Config, ConfigError
from stella.crypto import EXTENSION_KEY as CIPHER_KEY
from stella.crypto import TokenCipher
from stella.database import engine_options
from stella.extensions import csrf, db, htmx, login_manager, migrate


def create_app(config: Config | None = None) -> Flask:
    """Build the dashboard application. `config` defaults to `Config.from_env()`."""
    config = config or Config.from_env()
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=str(config.instance_path),
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.extensions[CONFIG_KEY] = config
    app.config.update(
        SECRET_KEY=config.secret_key,
        SQLALCHEMY_DATABASE_URI=config.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(config.database_url),
        TESTING=config.testing,
        PROPAGATE_EXCEPTIONS=config.testing or None,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.session_cookie_secure,
        REMEMBER_COOKIE_SECURE=config.session_cookie_secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        WTF_CSRF_ENABLED=config.csrf_enabled,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        MAX_CONTENT_LENGTH=64 * 1024 * 1024,
    )
    app.extensions[CIPHER_KEY] = TokenCipher(config.encryption_keys)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), compare_type=True)
    csrf.init_app(app)
    htmx.init_app(app)
    _init_login(app)
    _init_proxy(app, config)

    from stella.logging_setup import install_redaction
    from stella.web import register_web

    install_redaction(app)
    register_web(app)

    from stella.services.platforms import check_provider_options, init_http_client

    check_provider_options(config)
    init_http_client(app, config)
    _check_encryption_keys(app)

    from stella.cli import register_cli

    register_cli(app)

    return app


def _check_encryption_keys(app: Flask) -> None:
    """Refuse to start when stored tokens cannot be decrypted: a lost key is a clear error, not garbage tokens."""
    from stella.services.tokens import check_stored_secrets

    with app.app_context():
        try:
            with db.engine.connect() as connection:
                check_stored_secrets(app.extensions[CIPHER_KEY], connection)
        except sa.exc.OperationalError:
            # No database yet (or not reachable): nothing stored to check; `flask db upgrade` will create it.
            logging.getLogger(__name__).debug("encryption key check skipped: database not reachable")
        finally:
            db.engine.dispose()


def _init_proxy(app: Flask, config: Config) -> None:
    """Behind `proxy_hops` reverse proxies, take the client address and scheme from their X-Forwarded-For/-Proto.

    Off by default: without a proxy anyone can send those headers, and the sign-in throttle counts by address.
    """
    if config.proxy_hops < 0:
        raise ConfigError("STELLA_PROXY_HOPS must be 0 (no proxy) or the number of proxies in front of Stella.")
    if config.proxy_hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=config.proxy_hops, x_proto=config.proxy_hops, x_host=0, x_port=0, x_prefix=0
        )


def _init_login(app: Flask) -> None:
    from stella.models import User

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(session_id: str) -> User | None:
        """The user of the live, unrevoked server-side session the cookie names; anyone else is signed out."""
        from stella.database import is_locked_error
        from stella.services.auth import resume_session, touch_session
        from stella.web.auth.views import current_time

        now = current_time()
        try:
            live = resume_session(session_id, now=now)
        except (ValueError, sa.exc.SQLAlchemyError):
            db.session.rollback()
            return None
        if live is None:
            return None
        if touch_session(live.session, now=now):
            # Loaded before the view runs, so this commits nothing but the timestamp. It is bookkeeping for the
            # idle timeout: if SQLite is busy with another writer, skip it rather than fail the page.
            try:
                db.session.commit()
            except sa.exc.OperationalError as error:
                if not is_locked_error(error):
                    raise
                db.session.rollback()
        return live.user


logging.getLogger(__name__).addHandler(logging.NullHandler())
