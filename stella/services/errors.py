"""Errors whose messages are safe to show a user."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the domain refused the request; `str(error)` is safe to show."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationError(DomainError):
    pass


class NotFoundError(DomainError):
    pass


class PermissionDeniedError(DomainError):
    pass


class ConflictError(DomainError):
    pass
