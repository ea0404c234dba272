"""Connecting, choosing a target for, and disconnecting social accounts.

The OAuth `state` lives server-side (`oauth_states`): single use, bound to the user and to a nonce kept in the
browser session, valid for ten minutes. Starting a sign-in is the caller's POST with a CSRF token (the views), so
no link can start one, or replace a connection, for a signed-in user. A sign-in that replaces another login's
access revokes the old token where the platform allows it. Tokens are stored through EncryptedText columns, by
`store_tokens` only; nothing here logs, flashes or stores a token, code, secret or password in clear.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa

from stella.extensions import db
from stella.models import MastodonApp, OAuthState, SocialAccountToken, SocialConnection, User
from stella.providers.base import ClientCredentials, Profile, Provider, Target, TokenSet
from stella.providers.errors import NotConfiguredError, ProviderError, UnsafeHostError
from stella.providers.http import SECRET_FIELDS
from stella.providers.pkce import make_pkce_pair
from stella.services.audit import record_event
from stella.services.errors import DomainError, NotFoundError, ValidationError
from stella.services.platforms import (
    SetupHelp,
    http_client,
    is_configured,
    provider_class,
    provider_for,
    provider_names,
    provider_options,
    redirect_uri,
    setup_help,
)

log = logging.getLogger(__name__)

STATE_TTL = timedelta(minutes=10)
# Consumed and abandoned states are deleted once they are this old.
STATE_RETENTION = timedelta(days=1)
# `error` values platforms send when the user clicked Cancel/Deny on the consent page.
DENIED_ERRORS = frozenset({"access_denied", "user_denied", "user_cancelled_login", "user_cancelled_authorize"})


class ConnectFailedError(DomainError):
    """Connecting did not work; the message says what happened and what to do next.

    What was done on the way stands (`keep_changes`): a spent state, a connection marked `error` with the reason,
    an app registered on a Mastodon server. Refusals that change nothing are ValidationErrors instead.
    """

    keep_changes = True


@dataclass(frozen=True)
class ConnectOutcome:
    connection: SocialConnection
    needs_selection: bool
    message: str
    # Said besides the message when the sign-in replaced another account whose access Stella could not revoke.
    warning: str | None = None


@dataclass(frozen=True)
class DisconnectOutcome:
    revoke_failed: bool
    message: str


@dataclass(frozen=True)
class PlatformCard:
    """Everything the Connections page shows for one platform."""

    name: str
    display_name: str
    icon: str
    color: str
    tagline: str
    auth_style: str
    needs_instance: bool
    configured: bool
    connection: SocialConnection | None
    token: SocialAccountToken | None
    setup: SetupHelp

    @property
    def asks_first(self) -> bool:
        """Connect opens a form (the user's server, an app password) instead of going straight to the platform."""
        return self.auth_style == "app_password" or self.needs_instance

    @property
    def status(self) -> str:
        return self.connection.status if self.connection else "disconnected"

    @property
    def error_reason(self) -> str | None:
        if self.connection is None or self.connection.status != "error":
            return None
        return str(self.connection.auth_metadata.get("error_reason") or "The connection stopped working.")

    @property
    def needs_selection(self) -> bool:
        return bool(self.connection and self.connection.status == "pending"
                    and self.connection.auth_metadata.get("pending_selection"))


# -- reading ----------------------------------------------------------------------------------------------


def get_connection(user: User, name: str) -> SocialConnection | None:
    return db.session.execute(
        sa.select(SocialConnection).filter_by(user_id=user.id, provider=name)
    ).scalar_one_or_none()


def require_connection(user: User, name: str) -> SocialConnection:
    """The user's own connection; another user's (or none) is NotFoundError, never a hint that it exists."""
    connection = get_connection(user, name)
    if connection is None:
        raise NotFoundError("That connection does not exist.")
    return connection


def list_platform_cards(user: User) -> list[PlatformCard]:
    connections = {
        c.provider: c
        for c in db.session.execute(sa.select(SocialConnection).filter_by(user_id=user.id)).scalars()
    }
    cards = []
    for name in provider_names():
        cls = provider_class(name)
        connection = connections.get(name)
        cards.append(
            PlatformCard(
                name=name,
                display_name=cls.display_name,
                icon=cls.icon,
                color=cls.color,
                tagline=cls.tagline,
                auth_style=cls.auth_style,
                needs_instance=cls.needs_instance,
                configured=is_configured(name),
                connection=connection,
                token=connection.tokens if connection else None,
                setup=setup_help(name),
            )
        )
    return cards


def token_set(connection: SocialConnection) -> TokenSet:
    """The stored tokens of `connection` as the providers take them (decrypted in memory only)."""
    stored = connection.tokens
    meta = connection.auth_metadata or {}
    refresh_expires = meta.get("refresh_expires_at")
    return TokenSet(
        access_token=(stored.access_token if stored else None) or "",
        refresh_token=stored.refresh_token if stored else None,
        expires_at=stored.token_expires_at if stored else None,
        refresh_expires_at=datetime.fromisoformat(refresh_expires) if refresh_expires else None,
        scopes=frozenset(meta.get("scopes") or ()),
        extra=dict(meta.get("token_extra") or {}),
    )


def provider_for_connection(connection: SocialConnection) -> Provider:
    return provider_for(connection.provider, instance_url=(connection.auth_metadata or {}).get("instance_url"))


# -- starting an authorization ----------------------------------------------------------------------------


def start_authorization(
    user: User, name: str, *, session_nonce: str, now: datetime, instance: str | None = None
) -> str:
    """Record a fresh state (+ PKCE verifier) and return the URL to send the browser to.

    Only for a request the user deliberately sent (a POST with a CSRF token): the sign-in it starts may replace the
    user's current connection.
    """
    cls = provider_class(name)
    if cls.auth_style != "oauth2":
        raise ValidationError(f"{cls.display_name} connects with a form, not a redirect.")
    instance_url: str | None = None
    if cls.needs_instance:
        if not (instance or "").strip():
            raise ValidationError("Type the address of your server, e.g. https://mastodon.social.", field="instance")
        instance_url = _checked_host(instance or "", field="instance")
        _ensure_instance_app(name, instance_url)
    try:
        provider = provider_for(name, instance_url=instance_url)
    except NotConfiguredError as exc:
        raise ConnectFailedError(exc.message) from None

    verifier, challenge = make_pkce_pair() if provider.uses_pkce else (None, None)
    state = secrets.token_urlsafe(32)
    db.session.execute(sa.delete(OAuthState).where(OAuthState.created_at < now - STATE_RETENTION))
    db.session.add(
        OAuthState(
            state_hash=_digest(state),
            user_id=user.id,
            provider=name,
            code_verifier=verifier,
            instance_url=instance_url,
            session_nonce_hash=_digest(session_nonce),
            created_at=now,
        )
    )
    db.session.flush()
    try:
        return provider.authorization_url(redirect_uri=redirect_uri(name), state=state, code_challenge=challenge)
    except ProviderError as exc:
        raise ConnectFailedError(f"Could not start the {cls.display_name} sign-in: {exc.message}") from None


def _ensure_instance_app(name: str, instance_url: str) -> MastodonApp:
    """Register Stella on a Mastodon instance once (`POST /api/v1/apps`) and reuse the credentials afterwards."""
    cls = provider_class(name)
    callback = redirect_uri(name)
    registrar = cls(ClientCredentials("", "", instance_url=instance_url), http_client(), options=provider_options(name))
    scopes = " ".join(registrar.requested_scopes)
    app = db.session.execute(sa.select(MastodonApp).filter_by(instance_url=instance_url)).scalar_one_or_none()
    # A new public URL or scope list needs a new registration: the instance checks both against the app's.
    if app is not None and app.redirect_uri == callback and app.scopes == scopes:
        return app
    try:
        credentials = registrar.register_app(instance_url, callback)
    except ProviderError as exc:
        raise ConnectFailedError(f"Could not register Stella on {instance_url}: {exc.message}") from None
    if app is None:
        app = MastodonApp(instance_url=instance_url)
        db.session.add(app)
    app.client_id = credentials.client_id
    app.client_secret = credentials.client_secret
    app.redirect_uri = callback
    app.scopes = scopes
    db.session.flush()
    log.info("registered Stella on %s", instance_url)
    return app


# -- completing an authorization --------------------------------------------------------------------------


def complete_authorization(
    user: User, name: str, *, params: Mapping[str, str], session_nonce: str | None, now: datetime
) -> ConnectOutcome:
    """Handle the platform's redirect back: check the state, exchange the code, read the profile, store.

    Raises ConnectFailedError with a message for the user; where a connection already exists and the state was
    genuinely this user's, it is marked `error` with the reason first (the caller commits either way).
    """
    cls = provider_class(name)
    label = cls.display_name
    pending = _consume_state(user, name, params.get("state"), session_nonce, now)

    error = params.get("error")
    if error:
        if error in DENIED_ERRORS or params.get("error_reason") == "user_denied":
            reason = f"You declined access on {label}, so nothing was connected. Click Connect to try again."
        else:
            detail = _clean(params.get("error_description") or error)
            reason = f"{label} reported an error during sign-in ({detail}). Click Connect to try again."
        _fail_existing(user, name, reason, now=now)
        raise ConnectFailedError(reason)
    code = params.get("code")
    if not code:
        reason = f"{label} sent no authorization code back. Click Connect to try again."
        _fail_existing(user, name, reason, now=now)
        raise ConnectFailedError(reason)

    try:
        provider = provider_for(name, instance_url=pending.instance_url)
        tokens = provider.exchange_code(
            code=code, redirect_uri=redirect_uri(name), code_verifier=pending.code_verifier
        )
    except ProviderError as exc:
        exc.scrub([code])
        reason = f"{label} did not complete the sign-in: {exc.message}"
        _fail_existing(user, name, reason, now=now)
        raise ConnectFailedError(reason) from None

    missing = missing_scopes(provider.requested_scopes, tokens.scopes)
    if missing:
        reason = (
            f"{label} did not grant Stella every permission it needs (missing: {', '.join(missing)}). "
            "Click Reconnect and leave every permission ticked."
        )
        _fail_existing(user, name, reason, now=now, create=True)
        raise ConnectFailedError(reason)

    return _finish(user, provider, tokens, instance_url=pending.instance_url, now=now)


def _finish(
    user: User, provider: Provider, tokens: TokenSet, *, instance_url: str | None, now: datetime
) -> ConnectOutcome:
    """Profile, then either store the account or (several targets) keep the login pending for the pick step."""
    label = provider.display_name
    try:
        login = profile = provider.fetch_profile(tokens)
        targets = provider.list_targets(tokens, login) if provider.has_targets else []
        if provider.has_targets and len(targets) == 1:
            tokens, profile = provider.apply_target(tokens, targets[0])
    except ProviderError as exc:
        reason = f"Connected to {label}, but reading the account failed: {exc.message}"
        _fail_existing(user, provider.name, reason, now=now)
        raise ConnectFailedError(reason) from None

    if provider.has_targets and not targets:
        reason = (
            f"Your {label} login has nothing Stella can publish to (no page, channel, board or location). "
            "Create or get access to one, then click Connect again."
        )
        _fail_existing(user, provider.name, reason, now=now, create=True)
        raise ConnectFailedError(reason)

    if len(targets) > 1:
        connection, replaced = _save_account(
            user, provider, tokens, login, login_id=login.platform_account_id, status="pending",
            instance_url=instance_url, now=now,
            extra_metadata={"pending_selection": True, "login_profile": _profile_dict(login)},
        )
        note, warning = _end_replaced_access(replaced, connection, user=user)
        message = f"Signed in to {label}. Choose which one Stella should publish to."
        return ConnectOutcome(connection, True, f"{message} {note}" if note else message, warning)

    return _connected(user, provider, tokens, profile, login_id=login.platform_account_id,
                      instance_url=instance_url, now=now)


def missing_scopes(requested: tuple[str, ...], granted: frozenset[str]) -> list[str]:
    """Requested scopes the platform did not grant. Platforms that do not echo scopes grant-check nothing.

    A broader granted scope covers its narrower forms (`write` covers `write:statuses`).
    """
    if not granted:
        return []
    return [s for s in requested if s not in granted and s.split(":", 1)[0] not in granted]


def pending_targets(user: User, name: str) -> list[Target]:
    """The targets the pending login can reach, listed afresh (nothing about them is stored)."""
    connection = _pending_connection(user, name)
    provider = provider_for_connection(connection)
    try:
        return provider.list_targets(token_set(connection), _login_profile(connection))
    except ProviderError as exc:
        raise ConnectFailedError(f"{provider.display_name} did not list your accounts: {exc.message}") from None


def select_target(
    user: User, name: str, target_id: str, *, now: datetime, listed: list[Target] | None = None
) -> ConnectOutcome:
    """Finish a pending connection with the target the user picked (it must be one the login can reach).

    `listed` is what `pending_targets` returned in this same request, to save the platform a second listing.
    """
    connection = _pending_connection(user, name)
    provider = provider_for_connection(connection)
    targets = listed if listed is not None else pending_targets(user, name)
    chosen = next((t for t in targets if t.id == target_id), None)
    if chosen is None:
        raise ValidationError("Choose one of the listed accounts.", field="target")
    try:
        tokens, profile = provider.apply_target(token_set(connection), chosen)
    except ProviderError as exc:
        raise ConnectFailedError(
            f"{provider.display_name} did not give access to {chosen.name}: {exc.message}"
        ) from None
    instance_url = (connection.auth_metadata or {}).get("instance_url")
    return _connected(user, provider, tokens, profile, login_id=_login_profile(connection).platform_account_id,
                      instance_url=instance_url, now=now)


def _connected(
    user: User, provider: Provider, tokens: TokenSet, profile: Profile, *, login_id: str, instance_url: str | None,
    now: datetime,
) -> ConnectOutcome:
    """Store the account as connected, audit it and say so: the end of every way of connecting."""
    connection, replaced = _save_account(user, provider, tokens, profile, login_id=login_id, status="connected",
                                         instance_url=instance_url, now=now)
    record_event("connection.connected", subject_type="social_connection", subject_id=connection.id,
                 actor_id=user.id, provider=provider.name, platform_account_id=profile.platform_account_id)
    message = f"{provider.display_name} connected as {_account_label(profile)}."
    note, warning = _end_replaced_access(replaced, connection, user=user)
    return ConnectOutcome(connection, False, f"{message} {note}" if note else message, warning)


def _pending_connection(user: User, name: str) -> SocialConnection:
    connection = require_connection(user, name)
    if connection.status != "pending" or not connection.auth_metadata.get("pending_selection"):
        raise NotFoundError("There is nothing to choose for this connection.")
    return connection


# -- app passwords (Bluesky) -----------------------------------------------------------------------------


def connect_with_app_password(
    user: User, name: str, *, handle: str, app_password: str, service: str | None, now: datetime
) -> ConnectOutcome:
    """Sign in with a handle and an app password; keep only the session tokens, never the password.

    Like `start_authorization`, only for a request the user deliberately sent: it may replace their connection.
    """
    cls = provider_class(name)
    label = cls.display_name
    if cls.auth_style != "app_password":
        raise ValidationError(f"{label} connects on its own sign-in page, not with an app password.")
    handle = handle.strip().lstrip("@")
    if not handle:
        raise ValidationError(f"Enter your {label} handle.", field="handle")
    if not app_password.strip():
        raise ValidationError(f"Enter an app password ({label}: {cls.app_password_location}).",
                              field="app_password")
    service_url = _checked_host((service or "").strip() or cls.default_service_url or "", field="service")
    provider = provider_for(name, instance_url=service_url)
    try:
        tokens = provider.create_session(service_url, handle, app_password)
    except UnsafeHostError as exc:
        # The service answered, but named a server for the account (Bluesky's PDS) that Stella will not contact.
        raise ValidationError(exc.message, field="service") from None
    except ProviderError as exc:
        exc.scrub([app_password])
        raise ValidationError(f"{label} did not accept that handle and app password: {exc.message}",
                              field="app_password") from None
    try:
        profile = provider.fetch_profile(tokens)
    except ProviderError as exc:
        raise ConnectFailedError(f"Signed in to {label}, but reading the profile failed: {exc.message}") from None
    return _connected(user, provider, tokens, profile, login_id=profile.platform_account_id,
                      instance_url=service_url, now=now)


# -- disconnecting ----------------------------------------------------------------------------------------


def disconnect(user: User, name: str, *, now: datetime) -> DisconnectOutcome:
    """Revoke at the platform where it can be done, then delete the connection (its tokens cascade).

    A failed revoke still disconnects: the user asked Stella to forget the account, and it does.
    """
    connection = require_connection(user, name)
    cls = provider_class(name)
    label = cls.display_name
    failure: str | None = None
    if cls.revocable and connection.tokens is not None and connection.tokens.access_token:
        try:
            failure = _try_revoke(provider_for_connection(connection), token_set(connection))
        except ProviderError as exc:  # the provider cannot be built any more (its credentials were removed)
            failure = exc.message
    record_event("connection.disconnected", subject_type="social_connection", subject_id=connection.id,
                 actor_id=user.id, provider=name, revoke_failed=failure is not None,
                 **({"reason": failure} if failure else {}))
    db.session.delete(connection)
    db.session.flush()
    if failure:
        return DisconnectOutcome(True, (
            f"{label} was disconnected from Stella, but {label} could not confirm that Stella's access was revoked "
            f"({failure}). Remove Stella in your {label} account settings to be sure."
        ))
    if not cls.revocable:
        return DisconnectOutcome(False, (
            f"{label} was disconnected. {label} offers no way for Stella to revoke its access itself; "
            f"you can remove Stella in your {label} account settings."
        ))
    return DisconnectOutcome(False, f"{label} was disconnected and Stella's access was revoked.")


# -- marking errors ---------------------------------------------------------------------------------------


def mark_error(connection: SocialConnection, reason: str, *, now: datetime, actor_id: uuid.UUID | None = None,
               action: str = "connection.failed") -> None:
    """Put a connection in `error` with a reason the user can act on, and audit it."""
    connection.move_to("error", now=now)
    connection.auth_metadata = {**(connection.auth_metadata or {}), "error_reason": reason,
                                "error_at": now.isoformat()}
    record_event(action, subject_type="social_connection", subject_id=connection.id, actor_id=actor_id,
                 provider=connection.provider, reason=reason)
    db.session.flush()


def _fail_existing(
    user: User, name: str, reason: str, *, now: datetime, create: bool = False
) -> SocialConnection | None:
    connection = get_connection(user, name)
    if connection is None:
        record_event("connection.failed", subject_type="social_connection", actor_id=user.id, provider=name,
                     reason=reason)
        if not create:
            return None
        connection = SocialConnection(user_id=user.id, provider=name,
                                      auth_metadata={"error_reason": reason, "error_at": now.isoformat()})
        connection.move_to("error", now=now)
        db.session.add(connection)
        db.session.flush()
        return connection
    mark_error(connection, reason, now=now, actor_id=user.id)
    return connection


# -- state ------------------------------------------------------------------------------------------------

INVALID_STATE = ("That sign-in response does not belong to a sign-in you started in this browser, so nothing was "
                 "changed. Start again from Connections.")


def _consume_state(user: User, name: str, state: str | None, session_nonce: str | None, now: datetime) -> OAuthState:
    label = provider_class(name).display_name
    row = None
    if state and session_nonce:
        row = db.session.execute(
            sa.select(OAuthState).filter_by(state_hash=_digest(state))
        ).scalar_one_or_none()
    # An unknown or foreign state proves nothing about which account it concerns: it must change nothing,
    # or any web page could break a connection by linking to the callback.
    if (
        row is None
        or row.user_id != user.id
        or row.provider != name
        or not hmac.compare_digest(row.session_nonce_hash, _digest(session_nonce or ""))
    ):
        raise ConnectFailedError(INVALID_STATE)
    if row.consumed_at is not None:
        # Usually the back button after a finished sign-in: the connection it made must stay as it is.
        raise ConnectFailedError(
            f"That {label} sign-in response was already used, so nothing was changed. "
            "Click Connect to start a new sign-in if you need one."
        )
    # Claim it atomically so two concurrent callbacks with the same state cannot both proceed.
    # An UPDATE returns a CursorResult (which has rowcount); Session.execute is typed for any statement.
    claimed = cast(sa.CursorResult[Any], db.session.execute(
        sa.update(OAuthState)
        .where(OAuthState.id == row.id, OAuthState.consumed_at.is_(None))
        .values(consumed_at=now)
        .execution_options(synchronize_session=False)
    ))
    if claimed.rowcount != 1:
        raise ConnectFailedError(f"That {label} sign-in response was already used, so nothing was changed.")
    if row.created_at + STATE_TTL < now:
        reason = f"The {label} sign-in took longer than 10 minutes and expired. Click Connect to try again."
        _fail_existing(user, name, reason, now=now)
        raise ConnectFailedError(reason)
    return row


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# -- storing ----------------------------------------------------------------------------------------------


def _save_account(
    user: User,
    provider: Provider,
    tokens: TokenSet,
    profile: Profile,
    *,
    login_id: str,
    status: str,
    instance_url: str | None,
    now: datetime,
    extra_metadata: Mapping[str, Any] | None = None,
) -> tuple[SocialConnection, ReplacedAccess | None]:
    """Make `profile` (reached by the login `login_id`) the user's account on this platform, in `status`.

    A new sign-in's metadata replaces the old whole, so no id of another page, channel or server lingers; the
    tokens then go through `store_tokens`. Returns the access this replaced when it was another login's, for the
    caller to end once the new account is in place (`_end_replaced_access`).
    """
    connection = get_connection(user, provider.name)
    replaced = _replaced_access(connection, login_id=login_id, instance_url=instance_url)
    if connection is None:
        connection = SocialConnection(user_id=user.id, provider=provider.name)
        db.session.add(connection)
    metadata: dict[str, Any] = {**safe_metadata(profile.metadata), "login_account_id": login_id}
    if instance_url:
        metadata["instance_url"] = instance_url
    metadata.update(extra_metadata or {})
    connection.auth_metadata = metadata
    connection.move_to(status, now=now)
    store_tokens(connection, tokens)
    stored = connection.tokens
    assert stored is not None  # store_tokens made it
    stored.account_handle = profile.handle
    stored.display_name = profile.display_name
    stored.profile_image_url = profile.avatar_url
    stored.platform_account_id = profile.platform_account_id
    db.session.flush()
    return connection, replaced


def store_tokens(connection: SocialConnection, tokens: TokenSet) -> None:
    """Write a token set: the one place tokens are stored, on connecting and on every refresh.

    The token row takes the set's access token, refresh token and expiry as given (a refresh keeps an unrotated
    refresh token with `keep_refresh_token` first). The rest of `auth_metadata` is left as it is, and what the
    token endpoint said is merged into it: the granted scopes when it listed them, the refresh token's expiry when
    it gave one, and its ids (`token_extra`) over the stored ones.
    """
    stored = connection.tokens
    if stored is None:
        stored = SocialAccountToken()
        connection.tokens = stored
    stored.access_token = tokens.access_token
    stored.refresh_token = tokens.refresh_token
    stored.token_expires_at = tokens.expires_at
    meta = dict(connection.auth_metadata or {})
    if tokens.scopes:
        meta["scopes"] = sorted(tokens.scopes)
    if tokens.refresh_expires_at:
        meta["refresh_expires_at"] = tokens.refresh_expires_at.isoformat()
    extra = safe_metadata(tokens.extra)
    if extra:
        meta["token_extra"] = {**meta.get("token_extra", {}), **extra}
    connection.auth_metadata = meta
    db.session.flush()


# -- replacing another login's access ---------------------------------------------------------------------


@dataclass(frozen=True)
class ReplacedAccess:
    """The access of another login (account or server) that a sign-in is replacing."""

    account_id: str
    label: str
    tokens: TokenSet = field(repr=False)
    # Built while the connection still points at the old server; None when the platform cannot revoke, or the
    # provider cannot be built any more (e.g. its credentials were removed).
    provider: Provider | None
    revocable: bool


def _replaced_access(
    connection: SocialConnection | None, *, login_id: str, instance_url: str | None
) -> ReplacedAccess | None:
    if connection is None or connection.tokens is None or not connection.tokens.access_token:
        return None
    cls = provider_class(connection.provider)
    meta = connection.auth_metadata or {}
    previous_login = meta.get("login_account_id")
    if previous_login is None and not cls.has_targets:
        previous_login = connection.tokens.platform_account_id  # the account is the login (stored before logins were)
    # The same login on the same server only renews Stella's access. Revoking the old token then could end the new
    # one too, where revoking ends the app's whole grant (Google, TikTok). Unknown counts as the same.
    if not previous_login or (previous_login == login_id and meta.get("instance_url") == instance_url):
        return None
    provider: Provider | None = None
    if cls.revocable:
        try:
            provider = provider_for_connection(connection)
        except ProviderError:
            provider = None
    stored = connection.tokens
    return ReplacedAccess(
        account_id=stored.platform_account_id or "",
        label=_account_label(Profile(stored.platform_account_id or "", stored.account_handle, stored.display_name)),
        tokens=token_set(connection),
        provider=provider,
        revocable=cls.revocable,
    )


def _end_replaced_access(
    replaced: ReplacedAccess | None, connection: SocialConnection, *, user: User
) -> tuple[str | None, str | None]:
    """Revoke the replaced access where the platform allows it (best effort) and audit the replacement.

    Returns (a sentence to add to the success message, a warning for the user), either possibly None.
    """
    if replaced is None:
        return None, None
    label = provider_class(connection.provider).display_name
    failure: str | None = None
    if replaced.revocable:
        failure = (_try_revoke(replaced.provider, replaced.tokens) if replaced.provider
                   else f"{label} is not set up in Stella any more")
    outcome = "failed" if failure else ("revoked" if replaced.revocable else "not_supported")
    record_event("connection.replaced", subject_type="social_connection", subject_id=connection.id,
                 actor_id=user.id, provider=connection.provider, previous_account_id=replaced.account_id,
                 revoke=outcome, **({"reason": failure} if failure else {}))
    if failure:
        return None, (f"Stella could not revoke its access to the {label} account it replaced ({replaced.label}): "
                      f"{failure}. Remove Stella in that account's settings to be sure.")
    if not replaced.revocable:
        return None, (f"This replaced {replaced.label}. {label} offers no way for Stella to revoke its access "
                      f"there itself; you can remove Stella in that account's settings.")
    return f"Stella's access to {replaced.label} was revoked.", None


def _try_revoke(provider: Provider, tokens: TokenSet) -> str | None:
    """Revoke `tokens` at the platform: None when it worked, else why not (safe to show)."""
    try:
        provider.revoke(tokens)
    except ProviderError as exc:
        exc.scrub([tokens.access_token, tokens.refresh_token or ""])
        return exc.message
    return None


_SECRETISH = re.compile(r"(?i)(token|secret|password|jwt|verifier|^code$)")


def safe_metadata(values: Mapping[str, Any]) -> dict[str, Any]:
    """Platform ids worth keeping in clear; anything named like a credential is dropped, never stored."""
    kept: dict[str, Any] = {}
    for key, value in values.items():
        if key in SECRET_FIELDS or _SECRETISH.search(key):
            continue
        if isinstance(value, Mapping):
            kept[key] = safe_metadata(value)
        elif isinstance(value, (str, int, float, bool)) or value is None:
            kept[key] = value
        elif isinstance(value, (list, tuple)):
            kept[key] = [safe_metadata(v) if isinstance(v, Mapping) else v for v in value
                         if isinstance(v, (str, int, float, bool, Mapping))]
    return kept


def _profile_dict(profile: Profile) -> dict[str, Any]:
    return {
        "platform_account_id": profile.platform_account_id,
        "handle": profile.handle,
        "display_name": profile.display_name,
        "avatar_url": profile.avatar_url,
        "metadata": safe_metadata(profile.metadata),
    }


def _login_profile(connection: SocialConnection) -> Profile:
    saved = connection.auth_metadata.get("login_profile") or {}
    return Profile(
        platform_account_id=str(saved.get("platform_account_id") or ""),
        handle=saved.get("handle"),
        display_name=saved.get("display_name"),
        avatar_url=saved.get("avatar_url"),
        metadata=saved.get("metadata") or {},
    )


def _account_label(profile: Profile) -> str:
    if profile.handle:
        return profile.handle if profile.handle.startswith("@") else f"@{profile.handle}"
    return profile.display_name or profile.platform_account_id


def _checked_host(address: str, *, field: str) -> str:
    try:
        return http_client().check_user_host(address)
    except UnsafeHostError as exc:
        raise ValidationError(exc.message, field=field) from None


def _clean(text: str) -> str:
    """A platform-supplied error text, made safe and short for a flash message."""
    text = re.sub(r"[\x00-\x1f\x7f]+", " ", text).replace("+", " ").strip()
    return text[:200] or "unknown error"
