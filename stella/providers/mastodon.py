"""Mastodon (and servers speaking its API): per-instance OAuth apps, statuses, v2 media.

Mastodon's documentation (docs.joinmastodon.org), cited below by the names in brackets:
- [Apps] https://docs.joinmastodon.org/methods/apps/#create
- [OAuth] https://docs.joinmastodon.org/methods/oauth/
- [OAuth scopes] https://docs.joinmastodon.org/api/oauth-scopes/
- [Accounts] https://docs.joinmastodon.org/methods/accounts/#verify_credentials
- [Instance] https://docs.joinmastodon.org/methods/instance/#v2
- [Statuses] https://docs.joinmastodon.org/methods/statuses/#create
- [Status entity] https://docs.joinmastodon.org/entities/Status/
- [Media] https://docs.joinmastodon.org/methods/media/
- [Posting] https://docs.joinmastodon.org/user/posting/
- [Rate limits] https://docs.joinmastodon.org/api/rate-limits/
- [Errors] https://docs.joinmastodon.org/entities/Error/
The instance URL is typed by the user (checked with `HttpClient.check_user_host` by the connection service)
and arrives in `ClientCredentials.instance_url`, together with the app registered there by `register_app`.
Every call goes to that instance, so every call is `untrusted`: checked again each time it is made.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import requests

from stella.providers.base import (
    Account,
    Capabilities,
    ClientCredentials,
    MediaItem,
    OutboundPost,
    PlatformRules,
    Profile,
    Provider,
    PublishResult,
    TokenSet,
    retry_after_seconds,
    safe_json,
)
from stella.providers.errors import (
    AuthExpiredError,
    NotConfiguredError,
    ProviderError,
    RateLimitedError,
    RejectedError,
    TransientError,
)

CLIENT_NAME = "Stella"
# [Instance] defaults (configuration.statuses / media_attachments), used when an instance does not say otherwise.
DEFAULT_LIMITS: dict[str, Any] = {
    "max_characters": 500,
    "max_media_attachments": 4,
    "characters_reserved_per_url": 23,
    "image_size_limit": 16_777_216,
    "video_size_limit": 103_809_024,
}
UNPROCESSED_MEDIA = "not finished processing"  # 422 text for unprocessed media, as other clients report it


class MastodonProvider(Provider):
    name = "mastodon"
    display_name = "Mastodon"
    icon = "mastodon"
    color = "#6364FF"
    tagline = "Posts on your account, on any Mastodon server."
    capabilities = Capabilities(
        formats=("post",),
        supports_threads=True,  # [Statuses]: a status may reply to the one before (`in_reply_to_id`)
        supports_alt_text=True,  # [Media]: `description` on each media attachment
    )

    # [OAuth]: every endpoint lives on the user's instance; these paths are joined to it.
    authorize_url = "/oauth/authorize"
    token_url = "/oauth/token"
    revoke_url = "/oauth/revoke"
    # [OAuth scopes]: publish (write:statuses, write:media), metrics (read:statuses), account (read:accounts).
    # Not `profile`: it only exists on Mastodon 4.3+, and older servers refuse to register an app that asks for a
    # scope they do not know ([OAuth scopes]; checked: docs/platform-verification.md item 5).
    scopes = ("read:statuses", "write:statuses", "write:media", "read:accounts")
    scope_separator = " "
    uses_pkce = True  # [OAuth]: S256 on 4.3+ (older servers unverified: docs/platform-verification.md)
    client_auth = "body"  # [OAuth]: client_id and client_secret in the form
    needs_instance = True
    revocable = True  # [OAuth]: POST /oauth/revoke

    developer_portal = "https://docs.joinmastodon.org/client/token/"
    setup_notes = (
        "Nothing to set up in advance: Stella registers itself as an app on each Mastodon server the first "
        "time someone connects an account there (POST /api/v1/apps)."
    )
    rules = PlatformRules(
        max_chars=500,  # [Instance]: the instance's max_characters (500 by default), read at connect time
        # Grapheme clusters, as Mastodon's server counts them:
        # https://github.com/mastodon/mastodon/blob/main/app/validators/status_length_validator.rb
        counting="graphemes",
        url_length=23,  # [Instance], [Posting]: every URL counts as characters_reserved_per_url
        max_images=4,
        max_videos=1,
        mixed_media=False,  # [Posting]: a video or audio file is alone in a post
        image_types=("image/jpeg", "image/png", "image/gif", "image/webp"),
        video_types=("video/mp4", "video/webm", "video/quicktime"),
        max_image_bytes=DEFAULT_LIMITS["image_size_limit"],
        max_video_bytes=DEFAULT_LIMITS["video_size_limit"],
        notes=(
            "Each server sets its own character limit; Stella reads it when the account is connected.",
            "A mention @name@server counts only as @name.",
        ),
    )

    @classmethod
    def account_rules(cls, metadata: Mapping[str, Any]) -> PlatformRules:
        """The instance's own limits, read when the account connected (`fetch_instance_limits`), over the defaults."""

        def limit(key: str) -> int:
            value = metadata.get(key)
            return value if isinstance(value, int) and value > 0 else int(DEFAULT_LIMITS[key])

        return replace(
            cls.rules,
            max_chars=limit("max_characters"),
            url_length=limit("characters_reserved_per_url"),
            max_images=limit("max_media_attachments"),
            max_image_bytes=limit("image_size_limit"),
            max_video_bytes=limit("video_size_limit"),
        )

    # -- app registration and authorization ----------------------------------------------------------

    def register_app(self, instance_url: str, redirect_uri: str) -> ClientCredentials:
        """[Apps]: register Stella on this instance (once, then cache the credentials)."""
        instance = instance_url.rstrip("/")
        response = self.http.request(
            "POST",
            f"{instance}/api/v1/apps",
            json={
                "client_name": CLIENT_NAME,
                "redirect_uris": redirect_uri,
                "scopes": self.scope_separator.join(self.requested_scopes),
            },
            classify=self.classify_error,
            untrusted=True,
        )
        body = self.json(response)
        if not body.get("client_id") or not body.get("client_secret"):
            raise RejectedError(f"{_host(instance)} did not register Stella as an app.", platform=self.name)
        return ClientCredentials(
            client_id=str(body["client_id"]), client_secret=str(body["client_secret"]), instance_url=instance
        )

    def authorization_url(self, *, redirect_uri: str, state: str, code_challenge: str | None = None) -> str:
        """[OAuth]: the instance's own consent page."""
        params = {
            "response_type": "code",
            "client_id": self.credentials.client_id,
            "redirect_uri": redirect_uri,
            "scope": self.scope_separator.join(self.requested_scopes),
            "state": state,
        }
        if code_challenge:
            params.update(code_challenge=code_challenge, code_challenge_method="S256")
        query = urlencode(params, quote_via=quote)
        return self.http.browser_url(f"{self._url(self.authorize_url)}?{query}")

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str | None = None) -> TokenSet:
        """[OAuth]: the token never expires and comes without a refresh token."""
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        if code_verifier:
            form["code_verifier"] = code_verifier
        # The token endpoint is on the user's instance, so it is guarded like every call there.
        tokens = self.parse_token_response(self.token_request(form, url=self._url(self.token_url), untrusted=True))
        return TokenSet(
            access_token=tokens.access_token,
            scopes=tokens.scopes,
            extra={**tokens.extra, "instance_url": self._instance()},
        )

    def refresh(self, tokens: TokenSet) -> TokenSet:
        """[OAuth]: nothing to refresh; a dead token means reconnecting."""
        raise AuthExpiredError("Mastodon tokens cannot be refreshed; please reconnect.", platform=self.name)

    def can_refresh(self, tokens: TokenSet) -> bool:
        return False

    def revoke(self, tokens: TokenSet) -> None:
        """[OAuth]: POST /oauth/revoke with the client credentials and the token."""
        self.http.request(
            "POST",
            self._url(str(self.revoke_url)),
            data={"token": tokens.access_token, **self._client_auth_fields()},
            classify=self.classify_error,
            untrusted=True,
        )

    def fetch_profile(self, tokens: TokenSet) -> Profile:
        """[Accounts] verify_credentials, plus the [Instance] limits kept in metadata for the composer."""
        response = self.http.request(
            "GET",
            self._url("/api/v1/accounts/verify_credentials"),
            headers=self.bearer(tokens.access_token),
            classify=self.classify_error,
            untrusted=True,
        )
        account = self.json(response)
        limits = self.fetch_instance_limits()
        domain = str(limits.pop("domain", None) or _host(self._instance()))
        username = str(account.get("username") or "")
        return Profile(
            platform_account_id=str(account.get("id") or ""),
            handle=f"@{username}@{domain}" if username else None,
            display_name=str(account.get("display_name") or "") or username or None,
            avatar_url=account.get("avatar_static") or account.get("avatar") or None,
            metadata={"instance_url": self._instance(), "account_url": account.get("url"), **limits},
        )

    def fetch_instance_limits(self) -> dict[str, Any]:
        """[Instance]: /api/v2/instance, falling back to /api/v1/instance on older or other servers."""
        limits: dict[str, Any] = dict(DEFAULT_LIMITS)
        response = self.http.request(
            "GET", self._url("/api/v2/instance"), ok=(200, 404, 410), classify=self.classify_error, untrusted=True
        )
        if response.status_code == 200:
            body = self.json(response)
            limits["domain"] = body.get("domain")
        else:
            body = self.json(
                self.http.request("GET", self._url("/api/v1/instance"), classify=self.classify_error, untrusted=True)
            )
            limits["domain"] = body.get("uri")
            if isinstance(body.get("max_toot_chars"), int):  # Pleroma/Akkoma and glitch-soc report it here
                limits["max_characters"] = body["max_toot_chars"]
        config = _mapping(body.get("configuration"))
        for section, keys in (
            ("statuses", ("max_characters", "max_media_attachments", "characters_reserved_per_url")),
            ("media_attachments", ("image_size_limit", "video_size_limit")),
        ):
            values = _mapping(config.get(section))
            for key in keys:
                if isinstance(values.get(key), int) and values[key] > 0:
                    limits[key] = values[key]
        return limits

    # -- publishing ------------------------------------------------------------------------------------

    def publish(self, account: Account, post: OutboundPost) -> PublishResult:
        """Upload media (v2, maybe asynchronous), then create the status with an Idempotency-Key.

        When the server is still processing media, returns `processing`; `check_publish` posts the status
        once every attachment is ready.
        """
        media_ids: list[str] = []
        pending: list[str] = []
        for item in post.media:
            media_id, ready = self._upload_media(account, item)
            media_ids.append(media_id)
            if not ready:
                pending.append(media_id)
        status = self._status_payload(post, media_ids)
        if pending:
            return PublishResult(
                state="processing",
                poll={"pending": pending, "status": status, "idempotency_key": post.idempotency_key},
            )
        return self._post_status(account, status, post.idempotency_key)

    def check_publish(self, account: Account, poll: Mapping[str, Any]) -> PublishResult:
        """[Media]: GET /api/v1/media/:id answers 206 while processing, 200 when ready."""
        still: list[str] = []
        for media_id in poll.get("pending") or []:
            response = self.http.request(
                "GET",
                self._account_url(account, f"/api/v1/media/{quote(str(media_id), safe='')}"),
                headers=self.bearer(account.access_token),
                ok=(200, 206),
                classify=self.classify_error,
                untrusted=True,
            )
            if response.status_code == 206 or not self.json(response).get("url"):
                still.append(str(media_id))
        if still:
            return PublishResult(state="processing", poll={**poll, "pending": still})
        return self._post_status(account, dict(poll.get("status") or {}), str(poll.get("idempotency_key") or ""))

    # -- error classification --------------------------------------------------------------------------

    def classify_error(self, response: requests.Response) -> ProviderError:
        """[Errors]: `{"error": "..."}`; the HTTP status is what matters."""
        status = response.status_code
        body = safe_json(response)
        message = str(body.get("error_description") or body.get("error") or response.reason or f"HTTP {status}")
        if status == 401:
            return AuthExpiredError(
                f"Mastodon no longer accepts Stella's access ({message}). Please reconnect.", platform=self.name
            )
        if status == 429:
            return RateLimitedError(
                "Mastodon is rate limiting requests.", retry_after=self._retry_after(response), platform=self.name
            )
        if status >= 500:
            return TransientError(f"Mastodon is having trouble ({status}).", platform=self.name)
        if status == 422 and UNPROCESSED_MEDIA in message:
            # [Media]: the media is still processing; the same request will work a little later.
            return TransientError(f"Mastodon is still processing the media: {message}", platform=self.name)
        return RejectedError(f"Mastodon refused the request: {message}", platform=self.name)

    # -- helpers ---------------------------------------------------------------------------------------

    def _instance(self) -> str:
        if not self.credentials.instance_url:
            raise NotConfiguredError("No Mastodon server was given for this connection.", platform=self.name)
        return self.credentials.instance_url.rstrip("/")

    def _url(self, path: str) -> str:
        return f"{self._instance()}{path}"

    def _account_url(self, account: Account, path: str) -> str:
        # The account remembers its own instance; the credentials carry it too.
        instance = str(account.metadata.get("instance_url") or self._instance()).rstrip("/")
        return f"{instance}{path}"

    def _status_payload(self, post: OutboundPost, media_ids: list[str]) -> dict[str, Any]:
        status: dict[str, Any] = {"status": post.text, "visibility": str(post.options.get("visibility") or "public")}
        if media_ids:
            status["media_ids"] = media_ids
        for key in ("language", "spoiler_text", "sensitive"):
            if post.options.get(key) not in (None, ""):
                status[key] = post.options[key]
        return status

    def _post_status(self, account: Account, status: Mapping[str, Any], idempotency_key: str) -> PublishResult:
        headers = self.bearer(account.access_token)
        if idempotency_key:
            # [Statuses] Idempotency-Key: the server returns the same status for a repeated key (about an hour).
            headers["Idempotency-Key"] = idempotency_key
        response = self.http.request(
            "POST",
            self._account_url(account, "/api/v1/statuses"),
            json=dict(status),
            headers=headers,
            classify=self.classify_error,
            untrusted=True,
        )
        body = self.json(response)
        if not body.get("id"):
            raise TransientError("Mastodon accepted the post but returned no status id.", platform=self.name)
        # [Status entity]: build the link from `url` (may be null; `uri` is the ActivityPub id).
        return PublishResult(
            state="published", platform_post_id=str(body["id"]), permalink=body.get("url") or body.get("uri")
        )

    def _upload_media(self, account: Account, item: MediaItem) -> tuple[str, bool]:
        """[Media]: POST /api/v2/media → 200 ready, 202 still processing."""
        limit_key = "video_size_limit" if item.kind == "video" else "image_size_limit"
        max_bytes = int(account.metadata.get(limit_key) or DEFAULT_LIMITS[limit_key])
        if item.data is not None:
            data, mime = item.data, item.mime_type or "application/octet-stream"
        else:
            data, mime = self.http.download(item.url, max_bytes=max_bytes, classify=self.classify_error)
            mime = item.mime_type or mime
        if len(data) > max_bytes:
            raise RejectedError(
                f"This Mastodon server takes {item.kind}s up to {max_bytes // (1024 * 1024)} MB.", platform=self.name
            )
        form = {"description": item.alt_text} if item.alt_text else None
        response = self.http.request(
            "POST",
            self._account_url(account, "/api/v2/media"),
            files={"file": (_file_name(item.url, item.kind), data, mime)},
            data=form,
            headers=self.bearer(account.access_token),
            classify=self.classify_error,
            untrusted=True,
        )
        body = self.json(response)
        if not body.get("id"):
            raise TransientError("Mastodon did not return the uploaded media.", platform=self.name)
        return str(body["id"]), response.status_code == 200 and bool(body.get("url"))

    def _retry_after(self, response: requests.Response) -> float | None:
        """[Rate limits]: X-RateLimit-Reset is ISO-8601 on Mastodon; GoToSocial sends epoch seconds (observed)."""
        seconds = retry_after_seconds(response)
        if seconds is not None:
            return seconds
        reset = response.headers.get("X-RateLimit-Reset")
        if not reset:
            return None
        now = self.clock()
        try:
            moment = datetime.fromtimestamp(float(reset), tz=UTC)
        except ValueError:
            try:
                moment = datetime.fromisoformat(reset.replace("Z", "+00:00"))
            except ValueError:
                return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return max(0.0, (moment - now).total_seconds())


def _host(url: str) -> str:
    return urlsplit(url).netloc or url


def _file_name(url: str, default: str) -> str:
    return urlsplit(url).path.rsplit("/", 1)[-1] or default


def _mapping(value: Any) -> Mapping[str, Any]:
    """A JSON object from the instance, or an empty one when a server left it out or sent another shape."""
    return value if isinstance(value, Mapping) else {}
