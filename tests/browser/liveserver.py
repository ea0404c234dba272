"""The real app, and the platform sandbox beside it, on free 127.0.0.1 ports in background threads.

Used by the browser tests and scripts/screenshots.py. CSRF is on and TESTING is off, so the browser sees exactly
what a user would. The database is a fresh SQLite file; so is the sandbox's own state.

Wired like `make run` (stella/devserver.py): Stella's public URL is its real address, so the redirect URIs the
sandbox registers point back at it, and every platform call and consent redirect goes to the sandbox.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass(frozen=True)
class LiveServer:
    url: str
    app: Flask
    # The running platform sandbox (None when started with sandbox=False).
    sandbox_url: str | None = None
    sandbox_app: Flask | None = None


class _DeferredApp:
    """A WSGI app whose target is set after the server is bound: Stella's config needs the port it listens on."""

    def __init__(self) -> None:
        self.target: WsgiApp | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self.target is None:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"starting"]
        return self.target(environ, start_response)


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
def live_server(workdir: Path, *, sandbox: bool = True, **overrides: object) -> Iterator[LiveServer]:
    """Create the schema, serve the app (and the sandbox unless `sandbox=False`), and stop both on exit."""
    shim = _DeferredApp()
    server: BaseWSGIServer = make_server("127.0.0.1", 0, shim, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"

    running_sandbox = None
    sandbox_app: Flask | None = None
    wiring: dict[str, object] = {"public_url": url}
    if sandbox:
        from stella.sandbox.core import SandboxSettings, create_sandbox_app
        from stella.sandbox.server import serve_in_thread

        sandbox_app = create_sandbox_app(
            db_path=str(workdir / "sandbox.db"),
            sandbox_settings=SandboxSettings(stella_public_url=url),
        )
        running_sandbox = serve_in_thread(sandbox_app)
        # No client credentials: every platform uses the sandbox's defaults, as `make run` does with none set.
        wiring.update(sandbox_url=running_sandbox.url, provider_credentials={}, allow_private_hosts=True)

    app = create_app(live_config(workdir, **{**wiring, **overrides}))
    with app.app_context():
        db.create_all()
    shim.target = app
    thread = threading.Thread(target=server.serve_forever, name="stella-live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=url, app=app, sandbox_url=running_sandbox.url if running_sandbox else None,
                         sandbox_app=sandbox_app)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        if running_sandbox is not None:
            running_sandbox.stop()
        with app.app_context():
            db.engine.dispose()
