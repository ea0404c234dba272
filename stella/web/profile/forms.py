"""Forms for the signed-in user's own profile. Rules live in `stella.services.users`."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from stella.services.users import MIN_PASSWORD_LENGTH


class ProfileForm(FlaskForm):
    display_name = StringField("Display name", render_kw={"autocomplete": "name"})
    timezone = StringField(
        "Time zone",
        validators=[DataRequired("Choose a time zone.")],
        render_kw={"list": "timezone-options", "autocomplete": "off", "spellcheck": "false"},
        description="Scheduled times and dates are shown in this zone. Start typing a city, like Chicago or Paris.",
    )


class PasswordForm(FlaskForm):
    current_password = PasswordField(
        "Current password",
        validators=[DataRequired("Enter your current password.")],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = PasswordField(
        "New password",
        validators=[DataRequired("Enter a new password.")],
        render_kw={"autocomplete": "new-password", "minlength": MIN_PASSWORD_LENGTH},
        description=f"At least {MIN_PASSWORD_LENGTH} characters. A few unrelated words make a strong one.",
    )
    confirm_password = PasswordField(
        "Repeat new password",
        validators=[DataRequired("Repeat the new password.")],
        render_kw={"autocomplete": "new-password"},
    )
