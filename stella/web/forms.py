"""Form helpers every blueprint shares: showing a service's `DomainError`, and the CSRF-only form."""

from __future__ import annotations

from flask_wtf import FlaskForm

from stella.services.errors import DomainError


class CsrfOnlyForm(FlaskForm):
    """No fields, only the CSRF token: for buttons that post an action (connect, deactivate, disconnect, ...)."""


def show_domain_error(form: FlaskForm, error: DomainError) -> None:
    """Put a service's message under the field it names, or at the top of the form."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None and hasattr(field, "errors"):
        # WTForms makes `errors` a tuple until validation has run; a list is needed to append.
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)
