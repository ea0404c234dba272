"""The real app on a free 127.0.0.1 port in a background thread, for browser tests and scripts/screenshots.py.

CSRF is on and TESTING is off, so the browser sees exactly what a user would. The database is a fresh SQLite file.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from stella import create_app
from stella.config import Config
from stella.extensions import db

CHROMIUM = Path("/usr/bin/chromium")
# Flags for a headless run inside a container: no sandbox, no GPU, and nothing that phones home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@dataclass(frozen=True)
class LiveServer:
    url: str
    app: Flask


def live_config(workdir: Path, **overrides: object) -> Config:
    config = Config(
        secret_key="browser-test-secret",
        database_url=f"sqlite:///{(workdir / 'stella.db').as_posix()}",
        public_url="http://127.0.0.1",
        environment="testing",
        scheduler_enabled=False,
        encryption_keys=(Fernet.generate_key().decode(),),
        instance_path=workdir / "instance",
        testing=False,
        csrf_enabled=True,
    )
    return config.with_overrides(**overrides) if overrides else config


@contextmanager
def live_server(workdir: Path, **overrides: object) -> Iterator[LiveServer]:
    """Create the schema, serve the app, and stop the server on exit."""
    app = create_app(live_config(workdir, **overrides))
    with app.app_context():
        db.create_all()
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="stella-live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()
