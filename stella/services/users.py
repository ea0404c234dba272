"""User administration: every rule about accounts, roles, passwords and profiles lives here.

Services add and flush; the caller (a view or a CLI command) commits.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, cast
from zoneinfo import available_timezones

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from stella.extensions import db
from stella.models import AuditLog, User, UserSession
from stella.models.types import now_utc
from stella.models.user import ROLES
from stella.services.audit import record_event
from stella.services.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError

MIN_PASSWORD_LENGTH = 10
# Beyond this a password is almost certainly a paste error, and hashing it costs for nothing.
MAX_PASSWORD_LENGTH = 256
MAX_EMAIL_LENGTH = 254
MAX_DISPLAY_NAME_LENGTH = 120
DEFAULT_ADMIN_EMAIL = "admin@stella.local"

# Deliberately loose: one @, no spaces, a dot in the domain. Deliverability is not our business and
# the bootstrap address (`.local`) must pass, which stricter validators refuse.
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


class WrongCurrentPasswordError(ValidationError):
    """The current password given to confirm a password change is wrong (an attempt at the password)."""


@dataclass(frozen=True)
class CreatedUser:
    user: User
    # Set only when Stella made the password up; show it once, never store or log it.
    generated_password: str | None


@lru_cache(maxsize=1)
def timezone_names() -> tuple[str, ...]:
    """Every IANA zone name this system knows, sorted for pickers."""
    return tuple(sorted(available_timezones()))


def normalize_email(raw: str | None) -> str:
    """Trim and lower-case an address, or raise `ValidationError` with a message fit for the form."""
    email = (raw or "").strip().lower()
    if not email:
        raise ValidationError("Enter an email address.", field="email")
    if len(email) > MAX_EMAIL_LENGTH or not _EMAIL_RE.match(email):
        raise ValidationError("Enter a valid email address, like name@example.com.", field="email")
    return email


def validate_role(role: str | None) -> str:
    if role not in ROLES:
        raise ValidationError(f"Choose one of the roles: {', '.join(ROLES)}.", field="role")
    return role


def validate_new_password(password: str | None, *, field: str = "password") -> str:
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"Use at least {MIN_PASSWORD_LENGTH} characters for the password.", field=field)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationError(f"Use at most {MAX_PASSWORD_LENGTH} characters for the password.", field=field)
    if not password.strip():
        raise ValidationError("The password cannot be only spaces.", field=field)
    return password


def validate_display_name(name: str | None) -> str:
    name = (name or "").strip()
    if len(name) > MAX_DISPLAY_NAME_LENGTH:
        raise ValidationError(
            f"Keep the display name under {MAX_DISPLAY_NAME_LENGTH} characters.", field="display_name"
        )
    return name


def validate_timezone(name: str | None) -> str:
    name = (name or "").strip()
    if name not in timezone_names():
        raise ValidationError(
            "Choose a time zone from the list, like Europe/London or America/New_York.", field="timezone"
        )
    return name


def generate_password() -> str:
    """A random password of about 96 bits, easy to copy (URL-safe characters)."""
    return secrets.token_urlsafe(12)


def find_user_by_email(email: str) -> User | None:
    normalized = email.strip().lower()
    return db.session.scalar(sa.select(User).where(sa.func.lower(User.email) == normalized))


def get_user(user_id: uuid.UUID) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFoundError("That user does not exist.")
    return user


def list_users() -> list[User]:
    """Everyone, active accounts first, then by email."""
    return list(db.session.scalars(sa.select(User).order_by(User.is_active.desc(), User.email)))


def count_active_admins() -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(User).where(User.role == "admin", User.is_active.is_(True))
    ) or 0


def create_user(
    *,
    email: str,
    role: str,
    display_name: str = "",
    password: str | None = None,
    actor: User | None = None,
) -> CreatedUser:
    """Create an active account. Without `password`, one is generated and returned once in `CreatedUser`."""
    normalized = normalize_email(email)
    role = validate_role(role)
    name = validate_display_name(display_name)
    generated = None
    if password:
        validate_new_password(password)
    else:
        password = generated = generate_password()
    if find_user_by_email(normalized) is not None:
        raise ConflictError("A user with that email address already exists.", field="email")

    user = User(
        email=normalized,
        password_hash=generate_password_hash(password),
        display_name=name,
        role=role,
        timezone="UTC",
        is_active=True,
        session_version=1,
    )
    db.session.add(user)
    try:
        db.session.flush()
    except sa.exc.IntegrityError:
        # Lost a race with another request on the unique index; the caller rolls back as for any DomainError.
        raise ConflictError("A user with that email address already exists.", field="email") from None
    record_event(
        "user.created",
        subject_type="user",
        subject_id=user.id,
        actor_id=actor.id if actor else None,
        role=role,
        generated_password=generated is not None,
    )
    return CreatedUser(user=user, generated_password=generated)


def change_role(user: User, role: str, *, actor: User | None = None) -> User:
    """Give `user` another role. Admins cannot demote themselves, and the last active admin stays admin."""
    role = validate_role(role)
    if role == user.role:
        return user
    if user.role == "admin" and role != "admin":
        if actor is not None and actor.id == user.id:
            raise PermissionDeniedError("You cannot remove your own admin role; ask another admin.", field="role")
        if user.is_active and count_active_admins() <= 1:
            raise PermissionDeniedError("This is the last active admin; make someone else admin first.", field="role")
    previous = user.role
    user.role = role
    db.session.flush()
    record_event(
        "user.role_changed",
        subject_type="user",
        subject_id=user.id,
        actor_id=actor.id if actor else None,
        previous=previous,
        role=role,
    )
    return user


def end_sessions(user: User, *, now: datetime) -> int:
    """Revoke every open server-side session of `user`; return how many.

    Bumping `session_version` already refuses them all; revoking the rows keeps the table truthful.
    """
    statement = (
        sa.update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    result = cast(sa.CursorResult[Any], db.session.execute(statement, execution_options={"synchronize_session": False}))
    return result.rowcount


def deactivate_user(user: User, *, actor: User | None = None, now: datetime | None = None) -> User:
    """Stop `user` signing in and end their open sessions."""
    if not user.is_active:
        return user
    if actor is not None and actor.id == user.id:
        raise PermissionDeniedError("You cannot deactivate your own account.")
    if user.role == "admin" and count_active_admins() <= 1:
        raise PermissionDeniedError("This is the last active admin; make someone else admin first.")
    user.is_active = False
    # The session id includes this version, so every cookie issued before now stops working.
    user.session_version = (user.session_version or 1) + 1
    end_sessions(user, now=now or now_utc())
    db.session.flush()
    record_event("user.deactivated", subject_type="user", subject_id=user.id, actor_id=actor.id if actor else None)
    return user


def reactivate_user(user: User, *, actor: User | None = None) -> User:
    if user.is_active:
        return user
    user.is_active = True
    db.session.flush()
    record_event("user.reactivated", subject_type="user", subject_id=user.id, actor_id=actor.id if actor else None)
    return user


def set_password(
    user: User, new_password: str, *, actor: User | None = None, now: datetime | None = None
) -> User:
    """Replace the password (no check of the old one: for admins and the CLI) and end open sessions."""
    validate_new_password(new_password)
    user.password_hash = generate_password_hash(new_password)
    user.session_version = (user.session_version or 1) + 1
    end_sessions(user, now=now or now_utc())
    db.session.flush()
    record_event(
        "user.password_set", subject_type="user", subject_id=user.id, actor_id=actor.id if actor else None
    )
    return user


def change_password(
    user: User, *, current_password: str, new_password: str, confirm_password: str, now: datetime | None = None
) -> User:
    """The user's own password change: proves the current one first. Every session of the user ends.

    Not throttled: the profile page goes through `services.auth.change_own_password`, which limits guesses.
    """
    if not current_password or not check_password_hash(user.password_hash, current_password):
        raise WrongCurrentPasswordError("Your current password is not correct.", field="current_password")
    validate_new_password(new_password, field="new_password")
    if new_password != confirm_password:
        raise ValidationError("The two new passwords do not match.", field="confirm_password")
    if check_password_hash(user.password_hash, new_password):
        raise ValidationError("Choose a password different from the current one.", field="new_password")
    user.password_hash = generate_password_hash(new_password)
    user.session_version = (user.session_version or 1) + 1
    end_sessions(user, now=now or now_utc())
    db.session.flush()
    record_event("user.password_changed", subject_type="user", subject_id=user.id, actor_id=user.id)
    return user


def update_profile(user: User, *, display_name: str, timezone: str) -> User:
    """Change the user's own display name and time zone (an IANA name)."""
    name = validate_display_name(display_name)
    zone = validate_timezone(timezone)
    changed = sorted(
        field for field, old, new in (("display_name", user.display_name, name), ("timezone", user.timezone, zone))
        if old != new
    )
    if not changed:
        return user
    user.display_name = name
    user.timezone = zone
    db.session.flush()
    record_event("user.profile_updated", subject_type="user", subject_id=user.id, actor_id=user.id, fields=changed)
    return user


def bootstrap_admin(email: str | None = None) -> CreatedUser | None:
    """Create the first admin with a generated password when there are no users at all; else do nothing."""
    if db.session.scalar(sa.select(sa.func.count()).select_from(User)):
        return None
    return create_user(email=email or DEFAULT_ADMIN_EMAIL, role="admin", display_name="Administrator")


def uses_generated_password(user: User) -> bool:
    """True while the user still signs in with the one-time password Stella generated (`make run`'s first admin, or
    a user an admin added without choosing a password): created with one, and no password set or changed since."""
    events = db.session.execute(
        sa.select(AuditLog.action, AuditLog.details).where(
            AuditLog.subject_type == "user",
            AuditLog.subject_id == str(user.id),
            AuditLog.action.in_(("user.created", "user.password_set", "user.password_changed")),
        )
    ).all()
    created = [details for action, details in events if action == "user.created"]
    replaced = any(action != "user.created" for action, _ in events)
    return bool(created) and bool(created[0].get("generated_password")) and not replaced
