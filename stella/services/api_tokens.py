"""Personal API tokens: created by a user for scripts and tools, shown once, stored only as a SHA-256 hash.

A token acts with its user's role, through the same permissions as the pages. It stops working when revoked or
when its user is deactivated. Tokens carry 256 bits of randomness, so a plain SHA-256 (no salt, no slow hash) is
enough: nobody can guess a preimage, and looking a token up by its hash means no timing difference in comparing
secrets — the database only ever compares digests.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa

from stella.extensions import db
from stella.models import ApiToken, User
from stella.services.audit import record_event
from stella.services.errors import NotFoundError, PermissionDeniedError, ValidationError

# Recognisable in logs, chat messages and secret scanners ("stl_" + 43 URL-safe characters).
TOKEN_PREFIX = "stl_"
# How much of a token is kept in clear for the owner to tell tokens apart: the marker and 6 random characters.
DISPLAY_PREFIX_LENGTH = 10
NAME_MAX_LENGTH = 100
# `last_used_at` is written at most this often per token, so a busy script does not cost a write per call.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# Anything longer is not one of ours; refusing it early keeps hashing cheap for junk headers.
_MAX_TOKEN_LENGTH = 128


def hash_token(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def validate_token_name(name: str | None) -> str:
    """A short label the owner chooses ("Zapier", "listing import script"); printable text, 1–100 characters."""
    cleaned = (name or "").strip()
    if not cleaned:
        raise ValidationError("Give the token a name, so you can tell it apart later.", field="name")
    if len(cleaned) > NAME_MAX_LENGTH:
        raise ValidationError(f"Keep the name to {NAME_MAX_LENGTH} characters or fewer.", field="name")
    if any(unicodedata.category(char) == "Cc" for char in cleaned):
        raise ValidationError("The name cannot contain control characters.", field="name")
    return cleaned


def create_api_token(user: User, name: str, now: datetime) -> tuple[ApiToken, str]:
    """Create a token for `user`; returns the row and the plaintext token, which is never stored or shown again."""
    cleaned = validate_token_name(name)
    if not user.is_active:
        raise PermissionDeniedError("A deactivated account cannot have API tokens.")
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=cleaned,
        token_hash=hash_token(plaintext),
        prefix=plaintext[:DISPLAY_PREFIX_LENGTH],
        created_at=now,
    )
    db.session.add(token)
    db.session.flush()
    record_event("api_token.created", subject_type="api_token", subject_id=token.id, actor_id=user.id)
    return token, plaintext


def list_api_tokens(user: User) -> list[ApiToken]:
    """The user's tokens, active ones first, newest first within each group."""
    return list(
        db.session.scalars(
            sa.select(ApiToken)
            .where(ApiToken.user_id == user.id)
            .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(), ApiToken.id)
        )
    )


def get_api_token(user: User, token_id: uuid.UUID) -> ApiToken:
    """The user's own token; another user's (or none) is NotFoundError, never a hint that it exists."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFoundError("That API token does not exist.")
    return token


def revoke_api_token(user: User, token_id: uuid.UUID, now: datetime) -> ApiToken:
    """Stop one of the user's tokens from working. Revoking a revoked token changes nothing."""
    token = get_api_token(user, token_id)
    if token.revoked_at is None:
        token.revoked_at = now
        db.session.flush()
        record_event("api_token.revoked", subject_type="api_token", subject_id=token.id, actor_id=user.id)
    return token


def authenticate_token(plaintext: str | None, now: datetime) -> User | None:
    """The active user a presented token belongs to, or None (unknown, malformed or revoked token; inactive user).

    Records when the token was last used, at most once per LAST_USED_RESOLUTION (flushed, not committed).
    """
    if not plaintext or not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) > _MAX_TOKEN_LENGTH:
        return None
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == hash_token(plaintext)))
    if token is None or token.revoked_at is not None:
        return None
    user = db.session.get(User, token.user_id)
    if user is None or not user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
        db.session.flush()
    return user
