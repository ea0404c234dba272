"""Sign-in: password check, throttling of repeated failures, and the server-side sessions a sign-in starts.

Throttling. Every attempt is stored in `login_attempts` (the password-change form records its checks of the current
password the same way). Two limits apply:

- Per remote address: `max_failures` failures inside the last `window` refuse every attempt from that address —
  even with the right password — until enough of those failures are older than `window`.
- Per account: failures are never a lock-out (anyone could lock anyone out by guessing). Once an account has
  `max_failures` failures since its last success, each further failure doubles the wait before the next attempt is
  considered, from `first_delay` up to `max_delay`. The owner is told about the failures on their next sign-in.

Refused attempts are not recorded, so hammering the form does not extend a wait. Attempts older than the window (or a
day, whichever is longer) no longer matter and are pruned hourly by the scheduler.

Sessions. Each sign-in adds a `user_sessions` row holding the SHA-256 of a random session id; the cookie carries
the id (inside Flask-Login's user id, with the user's session version). A request resumes only a live, unrevoked
session; signing out revokes it, so a copied cookie stops working at once.
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, cast

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from stella.config import get_config
from stella.extensions import db
from stella.models import LoginAttempt, User, UserSession
from stella.services.errors import DomainError
from stella.services.users import MAX_EMAIL_LENGTH, WrongCurrentPasswordError, change_password, find_user_by_email

log = logging.getLogger(__name__)

INVALID_CREDENTIALS_MESSAGE = "The email address or password is not correct."
DEACTIVATED_MESSAGE = "This account has been deactivated. Ask an administrator to reactivate it."
# Stored addresses are capped so a hostile form cannot fill the table with megabytes per row.
_MAX_STORED_EMAIL = MAX_EMAIL_LENGTH
_MAX_STORED_ADDRESS = 64
_MAX_STORED_USER_AGENT = 512
# Attempts are kept at least this long, even with a shorter window, so recent sign-in activity can be looked into
# (and an account's run of failures is remembered across windows).
MIN_ATTEMPT_RETENTION = timedelta(days=1)
# Waits up to this long are stated in seconds, longer ones in minutes.
_SECONDS_SHOWN_UP_TO = 120
# Caps the doubling so a long run of failures cannot overflow a timedelta.
_MAX_DOUBLINGS = 20

# A session ends after this long without a request, and this long after sign-in whatever happens.
SESSION_IDLE_TIMEOUT = timedelta(days=7)
SESSION_MAX_AGE = timedelta(days=30)
# `last_seen_at` is rewritten at most this often, so reading pages does not write on every request.
LAST_SEEN_RESOLUTION = timedelta(minutes=10)
# Ended sessions (revoked or expired) are pruned this long after they ended.
ENDED_SESSION_RETENTION = timedelta(days=1)


class SignInError(DomainError):
    """Sign-in refused; the message never tells whether the account exists."""


class InvalidCredentialsError(SignInError):
    pass


class AccountDeactivatedError(SignInError):
    pass


class TooManyAttemptsError(SignInError):
    def __init__(self, retry_after: timedelta) -> None:
        seconds = max(1, math.ceil(retry_after.total_seconds()))
        if seconds <= _SECONDS_SHOWN_UP_TO:
            wait = f"{seconds} second{'' if seconds == 1 else 's'}"
        else:
            minutes = math.ceil(seconds / 60)
            wait = f"{minutes} minute{'' if minutes == 1 else 's'}"
        super().__init__(f"Too many failed sign-in attempts. Try again in {wait}.")
        self.retry_after = retry_after
        # Whole seconds, rounded up: what a Retry-After header says.
        self.seconds = seconds


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    # Per account, beyond `max_failures`: the first wait, doubled by each further failure up to `max_delay`.
    first_delay: timedelta = timedelta(seconds=2)
    max_delay: timedelta = timedelta(minutes=2)


def configured_policy() -> ThrottlePolicy:
    """The throttle limits of the running app (Config.login_max_failures / login_window_minutes)."""
    config = get_config()
    return ThrottlePolicy(
        max_failures=config.login_max_failures, window=timedelta(minutes=config.login_window_minutes)
    )


@dataclass(frozen=True)
class FailedSignIns:
    """Failed attempts on one account: how many, and when and from where the latest came."""

    count: int
    latest_at: datetime
    latest_from: str


@dataclass(frozen=True)
class SignIn:
    """A successful sign-in: the user (its `session_token` set for Flask-Login), the new server-side session,
    and the failures on the account since the previous sign-in, to tell the owner about."""

    user: User
    session: UserSession
    failed_attempts: FailedSignIns | None


@dataclass(frozen=True)
class LiveSession:
    user: User
    session: UserSession


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Checked against when the email is unknown, so both answers take as long as a real check.
    return generate_password_hash("stella-timing-equaliser")


def _address(remote_addr: str | None) -> str:
    return (remote_addr or "unknown")[:_MAX_STORED_ADDRESS]


def _account_key(email: str | None) -> str:
    return (email or "").strip().lower()[:_MAX_STORED_EMAIL]


def sign_in(
    email: str, password: str, *, remote_addr: str, user_agent: str, now: datetime, policy: ThrottlePolicy
) -> SignIn:
    """Check the credentials (throttled), start a server-side session and gather the failures the owner should
    hear about. Raises a `SignInError`; the caller commits on failure as well as success (the attempt is recorded).
    """
    user = authenticate(email, password, remote_addr=remote_addr, now=now, policy=policy)
    failed = failed_sign_ins(user.email, since=user.last_login_at, now=now)
    user.last_login_at = now
    session = start_session(user, remote_addr=remote_addr, user_agent=user_agent, now=now)
    return SignIn(user=user, session=session, failed_attempts=failed)


def authenticate(
    email: str, password: str, *, remote_addr: str, now: datetime, policy: ThrottlePolicy
) -> User:
    """Return the active user these credentials belong to, or raise a `SignInError`.

    The attempt is recorded (flushed, not committed): the caller commits on failure as well as success.
    """
    key = _account_key(email)
    addr = _address(remote_addr)
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
    return user


def change_own_password(
    user: User,
    *,
    current_password: str,
    new_password: str,
    confirm_password: str,
    remote_addr: str,
    user_agent: str,
    now: datetime,
    policy: ThrottlePolicy,
) -> UserSession:
    """The signed-in user's password change, throttled like sign-in: the check of the current password is an
    attempt at the password, recorded and limited the same way.

    Every session of the user ends; the returned one replaces the caller's (its id is set on `user` for
    Flask-Login). Raises `TooManyAttemptsError` or `WrongCurrentPasswordError` — after which the caller commits, to
    keep the recorded failure — or another `DomainError` for the new password, after which it rolls back.
    """
    key = _account_key(user.email)
    addr = _address(remote_addr)
    retry_after = lockout_remaining(key, addr, now=now, policy=policy)
    if retry_after is not None:
        raise TooManyAttemptsError(retry_after)
    try:
        change_password(
            user,
            current_password=current_password,
            new_password=new_password,
            confirm_password=confirm_password,
            now=now,
        )
    except WrongCurrentPasswordError:
        _record(key, addr, succeeded=False, now=now)
        raise
    _record(key, addr, succeeded=True, now=now)
    return start_session(user, remote_addr=remote_addr, user_agent=user_agent, now=now)


def lockout_remaining(email: str, remote_addr: str, *, now: datetime, policy: ThrottlePolicy) -> timedelta | None:
    """How long attempts stay refused for this account or address, or None when one is allowed."""
    waits = [_account_wait(email, now=now, policy=policy), _address_wait(remote_addr, now=now, policy=policy)]
    return max((wait for wait in waits if wait is not None), default=None)


def _address_wait(remote_addr: str, *, now: datetime, policy: ThrottlePolicy) -> timedelta | None:
    # Address failures are never reset by a success: an attacker could sign in to their own account.
    # The newest `max_failures` failures in the window; the lock lifts when the oldest of them ages out.
    query = (
        sa.select(LoginAttempt.created_at)
        .where(
            LoginAttempt.remote_addr == remote_addr,
            LoginAttempt.succeeded.is_(False),
            LoginAttempt.created_at > now - policy.window,
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


def _account_wait(email: str, *, now: datetime, policy: ThrottlePolicy) -> timedelta | None:
    # The account's run of failures since its last success (a success proves the password was known). The run is
    # remembered as long as attempts are kept, so pacing guesses to the window does not reset the doubling.
    since = now - max(policy.window, MIN_ATTEMPT_RETENTION)
    last_success = _last_success(email, now=now)
    if last_success is not None and last_success > since:
        since = last_success
    count, latest = db.session.execute(
        sa.select(sa.func.count(), sa.func.max(LoginAttempt.created_at)).where(
            LoginAttempt.email == email,
            LoginAttempt.succeeded.is_(False),
            LoginAttempt.created_at > since,
            LoginAttempt.created_at <= now,
        )
    ).one()
    if count < policy.max_failures or latest is None:
        return None
    doublings = min(count - policy.max_failures, _MAX_DOUBLINGS)
    delay = min(policy.first_delay * 2**doublings, policy.max_delay)
    remaining = latest + delay - now
    return remaining if remaining > timedelta(0) else None


def _last_success(email: str, *, now: datetime) -> datetime | None:
    found: datetime | None = db.session.scalar(
        sa.select(sa.func.max(LoginAttempt.created_at)).where(
            LoginAttempt.email == email, LoginAttempt.succeeded.is_(True), LoginAttempt.created_at <= now
        )
    )
    return found


def failed_sign_ins(email: str, *, since: datetime | None, now: datetime) -> FailedSignIns | None:
    """Failed attempts on the account `email` after `since` (all that are kept when None), or None if there were
    none. Attempts are kept for a day or so, so after a long absence this is the recent ones only."""
    conditions = [
        LoginAttempt.email == _account_key(email),
        LoginAttempt.succeeded.is_(False),
        LoginAttempt.created_at <= now,
    ]
    if since is not None:
        conditions.append(LoginAttempt.created_at > since)
    count = db.session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt).where(*conditions)) or 0
    if not count:
        return None
    latest = db.session.scalars(
        sa.select(LoginAttempt).where(*conditions).order_by(LoginAttempt.created_at.desc()).limit(1)
    ).one()
    return FailedSignIns(count=count, latest_at=latest.created_at, latest_from=latest.remote_addr)


def _record(email: str, remote_addr: str, *, succeeded: bool, now: datetime) -> None:
    db.session.add(LoginAttempt(email=email, remote_addr=remote_addr, succeeded=succeeded, created_at=now))
    db.session.flush()


# -- sessions -------------------------------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User, *, remote_addr: str, user_agent: str, now: datetime) -> UserSession:
    """Record a new session for `user` and set its random id on `user.session_token` (for Flask-Login's cookie)."""
    token = secrets.token_urlsafe(32)
    session = UserSession(
        user_id=user.id,
        token_hash=_token_hash(token),
        remote_addr=_address(remote_addr),
        user_agent=(user_agent or "")[:_MAX_STORED_USER_AGENT],
        created_at=now,
        last_seen_at=now,
    )
    db.session.add(session)
    db.session.flush()
    user.session_token = token
    return session


def session_is_live(session: UserSession, *, now: datetime) -> bool:
    """Not revoked, used within the idle timeout, and younger than the maximum age."""
    return (
        session.revoked_at is None
        and now - session.last_seen_at < SESSION_IDLE_TIMEOUT
        and now - session.created_at < SESSION_MAX_AGE
    )


def resume_session(session_id: str, *, now: datetime) -> LiveSession | None:
    """The live session that Flask-Login's id string (`user id:session version:session id`) names, or None.

    None too when the user is deactivated or the session version moved on (password changed elsewhere). Reads only.
    """
    user_id, _, rest = (session_id or "").partition(":")
    version, _, token = rest.partition(":")
    if not token:
        return None  # an id from before server-side sessions, or a forged one
    session = db.session.scalar(sa.select(UserSession).where(UserSession.token_hash == _token_hash(token)))
    if session is None or str(session.user_id) != user_id or not session_is_live(session, now=now):
        return None
    user = db.session.get(User, session.user_id)
    if user is None or not user.is_active or str(user.session_version) != version:
        return None
    user.session_token = token
    return LiveSession(user=user, session=session)


def touch_session(session: UserSession, *, now: datetime) -> bool:
    """Move `last_seen_at` to `now` when it is more than `LAST_SEEN_RESOLUTION` old; True when it changed
    (flushed; the caller commits)."""
    if now - session.last_seen_at < LAST_SEEN_RESOLUTION:
        return False
    session.last_seen_at = now
    db.session.flush()
    return True


def end_session(user: User, *, now: datetime) -> bool:
    """Revoke the session `user` is signed in with (sign-out); True when there was one to revoke."""
    if not user.session_token:
        return False
    statement = (
        sa.update(UserSession)
        .where(
            UserSession.token_hash == _token_hash(user.session_token),
            UserSession.user_id == user.id,
            UserSession.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    result = cast(sa.CursorResult[Any], db.session.execute(statement, execution_options={"synchronize_session": False}))
    user.session_token = None
    return bool(result.rowcount)


def prune_user_sessions(now: datetime) -> int:
    """Delete sessions that ended (revoked, idle too long or too old) more than `ENDED_SESSION_RETENTION` ago;
    return how many went. Flushes via a bulk DELETE; the caller (the scheduler job) commits."""
    cutoff = now - ENDED_SESSION_RETENTION
    statement = sa.delete(UserSession).where(
        sa.or_(
            UserSession.revoked_at < cutoff,
            UserSession.last_seen_at < cutoff - SESSION_IDLE_TIMEOUT,
            UserSession.created_at < cutoff - SESSION_MAX_AGE,
        )
    )
    result = cast(sa.CursorResult[Any], db.session.execute(statement, execution_options={"synchronize_session": False}))
    removed = result.rowcount
    if removed:
        log.info("pruned %d ended sessions", removed)
    return removed


def prune_login_attempts(now: datetime, *, policy: ThrottlePolicy | None = None) -> int:
    """Delete attempts older than max(throttle window, one day); return how many went.

    Throttling only ever looks inside that span, so older rows decide nothing; without pruning the table grows
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
