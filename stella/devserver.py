"""`make run`: the dashboard with its scheduler, plus the built-in sandbox when no platform is configured.

With no real platform credentials in the environment, Stella starts the sandbox beside the dashboard and
routes every platform call to it, so a fresh clone can connect all 11 platforms and publish with no
accounts and no internet. Set real credentials (or STELLA_SANDBOX_URL yourself) and this does nothing extra.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from urllib.parse import urlsplit

from werkzeug.serving import WSGIRequestHandler, run_simple

from stella import create_app
from stella.config import Config, ConfigError

SANDBOX_PORT = 5055


class QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler without its banner: `Server: Stella`, not `Werkzeug/3.x Python/3.x`.

    A version in every answer only helps someone matching it against known vulnerabilities.
    """

    def version_string(self) -> str:
        return "Stella"


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = Config.from_env()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    if not config.provider_credentials and not config.sandbox_url:
        from stella.sandbox.core import SandboxSettings, create_sandbox_app
        from stella.sandbox.server import serve_in_thread

        sandbox = create_sandbox_app(
            db_path=str(Path(config.instance_path) / "sandbox.db"),
            sandbox_settings=SandboxSettings(stella_public_url=config.public_url),
        )
        running = serve_in_thread(sandbox, port=SANDBOX_PORT)
        config = config.with_overrides(sandbox_url=running.url)
        print(" * Sandbox: no platform credentials configured, so posts go to the built-in test platforms at "
              f"{running.url}/")

    try:
        app = create_app(config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if config.scheduler_enabled:
        from stella.scheduler import start_scheduler

        start_scheduler(app)
    public = urlsplit(config.public_url)
    host, port = public.hostname or "127.0.0.1", public.port or 5000
    print(f" * Stella dashboard: {config.public_url}/")
    run_simple(host, port, app, threaded=True, use_reloader=False, request_handler=QuietRequestHandler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
