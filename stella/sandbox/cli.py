"""`flask sandbox run`: serve the built-in platform sandbox."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from stella.config import get_config

cli_group = click.Group("sandbox", help="The built-in stand-in for the 11 platforms.")


@cli_group.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5055, show_default=True, type=int)
@click.option("--db", "db_path", default=None, help="SQLite file for sandbox state (default: instance/sandbox.db).")
@click.option("--latency-ms", default=0, show_default=True, type=click.IntRange(min=0))
@click.option("--fault-rate", default=0.0, show_default=True, type=click.FloatRange(0.0, 1.0),
              help="Share of API requests answered with a 503.")
@click.option("--stella-url", default=None, help="Stella's public URL (registered redirect URIs derive from it).")
@with_appcontext
def run_sandbox(host: str, port: int, db_path: str | None, latency_ms: int, fault_rate: float,
                stella_url: str | None) -> None:
    """Serve the sandbox until interrupted."""
    from werkzeug.serving import run_simple

    from stella.sandbox.core import SandboxSettings, create_sandbox_app

    config = get_config()
    path = db_path or str(Path(config.instance_path) / "sandbox.db")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    app = create_sandbox_app(
        db_path=path,
        sandbox_settings=SandboxSettings(
            stella_public_url=stella_url or config.public_url, latency_ms=latency_ms, fault_rate=fault_rate
        ),
    )
    click.echo(f"Stella sandbox on http://{host}:{port}/ (state in {path})")
    run_simple(host, port, app, threaded=True, use_reloader=False)
