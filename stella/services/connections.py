"""Connecting, choosing a target for, and disconnecting social accounts.

The OAuth `state` lives server-side (`oauth_states`): single use, bound to the user and to a nonce kept in the
browser session, valid for ten minutes. Tokens are stored through EncryptedText columns; nothing here logs,
flashes or stores a token, code, secret or password in clear.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa

from stella.extensions import db
from stella.models import MastodonApp, OAuthState, SocialAccountToken, SocialConnection, User
from stella.providers.base import Profile, Provider, Target, TokenSet
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
DEFAULT_BLUESKY_SERVICE = "https://bsky.social"
# `error` values platforms send when the user clicked Cancel/Deny on the consent page.
DENIED_ERRORS = frozenset({"access_denied", "user_denied", "user_cancelled_login", "user_cancelled_authorize"})


class ConnectFailedError(DomainError):
    """Connecting did not work; the message says what happened and what to do next."""


@dataclass(frozen=True)
class ConnectOutcome:
    connection: SocialConnection
    needs_selection: bool
    message: str


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
    auth_style: str
    needs_instance: bool
    configured: bool
    connection: SocialConnection | None
    token: SocialAccountToken | None
    setup: SetupHelp

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
    """Record a fresh state (+ PKCE verifier) and return the URL to send the browser to."""
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
    return provider.authorization_url(redirect_uri=redirect_uri(name), state=state, code_challenge=challenge)


def _ensure_instance_app(name: str, instance_url: str) -> MastodonApp:
    """Register Stella on a Mastodon instance once (`POST /api/v1/apps`) and reuse the credentials afterwards."""
    cls = provider_class(name)
    callback = redirect_uri(name)
    from stella.providers.base import ClientCredentials

    registrar = cls(ClientCredentials("", "", instance_url=instance_url), http_client(), options=provider_options(name))
    scopes = " ".join(registrar.requested_scopes)
    app = db.session.execute(sa.select(MastodonApp).filter_by(instance_url=instance_url)).scalar_one_or_none()
    # A new public URL or scope list needs a new registration: the instance checks both against the app's.
    if app is not None and app.redirect_uri == callback and app.scopes == scopes:
        return app
    try:
        credentials = registrar.register_app(instance_url, callback)  # type: ignore[attr-defined]
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
        profile = provider.fetch_profile(tokens)
        targets = provider.list_targets(tokens, profile) if provider.has_targets else []
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
        connection = _store(
            user, provider.name, tokens, profile, status="pending", instance_url=instance_url, now=now,
            extra_metadata={"pending_selection": True, "login_profile": _profile_dict(profile)},
        )
        return ConnectOutcome(connection, True, f"Signed in to {label}. Choose which one Stella should publish to.")

    connection = _store(user, provider.name, tokens, profile, status="connected", instance_url=instance_url, now=now)
    record_event("connection.connected", subject_type="social_connection", subject_id=connection.id,
                 actor_id=user.id, provider=provider.name, platform_account_id=profile.platform_account_id)
    return ConnectOutcome(connection, False, f"{label} connected as {_account_label(profile)}.")


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
    return _finish_selected(user, provider, tokens, profile, instance_url=instance_url, now=now)


def _finish_selected(
    user: User, provider: Provider, tokens: TokenSet, profile: Profile, *, instance_url: str | None, now: datetime
) -> ConnectOutcome:
    connection = _store(user, provider.name, tokens, profile, status="connected", instance_url=instance_url, now=now)
    record_event("connection.connected", subject_type="social_connection", subject_id=connection.id,
                 actor_id=user.id, provider=provider.name, platform_account_id=profile.platform_account_id)
    return ConnectOutcome(connection, False, f"{provider.display_name} connected as {_account_label(profile)}.")


def _pending_connection(user: User, name: str) -> SocialConnection:
    connection = require_connection(user, name)
    if connection.status != "pending" or not connection.auth_metadata.get("pending_selection"):
        raise NotFoundError("There is nothing to choose for this connection.")
    return connection


# -- Bluesky ----------------------------------------------------------------------------------------------


def connect_bluesky(user: User, *, handle: str, app_password: str, service: str, now: datetime) -> ConnectOutcome:
    """Sign in with a handle and an app password; keep only the session tokens, never the password."""
    name = "bluesky"
    handle = handle.strip().lstrip("@")
    if not handle:
        raise ValidationError("Enter your Bluesky handle, e.g. harborvine.bsky.social.", field="handle")
    if not app_password.strip():
        raise ValidationError("Enter an app password (Settings → Privacy and security → App passwords).",
                              field="app_password")
    service_url = _checked_host(service or DEFAULT_BLUESKY_SERVICE, field="service")
    provider = provider_for(name, instance_url=service_url)
    try:
        tokens = provider.create_session(service_url, handle, app_password)  # type: ignore[attr-defined]
    except ProviderError as exc:
        exc.scrub([app_password])
        raise ValidationError(f"Bluesky did not accept that handle and app password: {exc.message}",
                              field="app_password") from None
    try:
        profile = provider.fetch_profile(tokens)
    except ProviderError as exc:
        raise ConnectFailedError(f"Signed in to Bluesky, but reading the profile failed: {exc.message}") from None
    connection = _store(user, name, tokens, profile, status="connected", instance_url=service_url, now=now)
    record_event("connection.connected", subject_type="social_connection", subject_id=connection.id,
                 actor_id=user.id, provider=name, platform_account_id=profile.platform_account_id)
    return ConnectOutcome(connection, False, f"Bluesky connected as {_account_label(profile)}.")


# -- disconnecting ----------------------------------------------------------------------------------------


def disconnect(user: User, name: str, *, now: datetime) -> DisconnectOutcome:
    """Revoke at the platform where it can be done, then delete the connection (its tokens cascade).

    A failed revoke still disconnects: the user asked Stella to forget the account, and it does.
    """
    connection = require_connection(user, name)
    label = provider_class(name).display_name
    failure: str | None = None
    revocable = False
    if connection.tokens is not None and connection.tokens.access_token:
        try:
            provider = provider_for_connection(connection)
            revocable = bool(provider.revoke_url) or type(provider).revoke is not Provider.revoke
            if revocable:
                provider.revoke(token_set(connection))
        except ProviderError as exc:
            revocable = True
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
    if not revocable:
        return DisconnectOutcome(False, (
            f"{label} was disconnected. {label} offers no way for Stella to revoke its access itself; "
            f"you can remove Stella in your {label} account settings."
        ))
    return DisconnectOutcome(False, f"{label} was disconnected and Stella's access was revoked.")


# -- marking errors ---------------------------------------------------------------------------------------


def mark_error(connection: SocialConnection, reason: str, *, now: datetime, actor_id: uuid.UUID | None = None,
               action: str = "connection.failed") -> None:
    """Put a connection in `error` with a reason the user can act on, and audit it."""
    connection.status = "error"
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
        connection = SocialConnection(user_id=user.id, provider=name, status="error",
                                      auth_metadata={"error_reason": reason, "error_at": now.isoformat()})
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


def _store(
    user: User,
    name: str,
    tokens: TokenSet,
    profile: Profile,
    *,
    status: str,
    instance_url: str | None,
    now: datetime,
    extra_metadata: Mapping[str, Any] | None = None,
) -> SocialConnection:
    connection = get_connection(user, name)
    if connection is None:
        connection = SocialConnection(user_id=user.id, provider=name)
        db.session.add(connection)
    metadata: dict[str, Any] = {**safe_metadata(profile.metadata), "scopes": sorted(tokens.scopes)}
    token_extra = safe_metadata(tokens.extra)
    if token_extra:
        metadata["token_extra"] = token_extra
    if tokens.refresh_expires_at:
        metadata["refresh_expires_at"] = tokens.refresh_expires_at.isoformat()
    if instance_url:
        metadata["instance_url"] = instance_url
    metadata.update(extra_metadata or {})
    connection.status = status
    connection.auth_metadata = metadata
    if status == "connected":
        connection.connected_at = now
    stored = connection.tokens
    if stored is None:
        stored = SocialAccountToken()
        connection.tokens = stored
    stored.access_token = tokens.access_token
    stored.refresh_token = tokens.refresh_token
    stored.token_expires_at = tokens.expires_at
    stored.account_handle = profile.handle
    stored.display_name = profile.display_name
    stored.profile_image_url = profile.avatar_url
    stored.platform_account_id = profile.platform_account_id
    db.session.flush()
    return connection


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
