"""Sign-in: password check and throttling of repeated failures.

Every attempt is stored in `login_attempts`. When an account (by email) or a remote address has
`max_failures` failures inside the last `window`, further attempts are refused — even with the right
password — until enough of those failures are older than `window`. Refused attempts are not recorded,
so hammering the form does not extend the lock-out. Attempts older than the window (or a day, whichever is
longer) no longer matter and are pruned hourly by the scheduler.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, cast

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from stella.config import get_config
from stella.extensions import db
from stella.models import LoginAttempt, User
from stella.services.errors import DomainError
from stella.services.users import MAX_EMAIL_LENGTH, find_user_by_email

log = logging.getLogger(__name__)

INVALID_CREDENTIALS_MESSAGE = "The email address or password is not correct."
DEACTIVATED_MESSAGE = "This account has been deactivated. Ask an administrator to reactivate it."
# Stored addresses are capped so a hostile form cannot fill the table with megabytes per row.
_MAX_STORED_EMAIL = MAX_EMAIL_LENGTH
# Attempts are kept at least this long, even with a shorter window, so recent sign-in activity can be looked into.
MIN_ATTEMPT_RETENTION = timedelta(days=1)


class SignInError(DomainError):
    """Sign-in refused; the message never tells whether the account exists."""


class InvalidCredentialsError(SignInError):
    pass


class AccountDeactivatedError(SignInError):
    pass


class TooManyAttemptsError(SignInError):
    def __init__(self, retry_after: timedelta) -> None:
        minutes = max(1, math.ceil(retry_after.total_seconds() / 60))
        unit = "minute" if minutes == 1 else "minutes"
        super().__init__(f"Too many failed sign-in attempts. Try again in {minutes} {unit}.")
        self.retry_after = retry_after
        self.minutes = minutes


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)


def configured_policy() -> ThrottlePolicy:
    """The throttle limits of the running app (Config.login_max_failures / login_window_minutes)."""
    config = get_config()
    return ThrottlePolicy(
        max_failures=config.login_max_failures, window=timedelta(minutes=config.login_window_minutes)
    )


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Checked against when the email is unknown, so both answers take as long as a real check.
    return generate_password_hash("stella-timing-equaliser")


def authenticate(
    email: str, password: str, *, remote_addr: str, now: datetime, policy: ThrottlePolicy
) -> User:
    """Return the active user these credentials belong to, or raise a `SignInError`.

    The attempt is recorded (flushed, not committed): the caller commits on failure as well as success.
    """
    key = (email or "").strip().lower()[:_MAX_STORED_EMAIL]
    addr = (remote_addr or "unknown")[:64]
    retry_after = lockout_remaining(key, addr, now=now, policy=policy)
    if retry_after is not None:
        raise TooManyAttemptsError(retry_after)

    user = find_user_by_email(key) if key else None
    if user is None:
        check_password_hash(_dummy_hash(), password or "")
        _record(key, addr, succeeded=False, now=now)
        raise InvalidCredentialsError(INVALID_CREDENTIALS_MESSAGE)
    if not check_password_hash(user.password_hash, password or ""):
        _record(key, addr, succeeded=False, now=now)
        raise InvalidCredentialsError(INVALID_CREDENTIALS_MESSAGE)
    if not user.is_active:
        # Only someone who knows the password learns the account is deactivated.
        _record(key, addr, succeeded=False, now=now)
        raise AccountDeactivatedError(DEACTIVATED_MESSAGE)

    _record(key, addr, succeeded=True, now=now)
    user.last_login_at = now
    db.session.flush()
    return user


def lockout_remaining(email: str, remote_addr: str, *, now: datetime, policy: ThrottlePolicy) -> timedelta | None:
    """How long sign-in stays refused for this account or address, or None when it is allowed."""
    since = now - policy.window
    # A success proves the password was known, so account failures before it stop counting.
    last_success = db.session.scalar(
        sa.select(sa.func.max(LoginAttempt.created_at)).where(
            LoginAttempt.email == email, LoginAttempt.succeeded.is_(True), LoginAttempt.created_at > since
        )
    )
    account_since = max(since, last_success) if last_success else since
    # Address failures are never reset by a success: an attacker could sign in to their own account.
    waits = [
        _wait(LoginAttempt.email == email, account_since, now=now, policy=policy),
        _wait(LoginAttempt.remote_addr == remote_addr, since, now=now, policy=policy),
    ]
    return max((wait for wait in waits if wait is not None), default=None)


def _wait(
    condition: sa.ColumnElement[bool], since: datetime, *, now: datetime, policy: ThrottlePolicy
) -> timedelta | None:
    # The newest `max_failures` failures in the window; the lock lifts when the oldest of them ages out.
    query = (
        sa.select(LoginAttempt.created_at)
        .where(
            condition,
            LoginAttempt.succeeded.is_(False),
            LoginAttempt.created_at > since,
            LoginAttempt.created_at <= now,
        )
        .order_by(LoginAttempt.created_at.desc())
        .limit(policy.max_failures)
    )
    times = list(db.session.scalars(query))
    if len(times) < policy.max_failures:
        return None
    remaining = times[-1] + policy.window - now
    return remaining if remaining > timedelta(0) else None


def _record(email: str, remote_addr: str, *, succeeded: bool, now: datetime) -> None:
    db.session.add(LoginAttempt(email=email, remote_addr=remote_addr, succeeded=succeeded, created_at=now))
    db.session.flush()


def prune_login_attempts(now: datetime, *, policy: ThrottlePolicy | None = None) -> int:
    """Delete attempts older than max(throttle window, one day); return how many went.

    Throttling only ever looks inside the window, so older rows decide nothing; without pruning the table grows
    with every sign-in for ever. Flushes via a bulk DELETE; the caller (the scheduler job) commits.
    """
    window = (policy or configured_policy()).window
    cutoff = now - max(window, MIN_ATTEMPT_RETENTION)
    # No session objects to keep in step: nothing loads old attempts, so skip SQLAlchemy's synchronisation.
    statement = sa.delete(LoginAttempt).where(LoginAttempt.created_at < cutoff)
    # A DELETE returns a CursorResult (which has rowcount); Session.execute is typed for any statement.
    result = cast(sa.CursorResult[Any], db.session.execute(statement, execution_options={"synchronize_session": False}))
    removed = result.rowcount
    if removed:
        log.info("pruned %d sign-in attempts older than %s", removed, cutoff.isoformat())
    return removed
