"""What the two Google stand-ins (YouTube, Google Business Profile) share: Google's error envelope, its answers to a
bad access token, and fault answers built from each API's own messages.

Rules follow https://developers.google.com/youtube/v3/docs/errors (YouTube's `errors[].reason`) and Google's error
model https://cloud.google.com/apis/design/errors (`status` strings, used by the Business Profile APIs). The Google
sign-in itself is served by youtube.py (the OAuth hosts can belong to one sandbox platform only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Response

from stella.sandbox import core
from stella.sandbox.store import Token

_STATUS_FOR_CODE = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                    429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}
INVALID_CREDENTIALS = ("Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
                       "other valid authentication credential.")


def google_error(
    code: int,
    message: str,
    *,
    reason: str | None = None,
    domain: str = "global",
    status: str | None = None,
    headers: dict[str, str] | None = None,
    details: list[dict[str, Any]] | None = None,
) -> Response:
    """`{"error": {"code", "message", "errors": [{"message", "domain", "reason"}], "status"}}`."""
    error: dict[str, Any] = {"code": code, "message": message}
    if reason:
        error["errors"] = [{"message": message, "domain": domain, "reason": reason}]
    error["status"] = status or _STATUS_FOR_CODE.get(code, "UNKNOWN")
    if details:
        error["details"] = details
    return core.json_error(code, {"error": error}, headers)


def invalid_credentials() -> Response:
    """Google's front end refusing a missing, expired or revoked access token, whichever API was called."""
    return google_error(
        401,
        f"{INVALID_CREDENTIALS} See https://developers.google.com/identity/sign-in/web/devconsole-project.",
        reason="authError",
        status="UNAUTHENTICATED",
    )


def google_access(platform: str, *, any_of: tuple[str, ...]) -> Token | Response:
    """The caller's live token for `platform` holding one of `any_of` scopes, or Google's 401/403 answer."""
    value = core.bearer_token()
    if not value:
        return google_error(
            401, "Request is missing required authentication credential. Expected OAuth 2 access token, login "
            "cookie or other valid authentication credential.", reason="required", status="UNAUTHENTICATED")
    token = core.store().token(platform, value)
    if token is None or token.revoked_at is not None or token.access_expired(core.now()):
        return invalid_credentials()
    if not set(token.scopes) & set(any_of):
        return google_error(403, "Request had insufficient authentication scopes.",
                            reason="insufficientPermissions", status="PERMISSION_DENIED")
    return token


@dataclass(frozen=True)
class GoogleFaults:
    """One Google API's answers to injected faults: Google's envelope, that API's messages and reasons."""

    rate_message: str
    rejection_message: str  # `{reason}` stands for the fault's reason
    rejection_reason: str
    rejection_domain: str = "global"
    rate_reason: str | None = None
    rate_domain: str = "global"
    backend_reason: str | None = None  # YouTube names a failing backend; Business Profile only gives a status
    unavailable_status: str | None = None  # the status of a 5xx other than 500; None: the one its code maps to

    def rate_limited(self, retry_after: int = 60) -> Response:
        return google_error(429, self.rate_message, reason=self.rate_reason, domain=self.rate_domain,
                            headers={"Retry-After": str(retry_after)})

    def rejection(self, reason: str = "rejected") -> Response:
        return google_error(400, self.rejection_message.replace("{reason}", reason), reason=self.rejection_reason,
                            domain=self.rejection_domain)

    def server_error(self, status: int = 503) -> Response:
        if status == 500:
            return google_error(500, "Internal error encountered.", reason=self.backend_reason)
        return google_error(status, "The service is currently unavailable.", reason=self.backend_reason,
                            status=self.unavailable_status)
