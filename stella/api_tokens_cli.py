"""`flask api-tokens …`: create, list and revoke a user's personal API tokens, through the same service as the page.

`create` prints the token alone on the last line of its output, so a script can take it with `tail -n 1`.
"""

from __future__ import annotations

import uuid

import click
from flask.cli import AppGroup

from stella.extensions import db
from stella.models import User
from stella.models.types import now_utc
from stella.services import api_tokens as token_service
from stella.services import users as user_service
from stella.services.errors import DomainError

cli_group = AppGroup("api-tokens", help="Personal API tokens (for /api/v1).")


def _user(email: str) -> User:
    user = user_service.find_user_by_email(email)
    if user is None:
        raise click.ClickException(f"No user has the email address {email.strip()!r}.")
    return user


def _fail(error: DomainError) -> click.ClickException:
    db.session.rollback()
    return click.ClickException(error.message)


@cli_group.command("create")
@click.option("--email", required=True, help="Whose token: it acts with this user's role.")
@click.option("--name", required=True, help="A label to tell the token apart later.")
def create(email: str, name: str) -> None:
    """Create a token and print it once (alone on the last line)."""
    user = _user(email)
    try:
        token, plaintext = token_service.create_api_token(user, name, now_utc())
    except DomainError as error:
        raise _fail(error) from None
    db.session.commit()
    click.echo(f"Created API token {token.name!r} (id {token.id}) for {user.email} ({user.role}).")
    click.echo("It is shown only once; Stella keeps only its hash. Send it as `Authorization: Bearer <token>`:")
    click.echo(plaintext)


@cli_group.command("list")
@click.option("--email", required=True, help="Whose tokens.")
def list_tokens(email: str) -> None:
    """List a user's tokens (never the tokens themselves: only their first characters)."""
    user = _user(email)
    tokens = token_service.list_api_tokens(user)
    if not tokens:
        click.echo(f"{user.email} has no API tokens.")
        return
    click.echo(f"{'ID':<36}  {'PREFIX':<10}  {'STATUS':<7}  {'CREATED (UTC)':<16}  {'LAST USED (UTC)':<16}  NAME")
    for token in tokens:
        status = "active" if token.revoked_at is None else "revoked"
        created = token.created_at.strftime("%Y-%m-%d %H:%M")
        used = token.last_used_at.strftime("%Y-%m-%d %H:%M") if token.last_used_at else "never"
        click.echo(f"{token.id!s:<36}  {token.prefix:<10}  {status:<7}  {created:<16}  {used:<16}  {token.name}")


@cli_group.command("revoke")
@click.option("--email", required=True, help="Whose token.")
@click.option("--id", "token_id", required=True, help="The token's id (see `flask api-tokens list`).")
def revoke(email: str, token_id: str) -> None:
    """Revoke one of a user's tokens; it stops working at once."""
    user = _user(email)
    try:
        parsed = uuid.UUID(token_id.strip())
    except ValueError:
        raise click.ClickException(f"{token_id!r} is not a token id; see `flask api-tokens list`.") from None
    try:
        token = token_service.revoke_api_token(user, parsed, now_utc())
    except DomainError as error:
        raise _fail(error) from None
    db.session.commit()
    click.echo(f"Revoked API token {token.name!r} (id {token.id}) of {user.email}.")
