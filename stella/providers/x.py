"""X (API v2, OAuth 2.0 user context).

X's documentation (docs.x.com), cited below by the names in brackets:
- [OAuth 2.0 PKCE] https://docs.x.com/fundamentals/authentication/oauth-2-0/user-access-token
- [Authorization code] https://docs.x.com/fundamentals/authentication/oauth-2-0/authorization-code
- [Create Post] https://docs.x.com/x-api/posts/create-post
- [Manage Posts guide] https://docs.x.com/x-api/posts/manage-tweets/integrate
- [Chunked upload] https://docs.x.com/x-api/media/quickstart/media-upload-chunked
- [Media best practices] https://docs.x.com/x-api/media/quickstart/best-practices
- [Counting characters] https://docs.x.com/fundamentals/counting-characters
- [Rate limits] https://docs.x.com/x-api/fundamentals/rate-limits
- [Errors] https://docs.x.com/x-api/fundamentals/response-codes-and-errors
- [OpenAPI] https://api.x.com/2/openapi.json (X's OpenAPI description of API v2)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import requests

from stella.providers.base import (
    Account,
    Capabilities,
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
    ProviderError,
    RateLimitedError,
    RejectedError,
    TransientError,
)

API = "https://api.x.com"
MAX_IMAGE_BYTES = 5 * 1024 * 1024  # [Media best practices]
MAX_VIDEO_BYTES = 512 * 1024 * 1024
CHUNK_BYTES = 4 * 1024 * 1024  # append segments; 1000 segments at most ([OpenAPI]: segment_index ≤ 999)
DUPLICATE_MARKERS = ("duplicate content",)


def _normalise_for_match(text: str) -> str:
    # X rewrites links to t.co in the stored text: compare without links and with collapsed whitespace.
    return " ".join(re.sub(r"https?://\S+", "", text).split())


class XProvider(Provider):
    name = "x"
    display_name = "X"
    icon = "twitter-x"
    color = "#000000"
    tagline = "Posts and threads on your X account."
    revocable = True
    capabilities = Capabilities(
        formats=("post",),
        supports_threads=True,  # [Create Post]: each post replies to the one before (`reply.in_reply_to_tweet_id`)
        supports_alt_text=True,  # [OpenAPI]: `alt_text` through POST /2/media/metadata
    )

    authorize_url = "https://x.com/i/oauth2/authorize"
    token_url = "https://api.x.com/2/oauth2/token"
    revoke_url = "https://api.x.com/2/oauth2/revoke"
    # [OAuth 2.0 PKCE] scopes: post, read profile and metrics, upload media; offline.access for a refresh token.
    scopes = ("tweet.read", "tweet.write", "users.read", "media.write", "offline.access")
    scope_separator = " "
    # [OAuth 2.0 PKCE]: PKCE is required (S256).
    uses_pkce = True
    # [OAuth 2.0 PKCE]: confidential clients use HTTP Basic (checked: docs/platform-verification.md).
    client_auth = "basic"
    has_targets = False

    # https://docs.x.com/fundamentals/developer-apps: apps are created and configured in the Developer Console.
    developer_portal = "https://console.x.com"
    setup_notes = (
        "In the X Developer Console, create an app, set up “User authentication” as a Web App (confidential "
        "client) with Read and write permissions and Stella's callback URL, and copy the OAuth 2.0 Client ID and "
        "Secret. Posting is billed per use: the account needs API credits."
    )
    rules = PlatformRules(
        max_chars=280,  # [Counting characters]: weighted characters
        counting="x_weighted",
        url_length=23,  # [Counting characters]: every link counts as a t.co link
        max_images=4,
        max_videos=1,
        mixed_media=False,
        image_types=("image/jpeg", "image/png", "image/gif", "image/webp"),
        video_types=("video/mp4", "video/quicktime"),
        max_image_bytes=MAX_IMAGE_BYTES,
        max_video_bytes=MAX_VIDEO_BYTES,
        notes=(
            "Up to 4 photos, or 1 GIF (15 MB), or 1 video (0.5–140 seconds).",
            "Premium accounts may post longer text; Stella keeps to the standard 280.",
        ),
    )

    # -- authorization -------------------------------------------------------------------------------------

    def revoke(self, tokens: TokenSet) -> None:
        """[OAuth 2.0 PKCE] /2/oauth2/revoke: revoke the refresh token too, or it could still mint access tokens."""
        for value, hint in ((tokens.refresh_token, "refresh_token"), (tokens.access_token, "access_token")):
            if not value:
                continue
            self.http.request(
                "POST",
                self.revoke_url or "",
                data={"token": value, "token_type_hint": hint, "client_id": self.credentials.client_id},
                auth=self._client_basic_auth(),
                classify=self.classify_token_error,
            )

    def fetch_profile(self, tokens: TokenSet) -> Profile:
        response = self.http.request(
            "GET",
            f"{API}/2/users/me",
            params={"user.fields": "username,name,profile_image_url,verified,verified_type"},
            headers=self.bearer(tokens.access_token),
            classify=self.classify_error,
        )
        data = self.json(response).get("data") or {}
        user_id = str(data.get("id") or "")
        if not user_id:
            raise RejectedError("X did not say who signed in.", platform=self.name)
        return Profile(
            platform_account_id=user_id,
            handle=data.get("username"),
            display_name=data.get("name"),
            avatar_url=data.get("profile_image_url"),
            metadata={
                "user_id": user_id,
                "username": data.get("username"),
                "verified_type": data.get("verified_type") or "none",
            },
        )

    # -- publishing ------------------------------------------------------------------------------------------

    def publish(self, account: Account, post: OutboundPost) -> PublishResult:
        """Upload media, then create the post. A video still processing makes the result `processing`."""
        media_ids: list[str] = []
        pending: list[str] = []
        for item in post.media:
            media_id, processing = self._upload(account, item)
            media_ids.append(media_id)
            if processing:
                pending.append(media_id)
        if pending:
            return PublishResult(
                state="processing",
                poll={"step": "media", "media_ids": media_ids, "pending": pending, "text": post.text},
            )
        return self._create_post(account, post.text, media_ids)

    def check_publish(self, account: Account, poll: Mapping[str, Any]) -> PublishResult:
        """Poll each media still processing ([Chunked upload] STATUS); create the post once all succeeded."""
        if poll.get("step") != "media":
            raise RejectedError("Stella lost track of this X upload; please publish again.", platform=self.name)
        still: list[str] = []
        for media_id in poll.get("pending") or []:
            response = self.http.request(
                "GET",
                f"{API}/2/media/upload",
                params={"command": "STATUS", "media_id": media_id},
                headers=self.bearer(account.access_token),
                classify=self.classify_error,
            )
            info = (self.json(response).get("data") or {}).get("processing_info") or {}
            state = info.get("state")
            if state == "failed":
                reason = (info.get("error") or {}).get("message") or "X could not process the media."
                raise RejectedError(f"X could not process the video: {reason}", platform=self.name, code="failed")
            if state in ("pending", "in_progress"):
                still.append(str(media_id))
        if still:
            return PublishResult(state="processing", poll={**dict(poll), "pending": still})
        return self._create_post(account, str(poll.get("text") or ""), [str(m) for m in poll.get("media_ids") or []])

    def _create_post(self, account: Account, text: str, media_ids: list[str]) -> PublishResult:
        body: dict[str, Any] = {"text": text}
        if media_ids:
            body["media"] = {"media_ids": media_ids}
        try:
            response = self.http.request(
                "POST", f"{API}/2/tweets", json=body, headers=self.bearer(account.access_token),
                classify=self.classify_error,
            )
        except RejectedError as exc:
            # X has no idempotency key ([Create Post]) and refuses duplicate text with a 403 (observed). After one whose
            # answer was lost, that 403 means the post exists: find it rather than failing or posting twice.
            if any(marker in exc.message.lower() for marker in DUPLICATE_MARKERS):
                existing = self._find_recent(account, text)
                if existing:
                    return existing
            raise
        payload = self.json(response)
        post_id = str((payload.get("data") or {}).get("id") or "")
        if not post_id:
            # [Errors]: an answer may carry `errors` instead of data.
            problems = payload.get("errors") or []
            detail = problems[0].get("detail") or problems[0].get("message") if problems else None
            raise RejectedError(f"X did not create the post: {detail or 'no id returned'}", platform=self.name)
        return PublishResult(state="published", platform_post_id=post_id, permalink=self._permalink(account, post_id))

    def _find_recent(self, account: Account, text: str) -> PublishResult | None:
        response = self.http.request(
            "GET",
            f"{API}/2/users/{account.platform_account_id}/tweets",
            params={"max_results": "5", "tweet.fields": "created_at"},
            headers=self.bearer(account.access_token),
            classify=self.classify_error,
        )
        wanted = _normalise_for_match(text)
        for tweet in self.json(response).get("data") or []:
            if _normalise_for_match(str(tweet.get("text") or "")) == wanted and tweet.get("id"):
                post_id = str(tweet["id"])
                return PublishResult(
                    state="published", platform_post_id=post_id, permalink=self._permalink(account, post_id)
                )
        return None

    def _permalink(self, account: Account, post_id: str) -> str:
        handle = account.handle or account.metadata.get("username")
        # X's public web links (not an API fact): x.com/{username}/status/{id}, or x.com/i/web/status/{id}.
        return f"https://x.com/{handle}/status/{post_id}" if handle else f"https://x.com/i/web/status/{post_id}"

    def _bytes(self, item: MediaItem, limit: int) -> tuple[bytes, str]:
        if item.data is not None:
            return item.data, item.mime_type or "application/octet-stream"
        data, content_type = self.http.download(item.url, max_bytes=limit, classify=self.classify_error)
        return data, item.mime_type or content_type

    def _upload(self, account: Account, item: MediaItem) -> tuple[str, bool]:
        """Upload one media item; returns (media id, still processing)."""
        headers = self.bearer(account.access_token)
        if item.kind == "image" and (item.mime_type or "") != "image/gif":
            data, mime = self._bytes(item, MAX_IMAGE_BYTES)
            # [OpenAPI] MediaUploadRequest: multipart `media` + `media_category` (no other fields allowed).
            response = self.http.request(
                "POST",
                f"{API}/2/media/upload",
                data={"media_category": "tweet_image"},
                files={"media": ("media", data, mime)},
                headers=headers,
                classify=self.classify_error,
            )
            media_id = str((self.json(response).get("data") or {}).get("id") or "")
            if not media_id:
                raise TransientError("X did not return an id for the uploaded image.", platform=self.name)
            return media_id, False
        # Videos and GIFs: chunked upload ([OpenAPI] /2/media/upload/initialize, append, finalize).
        limit = MAX_VIDEO_BYTES if item.kind == "video" else 15 * 1024 * 1024
        data, mime = self._bytes(item, limit)
        category = "tweet_video" if item.kind == "video" else "tweet_gif"
        response = self.http.request(
            "POST",
            f"{API}/2/media/upload/initialize",
            json={"media_type": mime, "total_bytes": len(data), "media_category": category},
            headers=headers,
            classify=self.classify_error,
        )
        media_id = str((self.json(response).get("data") or {}).get("id") or "")
        if not media_id:
            raise TransientError("X did not start the media upload.", platform=self.name)
        for index, start in enumerate(range(0, len(data), CHUNK_BYTES)):
            self.http.request(
                "POST",
                f"{API}/2/media/upload/{media_id}/append",
                data={"segment_index": str(index)},
                files={"media": ("chunk", data[start : start + CHUNK_BYTES], "application/octet-stream")},
                headers=headers,
                classify=self.classify_error,
            )
        response = self.http.request(
            "POST", f"{API}/2/media/upload/{media_id}/finalize", headers=headers, classify=self.classify_error
        )
        info = (self.json(response).get("data") or {}).get("processing_info") or {}
        if info.get("state") == "failed":
            raise RejectedError("X could not process the video.", platform=self.name, code="failed")
        # [OpenAPI]: no processing_info means the media is ready.
        return media_id, info.get("state") in ("pending", "in_progress")

    # -- errors ------------------------------------------------------------------------------------------------

    def classify_error(self, response: requests.Response) -> ProviderError:
        """[Errors]: problem JSON `{"title","detail","type"}`, or the legacy `{"errors":[{"code","message"}]}`."""
        body = safe_json(response)
        status = response.status_code
        problem_type = str(body.get("type") or "")
        kind = problem_type.rsplit("/", 1)[-1]
        legacy = (body.get("errors") or [{}])[0] if isinstance(body.get("errors"), list) else {}
        detail = str(
            body.get("detail") or body.get("title") or legacy.get("message") or legacy.get("detail")
            or response.reason or f"HTTP {status}"
        )
        if status == 401 or "Unsupported Authentication" in detail:
            return AuthExpiredError(
                f"X no longer accepts Stella's access ({detail}). Please reconnect.", platform=self.name,
                code=kind or None,
            )
        if status == 429 or kind in ("rate-limit-exceeded", "usage-capped"):
            return RateLimitedError(
                "X's usage cap for this app was reached." if kind == "usage-capped"
                else "X is rate limiting this account.",
                retry_after=self._retry_after(response),
                platform=self.name,
                code=kind or (str(legacy.get("code")) if legacy.get("code") else None),
            )
        if status >= 500:
            return TransientError(f"X is having trouble ({status}).", platform=self.name)
        return RejectedError(f"X refused the request: {detail}", platform=self.name, code=kind or None)

    def classify_token_error(self, response: requests.Response) -> ProviderError:
        """X answers a used, rotated or revoked refresh token with `invalid_request` ("Value passed for the
        token was invalid"), not `invalid_grant`: both mean the user must reconnect."""
        body = safe_json(response)
        description = str(body.get("error_description") or "")
        if body.get("error") == "invalid_request" and "token was invalid" in description:
            return AuthExpiredError(
                "X no longer accepts the saved sign-in. Please reconnect.", platform=self.name, code="invalid_request"
            )
        return super().classify_token_error(response)

    def _retry_after(self, response: requests.Response) -> float | None:
        """A 24-hour cap's reset, else x-rate-limit-reset (epoch seconds, [Rate limits]), else Retry-After.

        The 24-hour headers (x-user-limit-24hour-*, x-app-limit-24hour-*) are reported by other clients, not documented.
        """
        now = self.clock().timestamp()
        headers = response.headers
        resets = [
            headers[f"{prefix}-reset"]
            for prefix in ("x-user-limit-24hour", "x-app-limit-24hour")
            if headers.get(f"{prefix}-remaining") == "0" and headers.get(f"{prefix}-reset")
        ]
        if not resets and headers.get("x-rate-limit-reset"):
            resets = [headers["x-rate-limit-reset"]]
        waits = []
        for raw in resets:
            try:
                waits.append(max(0.0, float(raw) - now))
            except ValueError:
                continue
        return max(waits) if waits else retry_after_seconds(response)
