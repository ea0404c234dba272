"""Forms of the Connections pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, RadioField, StringField
from wtforms.validators import DataRequired, Length

from stella.services.connections import DEFAULT_BLUESKY_SERVICE


class BlueskyConnectForm(FlaskForm):
    handle = StringField(
        "Handle",
        validators=[DataRequired("Enter your Bluesky handle."), Length(max=253, message="That handle is too long.")],
        render_kw={"placeholder": "harborvine.bsky.social", "autocomplete": "username", "autocapitalize": "none"},
    )
    # Used once to create a session; never stored, logged or sent back to the browser.
    app_password = PasswordField(
        "App password",
        validators=[DataRequired("Enter an app password."), Length(max=128, message="That app password is too long.")],
        render_kw={"placeholder": "xxxx-xxxx-xxxx-xxxx", "autocomplete": "off"},
    )
    service = StringField(
        "Server",
        default=DEFAULT_BLUESKY_SERVICE,
        validators=[Length(max=253, message="That server address is too long.")],
    )


class MastodonInstanceForm(FlaskForm):
    """Sent by GET to the connect URL (`?instance=`), so no CSRF token: it only starts a sign-in."""

    class Meta:
        csrf = False

    instance = StringField(
        "Your server",
        validators=[DataRequired("Type the address of your server."), Length(max=253)],
        render_kw={"placeholder": "https://mastodon.social", "autocapitalize": "none"},
    )


class TargetForm(FlaskForm):
    target = RadioField("Publish to", validators=[DataRequired("Choose one of the listed accounts.")],
                        validate_choice=False)


class DisconnectForm(FlaskForm):
    """Only the CSRF token."""
