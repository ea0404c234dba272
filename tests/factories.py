"""Plain factory functions for test data."""

from __future__ import annotations

import itertools
from typing import Any

from werkzeug.security import generate_password_hash

from stella.extensions import db
from stella.models import SocialPost, User

DEFAULT_PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)
# Hashing with scrypt is deliberately slow; tests share one hash of the default password.
_DEFAULT_HASH = generate_password_hash(DEFAULT_PASSWORD)


def make_user(role: str = "marketing", *, email: str | None = None, password: str | None = None, **fields: Any) -> User:
    n = next(_counter)
    user = User(
        email=(email or f"user{n}@example.com").lower(),
        password_hash=_DEFAULT_HASH if password is None else generate_password_hash(password),
        display_name=fields.pop("display_name", f"Test User {n}"),
        role=role,
        **fields,
    )
    db.session.add(user)
    db.session.flush()
    return user


def make_post(author: User | None = None, **fields: Any) -> SocialPost:
    post = SocialPost(
        content=fields.pop("content", "Open house this Saturday at 12 Elm Street!"),
        platforms=fields.pop("platforms", ["facebook", "linkedin"]),
        created_by=author.id if author else None,
        owner_id=author.id if author else None,
        **fields,
    )
    db.session.add(post)
    db.session.flush()
    return post
