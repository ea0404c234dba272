"""The provider interface: small dataclasses in and out, and a base class for OAuth 2 platforms.

A platform module subclasses `Provider`, declares its URLs, scopes and rules, and overrides only its quirks.
Providers know nothing of Flask, the session or the models.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal, get_args

import requests
from oauthlib.oauth2 import WebApplicationClient
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session

from stella.providers.errors import (
    AuthExpiredError,
    ProviderError,
    RateLimitedError,
    RejectedError,
    TransientError,
)
from stella.providers.http import HttpClient

# -- data passed in and out ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientCredentials:
    client_id: str
    client_secret: str
    # Per-instance platforms (Mastodon): the instance these credentials were registered on.
    instance_url: str | None = None


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str | None = None
    expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None
    scopes: frozenset[str] = frozenset()
    # Ids the token endpoint returned (Instagram `user_id`, TikTok `open_id`, Bluesky `did`, ...).
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:  # never print a token
        return f"TokenSet(expires_at={self.expires_at!r}, scopes={sorted(self.scopes)!r})"


@dataclass(frozen=True)
class Profile:
    platform_account_id: str
    handle: str | None
    display_name: str | None
    avatar_url: str | None = None
    # Platform ids to keep in `auth_metadata` (author URN, channel id, PDS url, ...).
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Target:
    """Something a login gives access to and the user must pick: a Page, an organization, a channel..."""

    id: str
    name: str
    kind: str
    handle: str | None = None
    avatar_url: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Account:
    """What publishing and metrics need about a connected account (tokens already decrypted)."""

    access_token: str
    platform_account_id: str
    handle: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Account(platform_account_id={self.platform_account_id!r}, handle={self.handle!r})"


MediaKind = Literal["image", "video"]


@dataclass(frozen=True)
class MediaItem:
    url: str
    kind: MediaKind
    mime_type: str | None = None
    size_bytes: int | None = None
    alt_text: str = ""
    # Bytes, when the caller already has them; providers that must upload fetch them otherwise.
    data: bytes | None = field(default=None, repr=False)
    # As displayed (rotation applied) and as probed when Stella stored the file; None when unknown.
    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = None


@dataclass(frozen=True)
class OutboundPost:
    text: str
    media: tuple[MediaItem, ...] = ()
    # Stable for every attempt at publishing this post to this platform.
    idempotency_key: str = ""
    title: str | None = None
    link: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)


PublishState = Literal["published", "processing"]


@dataclass(frozen=True)
class PublishResult:
    """`processing` means the platform is still working: call `check_publish(account, poll)` later."""

    state: PublishState
    platform_post_id: str | None = None
    permalink: str | None = None
    poll: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class MetricSample:
    platform_post_id: str | None
    impressions: int = 0
    engagement: int = 0
    shares: int = 0
    comments: int = 0
    likes: int = 0
    raw: Mapping[str, Any] = field(default_factory=dict)


TextCounting = Literal["chars", "x_weighted", "utf8_bytes", "chars_emoji_utf8", "graphemes", "utf16"]


@dataclass(frozen=True)
class PlatformRules:
    """What a post must satisfy on this platform; checked by `stella.providers.rules.validate`."""

    max_chars: int
    counting: TextCounting = "chars"
    max_bytes: int | None = None  # a second, byte-length limit (Bluesky)
    url_length: int | None = None  # every URL counts as this many characters (X, Mastodon)
    requires_media: bool = False
    requires_video: bool = False
    max_images: int = 0
    max_videos: int = 0
    mixed_media: bool = False  # images and videos in one post
    image_types: tuple[str, ...] = ("image/jpeg", "image/png")
    video_types: tuple[str, ...] = ("video/mp4",)
    max_image_bytes: int | None = None
    max_video_bytes: int | None = None
    max_title_chars: int | None = None
    notes: tuple[str, ...] = ()


PostFormat = Literal[
    "post",  # text with optional photos, a video or a link (X, Bluesky, Mastodon, Threads, a Facebook Page, LinkedIn)
    "image",  # a single feed photo (Instagram)
    "carousel",  # several photos (and videos) swiped through as one post
    "reel",  # a short vertical video in its own feed (Instagram)
    "story",  # a photo or video shown for 24 hours (Instagram)
    "video",  # a video as the post itself (TikTok, YouTube)
    "short",  # a vertical video of up to three minutes (YouTube Shorts)
    "pin",  # an image or video pin on a board (Pinterest)
    "update",  # a "What's new" post on a business location (Google Business Profile)
    "offer",  # an offer with a schedule, coupon and terms (Google Business Profile)
    "event",  # an event with a title and a schedule (Google Business Profile)
]
POST_FORMATS: tuple[PostFormat, ...] = get_args(PostFormat)


@dataclass(frozen=True)
class Capabilities:
    """What a platform offers to publish, declared once on its provider; the composer offers exactly this."""

    # The kinds of post the platform takes, most common first.
    formats: tuple[PostFormat, ...]
    # A chain of posts, each replying to the one before, published as one thread.
    supports_threads: bool = False
    # A text description on each photo for people who cannot see it.
    supports_alt_text: bool = False
    # What the user picks after signing in (`Target.kind`), when a login reaches several accounts; empty when
    # the login itself is the account published to.
    target_kinds: tuple[str, ...] = ()


# -- the base class ---------------------------------------------------------------------------------------

ClientAuth = Literal["basic", "body"]
AuthStyle = Literal["oauth2", "app_password"]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Provider:
    """Base for every platform. Subclasses declare; they override methods only for the platform's quirks."""

    name: ClassVar[str]
    display_name: ClassVar[str]
    icon: ClassVar[str]  # a bootstrap-icons name
    color: ClassVar[str]  # brand colour for chips and charts
    # What the Connections page says Stella publishes there, before anyone clicks Connect.
    tagline: ClassVar[str] = ""

    # -- capabilities: what the rest of Stella asks instead of guessing from the methods a class has --------
    # "oauth2": a redirect to the platform's consent page; "app_password": a form whose password is used once to
    # open a session (`create_session`).
    auth_style: ClassVar[AuthStyle] = "oauth2"
    # True when a user types a server (Mastodon): credentials are then registered per instance (`register_app`).
    needs_instance: ClassVar[bool] = False
    # True when a login can reach several targets the user must choose between (`list_targets`).
    has_targets: ClassVar[bool] = False
    # True when Stella can end its own access at the platform (`revoke`): on disconnect and when a sign-in
    # replaces another account.
    revocable: ClassVar[bool] = False
    capabilities: ClassVar[Capabilities]
    # App-password platforms: the server most accounts sign in at (the user may type their own), and where in the
    # platform's settings an app password is made.
    default_service_url: ClassVar[str | None] = None
    app_password_location: ClassVar[str] = ""

    authorize_url: ClassVar[str] = ""
    token_url: ClassVar[str] = ""
    revoke_url: ClassVar[str | None] = None
    # The default scopes; a deployment may replace them (`requested_scopes`), so only defaults live here.
    scopes: ClassVar[tuple[str, ...]] = ()
    scope_separator: ClassVar[str] = " "
    uses_pkce: ClassVar[bool] = False
    client_auth: ClassVar[ClientAuth] = "body"
    extra_authorize_params: ClassVar[Mapping[str, str]] = {}
    # Refresh tokens expiring within this margin.
    refresh_margin: ClassVar[timedelta] = timedelta(minutes=15)

    developer_portal: ClassVar[str] = ""
    setup_notes: ClassVar[str] = ""
    rules: ClassVar[PlatformRules]

    def __init__(
        self,
        credentials: ClientCredentials,
        http: HttpClient,
        *,
        clock: Callable[[], datetime] = utc_now,
        options: Mapping[str, str] | None = None,
    ) -> None:
        self.credentials = credentials
        self.http = http
        self.clock = clock
        # Deployment options from the Config (`scopes`, `login_config_id`, `api_url`), already validated there.
        self.options: Mapping[str, str] = dict(options or {})

    @classmethod
    def account_rules(cls, metadata: Mapping[str, Any]) -> PlatformRules:
        """The rules for one connected account; `metadata` is what was stored when it connected. Platforms whose
        limits differ per account or server (a Mastodon instance's) override this."""
        return cls.rules

    @classmethod
    def option_problems(cls, options: Mapping[str, Any], media: tuple[MediaItem, ...]) -> list[Any]:
        """Problems with the platform's own choices for a post (format, title, privacy...), as
        `stella.providers.rules.Problem`s; none by default."""
        return []

    @classmethod
    def effective_scopes(cls, options: Mapping[str, str] | None = None) -> tuple[str, ...]:
        """The scopes a deployment asks for: `STELLA_<NAME>_SCOPES` when set, else the class's `scopes`."""
        override = (options or {}).get("scopes", "")
        tokens = tuple(dict.fromkeys(t for t in override.replace(",", " ").split() if t))
        return tokens or tuple(cls.scopes)

    @property
    def requested_scopes(self) -> tuple[str, ...]:
        """What this instance sends and checks: use it, never the class's `scopes`, once a provider exists."""
        return self.effective_scopes(self.options)

    # -- sign-in hooks a platform implements when its capabilities say so --------------------------------

    def register_app(self, instance_url: str, redirect_uri: str) -> ClientCredentials:
        """Register Stella as an app on the user's server and return its client credentials (`needs_instance`)."""
        raise NotImplementedError(f"{self.display_name} has no per-server app registration (needs_instance is False).")

    def create_session(self, service_url: str, handle: str, app_password: str) -> TokenSet:
        """Sign in with a handle and an app password, used once and never kept (`auth_style` "app_password")."""
        raise NotImplementedError(f"{self.display_name} does not sign in with an app password (auth_style "
                                  f"{self.auth_style!r}).")

    # -- authorization ---------------------------------------------------------------------------------

    def authorization_url(self, *, redirect_uri: str, state: str, code_challenge: str | None = None) -> str:
        """The platform's consent page URL, routed for the browser (sandbox-aware)."""
        session = OAuth2Session(
            client=WebApplicationClient(self.credentials.client_id),
            redirect_uri=redirect_uri,
            scope=self.scope_separator.join(self.requested_scopes) if self.requested_scopes else None,
        )
        params: dict[str, str] = dict(self.extra_authorize_params)
        if self.uses_pkce and code_challenge:
            params.update(code_challenge=code_challenge, code_challenge_method="S256")
        url, _ = session.authorization_url(self.authorize_url, state=state, **params)
        return self.http.browser_url(url)

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str | None = None) -> TokenSet:
        """Trade the authorization code for tokens."""
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        if self.uses_pkce and code_verifier:
            form["code_verifier"] = code_verifier
        return self.parse_token_response(self.token_request(form))

    def refresh(self, tokens: TokenSet) -> TokenSet:
        """Get a fresh access token. Keeps the old refresh token when the platform does not send a new one."""
        if not tokens.refresh_token:
            raise AuthExpiredError(f"{self.display_name} gave no refresh token; please reconnect.", platform=self.name)
        fresh = self.parse_token_response(
            self.token_request({"grant_type": "refresh_token", "refresh_token": tokens.refresh_token})
        )
        return keep_refresh_token(fresh, tokens)

    def can_refresh(self, tokens: TokenSet) -> bool:
        return bool(tokens.refresh_token)

    def revoke(self, tokens: TokenSet) -> None:
        """Revoke the token at the platform's `revoke_url` (RFC 7009); only for a `revocable` platform."""
        if not self.revoke_url:
            raise NotImplementedError(f"{self.display_name} offers no way to revoke Stella's access (revocable is "
                                      "False).")
        self.http.request(
            "POST",
            self.revoke_url,
            data={"token": tokens.access_token, **self._client_auth_fields()},
            auth=self._client_basic_auth(),
            classify=self.classify_error,
        )

    def fetch_profile(self, tokens: TokenSet) -> Profile:
        raise NotImplementedError

    def list_targets(self, tokens: TokenSet, profile: Profile) -> list[Target]:
        """Targets the user must choose between; empty when the login itself is the account."""
        return []

    def apply_target(self, tokens: TokenSet, target: Target) -> tuple[TokenSet, Profile]:
        """The tokens and profile to store once the user picked `target` (e.g. a Page token)."""
        return tokens, Profile(
            platform_account_id=target.id,
            handle=target.handle,
            display_name=target.name,
            avatar_url=target.avatar_url,
            metadata=dict(target.metadata),
        )

    # -- publishing and metrics ------------------------------------------------------------------------

    def publish(self, account: Account, post: OutboundPost) -> PublishResult:
        """Create the post (every step up to and including the one that makes it public)."""
        raise NotImplementedError

    def check_publish(self, account: Account, poll: Mapping[str, Any]) -> PublishResult:
        """Ask the platform how a `processing` publish is going (status polling, kept separate)."""
        raise NotImplementedError

    def fetch_metrics(self, account: Account, platform_post_ids: list[str]) -> list[MetricSample]:
        raise NotImplementedError

    # -- helpers for subclasses ------------------------------------------------------------------------

    def token_request(
        self, form: Mapping[str, str], *, method: str = "POST", url: str | None = None, untrusted: bool = False
    ) -> dict[str, Any]:
        """Call the token endpoint with this platform's client-authentication style; return the JSON body.

        `untrusted` when the endpoint is on a server a user named (a Mastodon instance): the SSRF guard applies.
        """
        fields = {**form, **self._client_auth_fields()}
        if method == "GET":
            response = self.http.request(
                "GET", url or self.token_url, params=fields, classify=self.classify_token_error, untrusted=untrusted
            )
        else:
            response = self.http.request(
                "POST",
                url or self.token_url,
                data=fields,
                auth=self._client_basic_auth(),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                classify=self.classify_token_error,
                untrusted=untrusted,
            )
        return self.json(response)

    def parse_token_response(self, payload: Mapping[str, Any]) -> TokenSet:
        access = payload.get("access_token")
        if not access:
            raise RejectedError(f"{self.display_name} did not return an access token.", platform=self.name)
        now = self.clock()
        expires_in = payload.get("expires_in")
        refresh_expires_in = payload.get("refresh_token_expires_in") or payload.get("refresh_expires_in")
        scope = payload.get("scope")
        if isinstance(scope, str):
            scopes = frozenset(s for s in scope.replace(",", " ").split() if s)
        elif isinstance(scope, list):
            scopes = frozenset(str(s) for s in scope)
        else:
            scopes = frozenset()
        known = {"access_token", "refresh_token", "expires_in", "refresh_token_expires_in", "refresh_expires_in",
                 "scope", "token_type"}
        return TokenSet(
            access_token=str(access),
            refresh_token=payload.get("refresh_token") or None,
            expires_at=now + timedelta(seconds=int(expires_in)) if expires_in else None,
            refresh_expires_at=now + timedelta(seconds=int(refresh_expires_in)) if refresh_expires_in else None,
            scopes=scopes,
            extra={k: v for k, v in payload.items() if k not in known},
        )

    def _client_auth_fields(self) -> dict[str, str]:
        if self.client_auth == "basic":
            return {}
        return {"client_id": self.credentials.client_id, "client_secret": self.credentials.client_secret}

    def _client_basic_auth(self) -> HTTPBasicAuth | None:
        if self.client_auth != "basic":
            return None
        return HTTPBasicAuth(self.credentials.client_id, self.credentials.client_secret)

    def bearer(self, access_token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {access_token}"}

    def json(self, response: requests.Response) -> dict[str, Any]:
        """The JSON body of a successful answer; a non-JSON body is an error of its own."""
        if not response.content:
            return {}
        try:
            payload = response.json()
        except ValueError as exc:
            raise TransientError(
                f"{self.display_name} sent an answer Stella could not read.", platform=self.name
            ) from exc
        return payload if isinstance(payload, dict) else {"data": payload}

    # -- error classification --------------------------------------------------------------------------

    def classify_error(self, response: requests.Response) -> ProviderError:
        """Turn an error answer from the API into a typed error. Platforms override for their error shapes."""
        return classify_generic(self, response)

    def classify_token_error(self, response: requests.Response) -> ProviderError:
        """Errors from the token endpoint (https://www.rfc-editor.org/rfc/rfc6749#section-5.2 shape by default)."""
        body = safe_json(response)
        raw = body.get("error")
        if isinstance(raw, Mapping):  # an API-style envelope ({"error": {"code", "message", ...}}) from a token call
            error = str(raw.get("code") or raw.get("type") or "")
            description = str(raw.get("message") or error or response.reason)
        else:
            error = str(raw or "")
            description = str(body.get("error_description") or body.get("message") or error or response.reason)
        if response.status_code >= 500:
            return TransientError(
                f"{self.display_name} is having trouble ({response.status_code}).", platform=self.name
            )
        if response.status_code == 429:
            return RateLimitedError(
                f"{self.display_name} is rate limiting sign-ins; try again shortly.",
                retry_after=retry_after_seconds(response),
                platform=self.name,
            )
        if error == "invalid_grant":
            return AuthExpiredError(
                f"{self.display_name} refused the authorization ({description}). Please reconnect.",
                platform=self.name,
                code=error,
            )
        return RejectedError(
            f"{self.display_name} refused the sign-in: {description}", platform=self.name, code=error or None
        )


def keep_refresh_token(fresh: TokenSet, old: TokenSet) -> TokenSet:
    """Platforms that do not rotate refresh tokens omit them from refresh answers: keep the old one."""
    if fresh.refresh_token:
        return fresh
    return TokenSet(
        access_token=fresh.access_token,
        refresh_token=old.refresh_token,
        expires_at=fresh.expires_at,
        refresh_expires_at=fresh.refresh_expires_at or old.refresh_expires_at,
        scopes=fresh.scopes or old.scopes,
        extra={**old.extra, **fresh.extra},
    )


def safe_json(response: requests.Response) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def retry_after_seconds(response: requests.Response) -> float | None:
    """Seconds to wait from `Retry-After` (seconds or HTTP date) when present."""
    raw = response.headers.get("Retry-After")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, (parsedate_to_datetime(raw) - utc_now()).total_seconds())
        except (TypeError, ValueError):
            return None


def classify_generic(provider: Provider, response: requests.Response) -> ProviderError:
    """Status-code based classification for platforms without a special error shape."""
    status = response.status_code
    body = safe_json(response)
    message = _first_message(body) or response.reason or f"HTTP {status}"
    name = provider.display_name
    if status == 401:
        return AuthExpiredError(f"{name} no longer accepts Stella's access: {message}", platform=provider.name)
    if status == 429:
        return RateLimitedError(
            f"{name} is rate limiting requests.", retry_after=retry_after_seconds(response), platform=provider.name
        )
    if status >= 500:
        return TransientError(f"{name} is having trouble ({status}).", platform=provider.name)
    return RejectedError(f"{name} refused the request: {message}", platform=provider.name)


def _first_message(body: Mapping[str, Any]) -> str | None:
    for key in ("message", "error_description", "detail", "title", "error"):
        value = body.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, Mapping):
            nested = _first_message(value)
            if nested:
                return nested
    return None


def dumps(payload: Any) -> str:
    return jsonlib.dumps(payload, separators=(",", ":"))
