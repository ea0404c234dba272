"""Roles and what each may do: the one place views, templates and services ask."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from functools import wraps
from typing import Any, Protocol, TypeVar

from flask import abort
from flask_login import current_user


class Ability(StrEnum):
    VIEW = "view"
    CREATE_POSTS = "create_posts"
    SCHEDULE_POSTS = "schedule_posts"
    MANAGE_CONNECTIONS = "manage_connections"
    APPROVE_POSTS = "approve_posts"
    MANAGE_USERS = "manage_users"


_STAFF = frozenset({Ability.VIEW})
_MARKETING = _STAFF | {Ability.CREATE_POSTS, Ability.SCHEDULE_POSTS, Ability.MANAGE_CONNECTIONS}
_APPROVER = _MARKETING | {Ability.APPROVE_POSTS}
_ADMIN = _APPROVER | {Ability.MANAGE_USERS}

ROLE_ABILITIES: dict[str, frozenset[Ability]] = {
    "staff": _STAFF,
    "marketing": _MARKETING,
    "approver": _APPROVER,
    "admin": _ADMIN,
}

ROLE_DESCRIPTIONS: dict[str, str] = {
    "staff": "Reads posts, calendar and analytics",
    "marketing": "Also connects accounts, creates and schedules posts",
    "approver": "Also approves or rejects posts",
    "admin": "Also manages users",
}


class HasRole(Protocol):
    role: str
    is_active: bool


def can(user: Any, ability: Ability | str) -> bool:
    """True when `user` is a signed-in, active user whose role grants `ability`."""
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return False
    return Ability(ability) in ROLE_ABILITIES.get(getattr(user, "role", ""), frozenset())


F = TypeVar("F", bound=Callable[..., Any])


def requires(ability: Ability) -> Callable[[F], F]:
    """View decorator: 403 unless the current user has `ability` (sign-in is enforced app-wide)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not can(current_user, ability):
                abort(403)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def public(view: F) -> F:
    """Mark a view as reachable without signing in (everything else is denied by default)."""
    view.is_public = True  # type: ignore[attr-defined]
    return view
