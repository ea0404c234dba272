"""Forms for the API tokens page. The rules for a token's name live in `stella.services.api_tokens`."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired

from stella.services.api_tokens import NAME_MAX_LENGTH


class CreateTokenForm(FlaskForm):
    name = StringField(
        "Token name",
        validators=[DataRequired("Give the token a name, so you can tell it apart later.")],
        render_kw={"maxlength": NAME_MAX_LENGTH, "autocomplete": "off", "placeholder": "Listing import script"},
        description="Name it after the script or service that will use it.",
    )
