"""`flask tokens ...`: key management and a one-off refresh, through the same services the app uses."""

from __future__ import annotations

import click
from cryptography.fernet import Fernet
from flask.cli import AppGroup

from stella.crypto import TokenDecryptionError
from stella.extensions import db
from stella.models.types import now_utc
from stella.services.errors import settle
from stella.services.tokens import refresh_expiring_tokens, rotate_encryption_key

cli_group = AppGroup("tokens", help="Encryption keys and platform tokens.")


@cli_group.command("generate-key")
def generate_key() -> None:
    """Print a new Fernet key (put it first in STELLA_ENCRYPTION_KEYS, keep the old one after it, then rotate)."""
    click.echo(Fernet.generate_key().decode())


@cli_group.command("rotate-key")
def rotate_key() -> None:
    """Re-encrypt every stored token and secret under the first key of STELLA_ENCRYPTION_KEYS."""
    try:
        summary = rotate_encryption_key()
        settle()
    except TokenDecryptionError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    tables = ", ".join(f"{table}: {count}" for table, count in sorted(summary.rows.items())) or "nothing stored"
    click.echo(f"Re-encrypted {summary.values} value(s) under the first key ({tables}).")
    click.echo("Older keys can be removed from STELLA_ENCRYPTION_KEYS once every process runs with this list.")


@cli_group.command("refresh")
def refresh() -> None:
    """Refresh every token that is close to expiring, once, and print a summary."""
    summary = refresh_expiring_tokens(now=now_utc())
    settle()
    click.echo(f"Token refresh: {summary}.")
    for label in summary.failed:
        click.echo(f"  failed: {label} (marked for reconnect)")
    for label in summary.deferred:
        click.echo(f"  deferred: {label} (temporary platform problem; will retry)")
