"""Typed SQLAlchemy models, one module per aggregate. Table and column names follow shared/seed/schema.md."""

from stella.models.api import ApiIdempotencyKey, ApiToken
from stella.models.audit import AuditLog
from stella.models.connection import SocialAccountToken, SocialConnection
from stella.models.media import MediaAsset, SocialPostMedia
from stella.models.oauth import MastodonApp, OAuthState
from stella.models.post import SocialAnalytics, SocialPost
from stella.models.target import SocialPostTarget
from stella.models.user import LoginAttempt, User, UserSession

__all__ = [
    "ApiIdempotencyKey",
    "ApiToken",
    "AuditLog",
    "LoginAttempt",
    "MastodonApp",
    "MediaAsset",
    "OAuthState",
    "SocialAccountToken",
    "SocialAnalytics",
    "SocialConnection",
    "SocialPost",
    "SocialPostMedia",
    "SocialPostTarget",
    "User",
    "UserSession",
]
