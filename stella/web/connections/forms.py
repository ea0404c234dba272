"""Forms of the Connections pages. Every one that starts a sign-in carries the CSRF token: no link can start one."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, RadioField, StringField
from wtforms.validators import DataRequired, Length


class AppPasswordForm(FlaskForm):
    """Sign in with a handle and an app password (platforms whose `auth_style` is "app_password")."""

    handle = StringField(
        "Handle",
        validators=[DataRequired("Enter your handle."), Length(max=253, message="That handle is too long.")],
        render_kw={"autocomplete": "username", "autocapitalize": "none"},
    )
    # Used once to create a session; never stored, logged or sent back to the browser.
    app_password = PasswordField(
        "App password",
        validators=[DataRequired("Enter an app password."), Length(max=128, message="That app password is too long.")],
        render_kw={"placeholder": "xxxx-xxxx-xxxx-xxxx", "autocomplete": "off"},
    )
    service = StringField(
        "Server",
        validators=[Length(max=253, message="That server address is too long.")],
    )


class InstanceForm(FlaskForm):
    """The user's server, for platforms that register Stella per server (`needs_instance`)."""

    instance = StringField(
        "Your server",
        validators=[DataRequired("Type the address of your server."), Length(max=253)],
        render_kw={"placeholder": "https://mastodon.social", "autocapitalize": "none"},
    )


class TargetForm(FlaskForm):
    target = RadioField("Publish to", validators=[DataRequired("Choose one of the listed accounts.")],
                        validate_choice=False)
