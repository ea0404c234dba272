"""What YouTube and Google Business Profile share: Google's OAuth endpoints and Google's API error shape.

Both platforms sign in through the same Google authorization server, so the declarations, the revoke call and the
error classifier live here once. Google's documentation, cited below by the names in brackets:
- [Google OAuth] https://developers.google.com/identity/protocols/oauth2/web-server
- [Quota costs] https://developers.google.com/youtube/v3/determine_quota_cost
- [YouTube errors] https://developers.google.com/youtube/v3/docs/errors
- [Google error model] https://cloud.google.com/apis/design/errors
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests

from stella.providers.base import Provider, TokenSet, retry_after_seconds, safe_json
from stella.providers.errors import (
    AuthExpiredError,
    ProviderError,
    RateLimitedError,
    RejectedError,
    TransientError,
)

GOOGLE_AUTHORIZE_URL = "https://accounts.google.com/o/oauth2/v2/auth"
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
GOOGLE_REVOKE_URL = "https://oauth2.googleapis.com/revoke"

# [Quota costs]: daily quotas reset at midnight Pacific time.
QUOTA_TIMEZONE = "America/Los_Angeles"
# [YouTube errors] uploadLimitExceeded: a 24-hour per-channel cap (the wait is as YouTube news reported it).
UPLOAD_LIMIT_WAIT = timedelta(hours=24)

_AUTH_REASONS = frozenset({"authError", "unauthorized", "invalidCredentials"})
_RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED"})
_QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})


class GoogleProvider(Provider):
    """Google's OAuth 2 web-server flow; subclasses add their scopes and APIs."""

    authorize_url = GOOGLE_AUTHORIZE_URL
    token_url = GOOGLE_TOKEN_URL
    revoke_url = GOOGLE_REVOKE_URL
    revocable = True
    scope_separator = " "
    # Google accepts S256 PKCE from web clients too; the client secret is still required.
    uses_pkce = True
    client_auth = "body"
    # [Google OAuth]: offline access returns a refresh token, and `prompt=consent` makes Google send it on every
    # connection, not only the first one.
    extra_authorize_params: ClassVar[Mapping[str, str]] = {"access_type": "offline", "prompt": "consent"}
    refresh_margin = timedelta(minutes=10)

    def revoke(self, tokens: TokenSet) -> None:
        """Revoke the grant; revoking the refresh token also ends every access token made from it."""
        token = tokens.refresh_token or tokens.access_token
        try:
            self.http.request(
                "POST",
                self.revoke_url or GOOGLE_REVOKE_URL,
                data={"token": token},
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                classify=self.classify_token_error,
            )
        except RejectedError as exc:
            # Google answers 400 invalid_token for a token that is already expired or revoked: nothing left to do.
            if exc.code != "invalid_token":
                raise

    def classify_error(self, response: requests.Response) -> ProviderError:
        return classify_google_error(self, response)


def google_error_parts(body: Mapping[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(message, status, reason) from `{"error": {"code", "message", "status", "errors": [{"reason"}], "details"}}`."""
    error = body.get("error")
    if not isinstance(error, Mapping):
        return None, None, None
    message = error.get("message") if isinstance(error.get("message"), str) else None
    status = error.get("status") if isinstance(error.get("status"), str) else None
    reason: str | None = None
    errors = error.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
        raw = errors[0].get("reason")
        reason = raw if isinstance(raw, str) else None
    # Newer APIs put the machine-readable reason in an ErrorInfo detail (e.g. SERVICE_DISABLED).
    details = error.get("details")
    if isinstance(details, list):
        for detail in details:
            if isinstance(detail, Mapping) and str(detail.get("@type", "")).endswith("google.rpc.ErrorInfo"):
                info_reason = detail.get("reason")
                if isinstance(info_reason, str) and (reason is None or info_reason == "SERVICE_DISABLED"):
                    reason = info_reason
    return message, status, reason


def seconds_until_quota_reset(now: datetime) -> float | None:
    """Seconds from `now` to the next midnight Pacific time, when Google's daily quotas refill."""
    try:
        pacific = ZoneInfo(QUOTA_TIMEZONE)
    except ZoneInfoNotFoundError:
        return None
    local = now.astimezone(pacific)
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(60.0, (midnight - local).total_seconds())


def classify_google_error(provider: Provider, response: requests.Response) -> ProviderError:
    """[YouTube errors], [Google error model]: branch on `errors[0].reason` / `status`, never on the message."""
    status_code = response.status_code
    message, status, reason = google_error_parts(safe_json(response))
    name = provider.display_name
    text = message or response.reason or f"HTTP {status_code}"
    code = reason or status

    if status_code == 401 or status == "UNAUTHENTICATED" or reason in _AUTH_REASONS:
        return AuthExpiredError(f"{name} no longer accepts Stella's access: {text}", platform=provider.name, code=code)
    if reason in _QUOTA_REASONS:
        return RateLimitedError(
            f"{name}'s daily API quota for this project is used up; it refills at midnight Pacific time.",
            retry_after=seconds_until_quota_reset(provider.clock()),
            platform=provider.name,
            code=code,
        )
    if reason == "uploadLimitExceeded":
        return RateLimitedError(
            f"This channel reached {name}'s 24-hour upload limit.",
            retry_after=UPLOAD_LIMIT_WAIT.total_seconds(),
            platform=provider.name,
            code=code,
        )
    if status_code == 429 or status == "RESOURCE_EXHAUSTED" or reason in _RATE_REASONS:
        return RateLimitedError(
            f"{name} is rate limiting requests.",
            retry_after=retry_after_seconds(response),
            platform=provider.name,
            code=code,
        )
    if status_code >= 500:
        return TransientError(f"{name} is having trouble ({status_code}).", platform=provider.name, code=code)
    if reason == "youtubeSignupRequired":
        return RejectedError(
            "This Google account has no YouTube channel yet: create one on youtube.com, then try again.",
            platform=provider.name,
            code=code,
        )
    if reason == "SERVICE_DISABLED":
        return RejectedError(
            f"A Google API {name} needs is not enabled in the Google Cloud project: {text}",
            platform=provider.name,
            code=code,
        )
    return RejectedError(f"{name} refused the request: {text}", platform=provider.name, code=code)
