"""`flask users …`: create and list accounts, set passwords, make the first admin.

The commands call the same services as the admin pages and commit once on success.
"""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from stella.extensions import db
from stella.models.user import ROLES
from stella.services import users as user_service
from stella.services.errors import DomainError

cli_group = AppGroup("users", help="Manage Stella user accounts.")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        # One line, so `printf '%s\n' "$PW" | flask users create … --password-stdin` works.
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise click.ClickException("No password was given on standard input.")
        return password
    return str(click.prompt("Password", hide_input=True, confirmation_prompt="Repeat password"))


def _fail(error: DomainError) -> click.ClickException:
    db.session.rollback()
    return click.ClickException(error.message)


@cli_group.command("create")
@click.option("--email", required=True, help="Sign-in email address.")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the user may do.")
@click.option("--name", "display_name", default="", help="Display name shown to the team.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of prompting.")
def create(email: str, role: str, display_name: str, password_stdin: bool) -> None:
    """Create a user with a password you choose."""
    try:
        # Check the address first so a typo fails before anyone types a password twice.
        if user_service.find_user_by_email(user_service.normalize_email(email)) is not None:
            raise click.ClickException("A user with that email address already exists.")
        password = _read_password(password_stdin)
        created = user_service.create_user(email=email, role=role, display_name=display_name, password=password)
    except DomainError as error:
        raise _fail(error) from None
    db.session.commit()
    click.echo(f"Created {created.user.email} ({created.user.role}).")


@cli_group.command("list")
def list_users() -> None:
    """List every user."""
    users = user_service.list_users()
    if not users:
        click.echo("No users yet. Run `flask users bootstrap-admin` to create the first admin.")
        return
    width = max(len(user.email) for user in users)
    click.echo(f"{'EMAIL':<{width}}  {'ROLE':<9}  {'STATUS':<11}  {'LAST SIGN-IN (UTC)':<18}  NAME")
    for user in users:
        last = user.last_login_at.strftime("%Y-%m-%d %H:%M") if user.last_login_at else "never"
        status = "active" if user.is_active else "deactivated"
        click.echo(f"{user.email:<{width}}  {user.role:<9}  {status:<11}  {last:<18}  {user.display_name}")


@cli_group.command("set-password")
@click.option("--email", required=True, help="Whose password to set.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of prompting.")
def set_password(email: str, password_stdin: bool) -> None:
    """Set a user's password (their open sessions end)."""
    user = user_service.find_user_by_email(email)
    if user is None:
        raise click.ClickException(f"No user has the email address {email.strip()!r}.")
    try:
        user_service.set_password(user, _read_password(password_stdin))
    except DomainError as error:
        raise _fail(error) from None
    db.session.commit()
    click.echo(f"Password updated for {user.email}.")


@cli_group.command("bootstrap-admin")
@click.option("--email", default=user_service.DEFAULT_ADMIN_EMAIL, show_default=True, help="The admin's email.")
def bootstrap_admin(email: str) -> None:
    """Create the first admin with a generated password, only when there are no users at all."""
    try:
        created = user_service.bootstrap_admin(email)
    except DomainError as error:
        raise _fail(error) from None
    if created is None:
        click.echo("Users already exist; nothing to do.")
        return
    db.session.commit()
    click.echo("Created the first admin. This password is shown only once; sign in and change it:")
    click.echo(f"  email:    {created.user.email}")
    click.echo(f"  password: {created.generated_password}")
