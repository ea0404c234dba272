"""Fixtures for the platform sandbox: the app with in-memory state, its test client, and a real server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from stella.sandbox.core import SandboxSettings, create_sandbox_app
from stella.sandbox.server import RunningServer, serve_in_thread

STELLA_URL = "http://127.0.0.1:5000"


def sandbox_settings(**overrides: object) -> SandboxSettings:
    values: dict[str, object] = {"stella_public_url": STELLA_URL, "hang_seconds": 1.5}
    values.update(overrides)
    return SandboxSettings(**values)  # type: ignore[arg-type]


@pytest.fixture()
def sandbox_app() -> Flask:
    app = create_sandbox_app(sandbox_settings=sandbox_settings())
    app.config["TESTING"] = True
    return app


@pytest.fixture()
def sandbox_client(sandbox_app: Flask) -> FlaskClient:
    return sandbox_app.test_client()


@pytest.fixture()
def sandbox_server(sandbox_app: Flask) -> Iterator[RunningServer]:
    """The sandbox served on a free loopback port; `.url` is what STELLA_SANDBOX_URL would be."""
    running = serve_in_thread(sandbox_app)
    try:
        yield running
    finally:
        running.stop()
