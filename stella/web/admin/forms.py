"""Forms for user administration. The rules themselves live in `stella.services.users`."""

from __future__ import annotations

from flask_wtf import FlaskForm

# SelectChoice is WTForms 3.3 (tuple choices are deprecated there); types-WTForms only covers 3.2 so far.
from wtforms import PasswordField, SelectChoice, SelectField, StringField  # type: ignore[attr-defined]
from wtforms.validators import DataRequired, Length, Optional

from stella.models.user import ROLES
from stella.permissions import ROLE_DESCRIPTIONS
from stella.web.forms import CsrfOnlyForm

ROLE_CHOICES = [SelectChoice(role, role.capitalize()) for role in ROLES]


class CreateUserForm(FlaskForm):
    email = StringField(
        "Email", validators=[DataRequired("Enter an email address.")], render_kw={"autocomplete": "off"}
    )
    display_name = StringField("Display name", validators=[Optional(), Length(max=120)])
    # The service validates the role, so a tampered value gets the same clear message as everywhere else.
    role = SelectField("Role", choices=ROLE_CHOICES, default="staff", validate_choice=False)
    password = PasswordField(
        "Initial password",
        validators=[Optional()],
        render_kw={"autocomplete": "new-password"},
        description="Leave empty to generate a strong password that is shown to you once.",
    )


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES, validate_choice=False)


class ConfirmForm(CsrfOnlyForm):
    """The deactivate/reactivate buttons."""


def role_help() -> str:
    return " · ".join(f"{role.capitalize()}: {ROLE_DESCRIPTIONS[role].lower()}" for role in ROLES)
