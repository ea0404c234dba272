"""Errors whose messages are safe to show a user, and the one way every caller ends its transaction."""

from __future__ import annotations

from stella.extensions import db


class DomainError(Exception):
    """A rule of the domain refused the request; `str(error)` is safe to show.

    `keep_changes` says whether what the service did before refusing stands and must be committed (a spent OAuth
    state, a connection marked `error`, an app registered on a Mastodon server, an audit row); otherwise the caller
    rolls everything back. Each class has a default; a raise site may say otherwise.
    """

    keep_changes: bool = False

    def __init__(self, message: str, *, field: str | None = None, keep_changes: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if keep_changes is not None:
            self.keep_changes = keep_changes


class ValidationError(DomainError):
    pass


class NotFoundError(DomainError):
    pass


class PermissionDeniedError(DomainError):
    pass


class ConflictError(DomainError):
    pass


def settle(error: DomainError | None = None) -> None:
    """End the unit of work the way views, commands and jobs all must: commit a success and a refusal whose side
    effects stand (`error.keep_changes`), roll back any other refusal. Services only flush; this is the commit."""
    if error is None or error.keep_changes:
        db.session.commit()
    else:
        db.session.rollback()
