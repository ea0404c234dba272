"""Shared fixtures.

Database tests run once per backend: SQLite always, PostgreSQL when STELLA_TEST_DATABASE_URL is set
(a fresh temporary database is created for the run and dropped afterwards). Each test runs inside a
transaction that is rolled back, using SQLAlchemy's "join into an external transaction" recipe.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, current_app, g, has_app_context
from flask.testing import FlaskClient

from stella import create_app
from stella.config import Config
from stella.extensions import db as _db
from tests.databases import temporary_postgres
from tests.factories import DEFAULT_PASSWORD, make_user

# Shared fixtures that live in their own modules: registered here so test modules ask for them by name
# instead of importing them (an imported fixture is shadowed by every test parameter of the same name: F811).
pytest_plugins = ["tests.fake_providers", "tests.sandbox_support"]

TEST_ENCRYPTION_KEY = "x3M1cE1Y0lZr2n6b8wQ2m9Yw1pW0vHq3s5t7u9v1x2A="
PG_ENV = "STELLA_TEST_DATABASE_URL"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgresql_only: needs PostgreSQL (skipped without STELLA_TEST_DATABASE_URL)")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL database for this run, or a skip when none is configured."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"PostgreSQL tests need {PG_ENV} (e.g. postgresql://postgres@127.0.0.1/test)")
    with temporary_postgres(base) as url:
        yield url


def make_test_config(database_url: str, instance_path: Path, **overrides: Any) -> Config:
    return Config(
        secret_key="test-secret-key",
        database_url=database_url,
        public_url="http://127.0.0.1:5000",
        environment="testing",
        scheduler_enabled=False,
        encryption_keys=(TEST_ENCRYPTION_KEY,),
        allow_private_hosts=True,
        instance_path=instance_path,
        testing=True,
        csrf_enabled=False,
        **overrides,
    )


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if backend == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'stella-test.db'}"


class StellaTestClient(FlaskClient):
    """Each request starts with an empty `g`, as in production.

    The `db` fixture keeps one app context pushed for the whole test and Flask reuses it for requests,
    so without this `g` (and Flask-Login's cached user in it) would carry over from one request to the next.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        if has_app_context() and current_app._get_current_object() is self.application:
            for name in list(vars(g)):
                delattr(g, name)
        return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    application = create_app(make_test_config(database_url, tmp_path_factory.mktemp("instance")))
    application.test_client_class = StellaTestClient
    with application.app_context():
        _db.create_all()
    yield application
    with application.app_context():
        _db.engine.dispose()


@pytest.fixture()
def db(app: Flask) -> Iterator[Any]:
    """Every session opened during the test joins one outer transaction that is rolled back at the end."""
    with app.app_context():
        connection = _db.engine.connect()
        # On SQLite the app's engine events emit BEGIN themselves, so savepoints below nest correctly.
        outer = connection.begin()
        factory = _db.session.session_factory
        previous = dict(factory.kw)
        _db.session.remove()
        factory.configure(bind=connection, join_transaction_mode="create_savepoint")
        # Flask-SQLAlchemy's Session.get_bind ignores `bind` and picks the app's engine, so point that at
        # the test connection too; otherwise a commit in a view really commits and leaks into later tests.
        engines = _db.engines
        previous_engine = engines[None]
        engines[None] = connection
        try:
            yield _db
        finally:
            _db.session.remove()
            engines[None] = previous_engine
            factory.kw.clear()
            factory.kw.update(previous)
            outer.rollback()
            connection.close()


@pytest.fixture()
def client(app: Flask, db: Any) -> FlaskClient:
    return app.test_client()


@pytest.fixture()
def login(client: FlaskClient, db: Any) -> Callable[..., Any]:
    """`login("approver")` makes a user with that role and signs the test client in as them."""

    def sign_in(role: str = "marketing", **fields: Any) -> Any:
        user = make_user(role, **fields)
        _db.session.commit()
        response = client.post("/login", data={"email": user.email, "password": DEFAULT_PASSWORD})
        assert response.status_code in (302, 303), "sign-in failed in the login fixture"
        return user

    return sign_in


@pytest.fixture()
def flashes(client: FlaskClient) -> Callable[[], list[tuple[str, str]]]:
    """Read (and clear) the flash messages waiting in the test client's session."""

    def read() -> list[tuple[str, str]]:
        with client.session_transaction() as session:
            return list(session.pop("_flashes", []))

    return read


@pytest.fixture()
def now() -> datetime:
    return datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
