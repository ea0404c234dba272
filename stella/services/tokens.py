"""Keeping tokens usable: proactive refresh, refresh-on-401, re-encryption under a new key, the startup key check,
and the "Reconnect" warnings the banner shows."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, TypeVar

import sqlalchemy as sa

from stella.crypto import TokenCipher, TokenDecryptionError, current_cipher
from stella.extensions import db
from stella.models import SocialAccountToken, SocialConnection, SocialPost, User
from stella.models.types import now_utc
from stella.providers.base import Account, Provider, keep_refresh_token
from stella.providers.errors import AuthExpiredError, ProviderError
from stella.services.connections import mark_error, provider_for_connection, store_tokens, token_set
from stella.services.platforms import provider_class, provider_names

log = logging.getLogger(__name__)

T = TypeVar("T")
RefreshResult = Literal["refreshed", "failed", "deferred"]

# Every encrypted column: (table, primary key, columns). Kept in one place for rotation and the startup check.
ENCRYPTED_COLUMNS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("social_account_tokens", "id", ("access_token", "refresh_token")),
    ("mastodon_apps", "id", ("client_secret",)),
    ("oauth_states", "id", ("code_verifier",)),
)


@dataclass
class RefreshSummary:
    refreshed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"refreshed {len(self.refreshed)}, failed {len(self.failed)}, deferred {len(self.deferred)}"


# -- refresh ----------------------------------------------------------------------------------------------


def refresh_expiring_tokens(now: datetime) -> RefreshSummary:
    """Refresh every connected token that expires within its platform's refresh margin.

    Each token is refreshed in its own savepoint, so one failure does not undo another's rotated refresh token.
    Failures that will not fix themselves mark the connection `error` (audited); a transient failure while the
    token is still valid is left for the next run.
    """
    summary = RefreshSummary()
    margins = {name: provider_class(name).refresh_margin for name in provider_names()}
    horizon = now + max(margins.values(), default=timedelta(0))
    candidates = db.session.execute(
        sa.select(SocialConnection)
        .join(SocialAccountToken)
        .where(
            SocialConnection.status == "connected",
            SocialAccountToken.token_expires_at.is_not(None),
            SocialAccountToken.token_expires_at <= horizon,
        )
        .order_by(SocialAccountToken.token_expires_at)
    ).scalars().all()
    for connection in candidates:
        label = f"{connection.provider}:{connection.id}"
        expires_at = connection.tokens.token_expires_at if connection.tokens else None
        if expires_at is None or expires_at > now + margins.get(connection.provider, timedelta(0)):
            continue
        try:
            provider = provider_for_connection(connection)
        except ProviderError as exc:
            mark_error(connection, f"{exc.message} Stella cannot renew this connection.", now=now,
                       action="connection.refresh_failed")
            summary.failed.append(label)
            continue
        if not provider.can_refresh(token_set(connection)):
            continue  # the banner warns before it matters
        with db.session.begin_nested():
            outcome = _refresh_locked(connection, provider, now=now, may_defer=True,
                                      renewed_if_expiring_after=now + provider.refresh_margin)
        getattr(summary, outcome).append(label)
    log.info("token refresh: %s", summary)
    return summary


def _refresh_locked(
    connection: SocialConnection, provider: Provider, *, now: datetime, may_defer: bool,
    renewed_if_expiring_after: datetime | None = None, rejected_token: str | None = None,
) -> RefreshResult:
    """Refresh one connection's token under its row lock: the one refresh both the job and refresh-on-401 use.

    Once the lock is held and the row re-read, a stored token that expires after `renewed_if_expiring_after`, or
    that is not the `rejected_token` the platform refused, was renewed by another process meanwhile: it is kept
    (with rotating refresh tokens a second refresh would spend a dead one). A failure that will not fix itself
    marks the connection `error`; with `may_defer`, a retryable one while the token still works is left for later.
    """
    _lock_tokens(connection)
    old = token_set(connection)
    if renewed_if_expiring_after is not None and old.expires_at and old.expires_at > renewed_if_expiring_after:
        return "refreshed"
    if rejected_token is not None and old.access_token and old.access_token != rejected_token:
        return "refreshed"
    if not provider.can_refresh(old):
        mark_error(connection, f"{provider.display_name} no longer accepts Stella's access. Click Reconnect.",
                   now=now, action="connection.refresh_failed")
        return "failed"
    try:
        fresh = keep_refresh_token(provider.refresh(old), old)
    except ProviderError as exc:
        exc.scrub([old.access_token, old.refresh_token or ""])
        if may_defer and exc.retryable and (old.expires_at is None or old.expires_at > now):
            log.warning("token refresh for %s deferred: %s", connection.id, type(exc).__name__)
            return "deferred"
        mark_error(connection, f"{provider.display_name} would not renew Stella's access ({exc.message}). "
                   "Click Reconnect.", now=now, action="connection.refresh_failed")
        return "failed"
    store_tokens(connection, fresh)
    return "refreshed"


def _lock_tokens(connection: SocialConnection) -> None:
    """Lock the token row (PostgreSQL) and re-read it: another process may have refreshed (and rotated) it."""
    db.session.execute(
        sa.select(SocialAccountToken).where(SocialAccountToken.connection_id == connection.id)
        .with_for_update().execution_options(populate_existing=True)
    )


def refresh_connection(connection: SocialConnection, *, now: datetime, rejected_token: str | None = None) -> bool:
    """Refresh one connection now, whatever its expiry (after the platform said the token expired).

    `rejected_token` is the access token the platform refused: when the stored one differs after taking the row
    lock, another worker already refreshed (and perhaps rotated) it, so its result is used instead of refreshing
    again with a refresh token that may no longer be valid.
    """
    try:
        provider = provider_for_connection(connection)
    except ProviderError as exc:
        mark_error(connection, exc.message, now=now, action="connection.refresh_failed")
        return False
    return _refresh_locked(connection, provider, now=now, may_defer=False, rejected_token=rejected_token) == "refreshed"


def account_for(connection: SocialConnection) -> Account:
    """What publishing and metrics need about a connected account (the token decrypted in memory only)."""
    stored = connection.tokens
    if stored is None or not stored.access_token:
        raise AuthExpiredError("This account has no stored access; please reconnect.", platform=connection.provider)
    metadata = {k: v for k, v in (connection.auth_metadata or {}).items() if k not in ("error_reason", "error_at")}
    return Account(
        access_token=stored.access_token,
        platform_account_id=stored.platform_account_id or "",
        handle=stored.account_handle,
        metadata=metadata,
    )


def call_with_fresh_token(
    connection: SocialConnection, fn: Callable[[Account], T], *, now: datetime | None = None
) -> T:
    """Run `fn(account)`; when the platform says the token expired, refresh once and retry once.

    If the refresh fails the connection is marked `error` and the original AuthExpiredError is raised.
    """
    account = account_for(connection)
    try:
        return fn(account)
    except AuthExpiredError:
        if not refresh_connection(connection, now=now or now_utc(), rejected_token=account.access_token):
            raise
    return fn(account_for(connection))


# -- reconnect warnings -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReconnectWarning:
    provider: str
    display_name: str
    reason: str


def reconnect_warnings(user: User, now: datetime) -> list[ReconnectWarning]:
    """Connections of `user` that need a Reconnect: in error, or whose (unrenewable) token expires before a post
    already scheduled for that platform."""
    warnings: list[ReconnectWarning] = []
    connections = db.session.execute(
        sa.select(SocialConnection).filter_by(user_id=user.id).order_by(SocialConnection.provider)
    ).scalars().all()
    expiring: list[tuple[SocialConnection, datetime]] = []
    for connection in connections:
        try:
            label = provider_class(connection.provider).display_name
        except KeyError:
            continue
        if connection.status == "error":
            reason = str(connection.auth_metadata.get("error_reason") or "The connection stopped working.")
            warnings.append(ReconnectWarning(connection.provider, label, reason))
        elif (connection.status == "connected" and connection.tokens and connection.tokens.token_expires_at
              and not _renewable(connection)):
            expiring.append((connection, connection.tokens.token_expires_at))
    if expiring:
        earliest = min(expires for _, expires in expiring)
        scheduled = db.session.execute(
            sa.select(SocialPost.platforms, SocialPost.scheduled_at).where(
                SocialPost.status == "scheduled", SocialPost.scheduled_at > earliest
            )
        ).all()
        for connection, expires in expiring:
            due = [at for platforms, at in scheduled if connection.provider in (platforms or []) and at > expires]
            if due:
                label = provider_class(connection.provider).display_name
                warnings.append(ReconnectWarning(
                    connection.provider, label,
                    f"Stella's access to {label} ends {expires:%d %b %Y %H:%M} UTC, before a post scheduled for "
                    f"{min(due):%d %b %Y %H:%M} UTC. Reconnect to keep it publishing.",
                ))
    return warnings


def _renewable(connection: SocialConnection) -> bool:
    try:
        return provider_for_connection(connection).can_refresh(token_set(connection))
    except ProviderError:
        return False


# -- keys -------------------------------------------------------------------------------------------------


@dataclass
class RotateSummary:
    values: int = 0
    rows: dict[str, int] = field(default_factory=dict)


def rotate_encryption_key() -> RotateSummary:
    """Re-encrypt every stored secret under the first configured key (flushes; the caller commits).

    Plain SQL on the raw ciphertext, so nothing is decrypted into the ORM. One unreadable value aborts the lot.
    """
    cipher = current_cipher()
    summary = RotateSummary()
    inspector = sa.inspect(db.session.connection())
    for table, key, columns in ENCRYPTED_COLUMNS:
        if not inspector.has_table(table):
            continue
        rows = db.session.execute(sa.text(f"SELECT {key}, {', '.join(columns)} FROM {table}")).all()
        for row in rows:
            changes = {}
            for index, column in enumerate(columns, start=1):
                value = row[index]
                if value is None:
                    continue
                try:
                    changes[column] = cipher.rotate(value)
                except TokenDecryptionError:
                    raise TokenDecryptionError(
                        f"{table}.{column} of row {row[0]} cannot be decrypted with any configured key; "
                        "nothing was re-encrypted. Add the key it was encrypted with to STELLA_ENCRYPTION_KEYS."
                    ) from None
            if changes:
                assignments = ", ".join(f"{c} = :{c}" for c in changes)
                db.session.execute(sa.text(f"UPDATE {table} SET {assignments} WHERE {key} = :row_key"),
                                   {**changes, "row_key": row[0]})
                summary.values += len(changes)
                summary.rows[table] = summary.rows.get(table, 0) + 1
    db.session.flush()
    return summary


def check_stored_secrets(cipher: TokenCipher, connection: sa.Connection) -> None:
    """Raise TokenDecryptionError when any stored secret cannot be decrypted with the configured keys.

    Quietly does nothing when the tables do not exist yet (before `flask db upgrade`).
    """
    inspector = sa.inspect(connection)
    for table, key, columns in ENCRYPTED_COLUMNS:
        if not inspector.has_table(table):
            continue
        for column in columns:
            for row_key, value in connection.execute(
                sa.text(f"SELECT {key}, {column} FROM {table} WHERE {column} IS NOT NULL")
            ):
                try:
                    cipher.decrypt(value)
                except TokenDecryptionError:
                    raise TokenDecryptionError(
                        f"Stored secrets ({table}.{column}, row {row_key}) cannot be decrypted with the configured "
                        "STELLA_ENCRYPTION_KEYS: the key they were encrypted with is missing. Restore it (list it "
                        "after a new key to rotate with `flask tokens rotate-key`)."
                    ) from None
