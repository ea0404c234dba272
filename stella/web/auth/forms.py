"""Sign-in form, and the helper every Stella form uses to show a service's `DomainError`."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from stella.services.errors import DomainError


class LoginForm(FlaskForm):
    email = StringField(
        "Email",
        validators=[DataRequired("Enter your email address."), Length(max=254, message="That email is too long.")],
        render_kw={"autocomplete": "username", "autofocus": True, "inputmode": "email"},
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired("Enter your password."), Length(max=256, message="That password is too long.")],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField()


def show_domain_error(form: FlaskForm, error: DomainError) -> None:
    """Put a service's message under the field it names, or at the top of the form."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None and hasattr(field, "errors"):
        # WTForms makes `errors` a tuple until validation has run; a list is needed to append.
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)
