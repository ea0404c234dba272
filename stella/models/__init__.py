"""Typed SQLAlchemy models, one module per aggregate. Table and column names follow shared/seed/schema.md."""

from stella.models.audit import AuditLog
from stella.models.connection import SocialAccountToken, SocialConnection
from stella.models.oauth import MastodonApp, OAuthState
from stella.models.post import SocialAnalytics, SocialPost
from stella.models.user import LoginAttempt, User

__all__ = [
    "AuditLog",
    "LoginAttempt",
    "MastodonApp",
    "OAuthState",
    "SocialAccountToken",
    "SocialAnalytics",
    "SocialConnection",
    "SocialPost",
    "User",
]
