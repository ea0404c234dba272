from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column

from stella.extensions import Model
from stella.models.types import UTCDateTime, new_uuid, now_utc, utc_now

ROLES: tuple[str, ...] = ("staff", "marketing", "approver", "admin")


class User(UserMixin, Model):
    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint(f"role IN ({', '.join(repr(r) for r in ROLES)})", name="ck_users_role"),
        # Email is unique whatever its case; the service also stores it lower-cased.
        sa.Index("uq_users_email_lower", sa.func.lower(sa.column("email")), unique=True),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4, server_default=new_uuid())
    email: Mapped[str] = mapped_column(sa.Text)
    password_hash: Mapped[str] = mapped_column(sa.Text)
    display_name: Mapped[str] = mapped_column(sa.Text, server_default="")
    role: Mapped[str] = mapped_column(sa.Text, server_default="staff")
    timezone: Mapped[str] = mapped_column(sa.Text, server_default="UTC")
    is_active: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=utc_now())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=utc_now(), onupdate=now_utc)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Bumped on password change or deactivation so existing sessions stop working.
    session_version: Mapped[int] = mapped_column(sa.Integer, server_default="1")

    @property
    def session_token(self) -> str | None:
        """The random id of the server-side session (`UserSession`) this request runs under, set by `services.auth`
        when the user signs in or a request resumes a session. Not a column: only its SHA-256 is stored."""
        token: str | None = getattr(self, "_session_token", None)
        return token

    @session_token.setter
    def session_token(self, token: str | None) -> None:
        self._session_token = token

    def get_id(self) -> str:
        # What Flask-Login keeps in the signed cookie; `services.auth.resume_session` takes it apart again.
        return f"{self.id}:{self.session_version}:{self.session_token or ''}"

    @property
    def label(self) -> str:
        return self.display_name or self.email

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


class LoginAttempt(Model):
    """One sign-in attempt; recent failures per account or per address throttle further tries."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        sa.Index("ix_login_attempts_email_created_at", "email", "created_at"),
        sa.Index("ix_login_attempts_remote_addr_created_at", "remote_addr", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4, server_default=new_uuid())
    email: Mapped[str] = mapped_column(sa.Text)
    remote_addr: Mapped[str] = mapped_column(sa.Text)
    succeeded: Mapped[bool] = mapped_column(sa.Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=utc_now())


class UserSession(Model):
    """One sign-in of one browser. Signing out (or a password change, or deactivation) revokes it.

    The cookie carries a random session id; only its SHA-256 is kept here, so a database reader cannot resume
    anyone's session. Address and browser are kept so a person can recognise their own sessions.
    """

    __tablename__ = "user_sessions"
    __table_args__ = (sa.Index("ix_user_sessions_user_id", "user_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4, server_default=new_uuid())
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(sa.Text, unique=True)
    remote_addr: Mapped[str] = mapped_column(sa.Text)
    user_agent: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=utc_now())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=utc_now())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
