"""Typed provider errors. Messages are safe to show a user: they never contain a credential."""

from __future__ import annotations

from collections.abc import Iterable

REDACTED = "[redacted]"


class ProviderError(Exception):
    """A platform call failed. `message` is safe to show; `retryable` says whether trying later may work."""

    retryable = False

    def __init__(self, message: str, *, platform: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.platform = platform
        self.code = code  # the platform's own error code or name, when it gave one
        self.status_code: int | None = None

    def scrub(self, secrets: Iterable[str]) -> None:
        """Remove any of `secrets` that the platform echoed back into the message."""
        for secret in secrets:
            if secret and secret in self.message:
                self.message = self.message.replace(secret, REDACTED)
        self.args = (self.message,)

    def __str__(self) -> str:
        return self.message


class AuthExpiredError(ProviderError):
    """The token is expired, revoked or invalid: refresh once, else the user must reconnect."""


class RateLimitedError(ProviderError):
    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after  # seconds, when the platform said


class TransientError(ProviderError):
    """A network failure or a server error: nothing was done, trying again later is safe."""

    retryable = True


class RejectedError(ProviderError):
    """The platform refused the request for a reason of its own (content, permissions, limits)."""


class UnknownOutcomeError(ProviderError):
    """The request was sent but no answer came back: the platform may or may not have acted."""

    retryable = True


class NotConfiguredError(ProviderError):
    """No client credentials for this platform and no sandbox."""


class UnsafeHostError(ProviderError):
    """A user-supplied server address is not allowed (SSRF guard)."""
