"""The sign-in form. Helpers shared by every form live in `stella.web.forms`."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length


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

