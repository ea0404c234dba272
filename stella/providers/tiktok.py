"""TikTok (Login Kit v2 + Content Posting API): videos and photo posts only.

TikTok's documentation (developers.tiktok.com), cited below by the names in brackets:
- [Login Kit for Web] https://developers.tiktok.com/doc/login-kit-web
- [Token management] https://developers.tiktok.com/doc/oauth-user-access-token-management
- [Refresh a token] https://developers.tiktok.com/docs/en/oauth-refresh-a-user-access-token
- [OAuth errors] https://developers.tiktok.com/doc/oauth-error-handling
- [Creator info] https://developers.tiktok.com/doc/content-posting-api-reference-query-creator-info/
- [Direct Post] https://developers.tiktok.com/doc/content-posting-api-reference-direct-post
- [Media transfer] https://developers.tiktok.com/doc/content-posting-api-media-transfer-guide
- [Post status] https://developers.tiktok.com/doc/content-posting-api-reference-get-video-status
- [Photo post] https://developers.tiktok.com/doc/content-posting-api-reference-photo-post
- [Rate limits] https://developers.tiktok.com/doc/tiktok-api-v2-rate-limit
- [Error handling] https://developers.tiktok.com/doc/tiktok-api-v2-error-handling
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

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
    keep_refresh_token,
    safe_json,
)
from stella.providers.errors import (
    AuthExpiredError,
    ProviderError,
    RateLimitedError,
    RejectedError,
    TransientError,
    UnknownOutcomeError,
)

API = "https://open.tiktokapis.com"
MAX_VIDEO_BYTES = 4 * 1024 * 1024 * 1024  # [Post status]: processing times are quoted up to 4 GB
MAX_IMAGE_BYTES = 20 * 1024 * 1024
MIN_CHUNK = 5 * 1024 * 1024  # [Media transfer]: chunks are 5–64 MB, a file under 5 MB goes whole
CHUNK = 10 * 1024 * 1024
PHOTO_TITLE_MAX = 90  # as other clients apply it; not confirmed in TikTok's docs
PRIVACY_LEVELS = ("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY")
# [Error handling]: codes that mean the token (or the user's grant) no longer works.
AUTH_CODES = frozenset({"access_token_invalid", "scope_not_authorized", "scope_permission_missed"})


def chunk_plan(size: int) -> tuple[int, int]:
    """(chunk_size, total_chunk_count) for a FILE_UPLOAD of `size` bytes ([Media transfer]).

    Under 5 MB the file is one chunk; otherwise 10 MB chunks, the remainder joining the last one
    (`total_chunk_count = floor(video_size / chunk_size)`).
    """
    if size <= MIN_CHUNK:
        return size, 1
    return CHUNK, max(1, size // CHUNK)


def chunk_ranges(size: int) -> list[tuple[int, int]]:
    """Inclusive (first, last) byte ranges matching `chunk_plan(size)`."""
    chunk_size, count = chunk_plan(size)
    ranges = []
    for index in range(count):
        first = index * chunk_size
        last = size - 1 if index == count - 1 else first + chunk_size - 1
        ranges.append((first, last))
    return ranges


class TikTokProvider(Provider):
    name = "tiktok"
    display_name = "TikTok"
    icon = "tiktok"
    color = "#010101"
    tagline = "Videos on your TikTok account."
    revocable = True
    capabilities = Capabilities(
        formats=("video", "carousel"),  # [Direct Post], [Photo post]; 35 images per third parties (unverified)
    )

    authorize_url = "https://www.tiktok.com/v2/auth/authorize/"
    token_url = "https://open.tiktokapis.com/v2/oauth/token/"
    revoke_url = "https://open.tiktokapis.com/v2/oauth/revoke/"
    # [Login Kit for Web] user.info.* (username for permalinks), [Direct Post] video.publish, video.list for metrics.
    scopes = ("user.info.basic", "user.info.profile", "video.publish", "video.list")
    # [Login Kit for Web]: scopes are comma-separated.
    scope_separator = ","
    # [Token management]: code_verifier (PKCE) only for mobile/desktop apps, not the web flow.
    uses_pkce = False
    # [Token management]: client_key and client_secret in the form body.
    client_auth = "body"
    has_targets = False
    # [Refresh a token]: access tokens last 2 hours on the newer page (an older page said 24 hours).
    refresh_margin = timedelta(minutes=30)

    developer_portal = "https://developers.tiktok.com/apps"
    setup_notes = (
        "Create an app at TikTok for Developers, add the Login Kit and Content Posting API products with "
        "Direct Post enabled, and request the user.info.basic, user.info.profile, video.publish and video.list "
        "scopes. Until TikTok audits the app, every post is private."
    )
    rules = PlatformRules(
        max_chars=2200,  # [Direct Post]: video caption, UTF-16 code units
        counting="utf16",
        requires_media=True,  # [Direct Post], [Photo post]: videos and photos only, no text-only posts
        max_images=35,
        max_videos=1,
        mixed_media=False,
        image_types=("image/jpeg", "image/webp"),
        video_types=("video/mp4", "video/quicktime", "video/webm"),
        max_image_bytes=MAX_IMAGE_BYTES,
        max_video_bytes=MAX_VIDEO_BYTES,
        max_title_chars=PHOTO_TITLE_MAX,
        notes=(
            "Photo posts are pulled by TikTok from a domain verified in the developer portal.",
            "Until the app passes TikTok's audit every post is private (only the creator sees it).",
        ),
    )

    # -- authorization -------------------------------------------------------------------------------------

    def authorization_url(self, *, redirect_uri: str, state: str, code_challenge: str | None = None) -> str:
        """[Login Kit for Web]: TikTok names the client `client_key`, not `client_id`."""
        query = urlencode(
            {
                "client_key": self.credentials.client_id,
                "scope": self.scope_separator.join(self.requested_scopes),
                "response_type": "code",
                "redirect_uri": redirect_uri,
                "state": state,
            }
        )
        return self.http.browser_url(f"{self.authorize_url}?{query}")

    def _client_auth_fields(self) -> dict[str, str]:
        # [Token management]: client_key + client_secret in the body of token, refresh and revoke requests.
        return {"client_key": self.credentials.client_id, "client_secret": self.credentials.client_secret}

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str | None = None) -> TokenSet:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        return self._tokens(self.token_request(form))

    def refresh(self, tokens: TokenSet) -> TokenSet:
        """[Refresh a token]: refresh tokens rotate (the old one stops working): always keep the newest."""
        if not tokens.refresh_token:
            raise AuthExpiredError("TikTok gave no refresh token; please reconnect.", platform=self.name)
        fresh = self._tokens(
            self.token_request({"grant_type": "refresh_token", "refresh_token": tokens.refresh_token})
        )
        return keep_refresh_token(fresh, tokens)

    def _tokens(self, payload: Mapping[str, Any]) -> TokenSet:
        # [OAuth errors]: the OAuth endpoint can answer with an error body; never parse it as tokens.
        if payload.get("error") and not payload.get("access_token"):
            raise self._oauth_error(str(payload.get("error")), str(payload.get("error_description") or ""))
        return self.parse_token_response(payload)

    def revoke(self, tokens: TokenSet) -> None:
        self.http.request(
            "POST",
            self.revoke_url or "",
            data={"token": tokens.access_token, **self._client_auth_fields()},
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            classify=self.classify_token_error,
        )

    def fetch_profile(self, tokens: TokenSet) -> Profile:
        response = self.http.request(
            "GET",
            f"{API}/v2/user/info/",
            params={"fields": "open_id,union_id,avatar_url,display_name,username"},
            headers=self.bearer(tokens.access_token),
            classify=self.classify_error,
        )
        user = (self._data(response).get("user")) or {}
        open_id = str(user.get("open_id") or tokens.extra.get("open_id") or "")
        if not open_id:
            raise RejectedError("TikTok did not say who signed in.", platform=self.name)
        return Profile(
            platform_account_id=open_id,
            handle=user.get("username"),
            display_name=user.get("display_name"),
            avatar_url=user.get("avatar_url"),
            metadata={"open_id": open_id, "union_id": user.get("union_id"), "username": user.get("username")},
        )

    # -- publishing ------------------------------------------------------------------------------------------

    def publish(self, account: Account, post: OutboundPost) -> PublishResult:
        """Query creator info, init a direct post (video by file upload, photos pulled by URL), upload the
        video bytes, and hand back the publish_id to poll: TikTok always processes asynchronously."""
        videos = [m for m in post.media if m.kind == "video"]
        images = [m for m in post.media if m.kind == "image"]
        if not videos and not images:
            raise RejectedError("TikTok posts need a video or photos.", platform=self.name, code="media_required")
        creator = self._creator_info(account)
        privacy = self._privacy_level(creator, post.options)
        flags = {
            "disable_comment": bool(post.options.get("disable_comment") or creator.get("comment_disabled")),
        }
        if videos:
            publish_id = self._init_video(account, post, videos[0], privacy, flags, creator)
            kind = "video"
        else:
            publish_id = self._init_photos(account, post, images, privacy, flags)
            kind = "photo"
        return PublishResult(
            state="processing",
            poll={"publish_id": publish_id, "kind": kind, "privacy_level": privacy,
                  "username": account.handle or account.metadata.get("username")},
        )

    def check_publish(self, account: Account, poll: Mapping[str, Any]) -> PublishResult:
        """[Post status]: poll status/fetch; the public id appears only after moderation."""
        publish_id = str(poll.get("publish_id") or "")
        if not publish_id:
            raise RejectedError("Stella lost track of this TikTok upload; please publish again.", platform=self.name)
        response = self.http.request(
            "POST",
            f"{API}/v2/post/publish/status/fetch/",
            json={"publish_id": publish_id},
            headers={**self.bearer(account.access_token), "Content-Type": "application/json; charset=UTF-8"},
            classify=self.classify_error,
        )
        data = self._data(response)
        status = str(data.get("status") or "")
        if status == "FAILED":
            reason = str(data.get("fail_reason") or "unknown reason")
            raise RejectedError(f"TikTok did not publish the post: {reason}", platform=self.name, code=reason)
        # [Post status]: the field name is misspelt by TikTok; the ids are numeric, stored as strings.
        public_ids = [str(i) for i in data.get("publicaly_available_post_id") or []]
        if status == "PUBLISH_COMPLETE" and public_ids:
            post_id = public_ids[0]
            return PublishResult(state="published", platform_post_id=post_id,
                                 permalink=self._permalink(account, poll, post_id))
        if status == "PUBLISH_COMPLETE" and poll.get("privacy_level") == "SELF_ONLY":
            # A private post never gets a public id: it is done, known by its publish_id.
            return PublishResult(state="published", platform_post_id=publish_id, permalink=None)
        return PublishResult(state="processing", poll=dict(poll))

    def _permalink(self, account: Account, poll: Mapping[str, Any], post_id: str) -> str | None:
        username = poll.get("username") or account.handle or account.metadata.get("username")
        if not username:
            return None
        # TikTok's public web links (as other clients build them): /@{user}/video/{id}; /photo/ for photos (unverified).
        path = "photo" if poll.get("kind") == "photo" else "video"
        return f"https://www.tiktok.com/@{username}/{path}/{post_id}"

    def _json_headers(self, account: Account) -> dict[str, str]:
        return {**self.bearer(account.access_token), "Content-Type": "application/json; charset=UTF-8"}

    def _creator_info(self, account: Account) -> dict[str, Any]:
        """[Creator info]: required before a direct post; gives the privacy levels the creator may use."""
        response = self.http.request(
            "POST",
            f"{API}/v2/post/publish/creator_info/query/",
            headers=self._json_headers(account),
            classify=self.classify_error,
        )
        return self._data(response)

    def _privacy_level(self, creator: Mapping[str, Any], options: Mapping[str, Any]) -> str:
        allowed = [str(o) for o in creator.get("privacy_level_options") or []]
        wanted = options.get("privacy_level")
        if wanted:
            if str(wanted) not in allowed:
                raise RejectedError(
                    f"This TikTok account cannot post with visibility {wanted}; it allows: "
                    f"{', '.join(allowed) or 'none'}.",
                    platform=self.name,
                    code="privacy_level_option_mismatch",
                )
            return str(wanted)
        # TikTok's content sharing guidelines: the user picks the visibility for each post, with no default
        # (an audit rejects a preselected one), so a post without an explicit choice is not sent.
        raise RejectedError(
            "Choose who can see this TikTok post (TikTok requires an explicit choice): "
            f"{', '.join(allowed) or 'no option is offered for this account'}.",
            platform=self.name,
            code="privacy_level_required",
        )

    def _init_video(
        self,
        account: Account,
        post: OutboundPost,
        item: MediaItem,
        privacy: str,
        flags: Mapping[str, bool],
        creator: Mapping[str, Any],
    ) -> str:
        data = item.data
        if data is None:
            data, _ = self.http.download(item.url, max_bytes=MAX_VIDEO_BYTES, classify=self.classify_error)
        size = len(data)
        chunk_size, count = chunk_plan(size)
        body = {
            "post_info": {
                "title": post.text,  # [Direct Post]: the video caption is `title` (≤2200 UTF-16 units)
                "privacy_level": privacy,
                "disable_comment": flags["disable_comment"],
                "disable_duet": bool(post.options.get("disable_duet") or creator.get("duet_disabled")),
                "disable_stitch": bool(post.options.get("disable_stitch") or creator.get("stitch_disabled")),
                "video_cover_timestamp_ms": int(post.options.get("video_cover_timestamp_ms") or 0),
                "brand_content_toggle": bool(post.options.get("brand_content_toggle", False)),
                "brand_organic_toggle": bool(post.options.get("brand_organic_toggle", False)),
                "is_aigc": bool(post.options.get("is_aigc", False)),
            },
            "source_info": {
                "source": "FILE_UPLOAD",
                "video_size": size,
                "chunk_size": chunk_size,
                "total_chunk_count": count,
            },
        }
        response = self.http.request(
            "POST",
            f"{API}/v2/post/publish/video/init/",
            json=body,
            headers=self._json_headers(account),
            classify=self.classify_error,
        )
        init = self._data(response)
        publish_id, upload_url = init.get("publish_id"), init.get("upload_url")
        if not publish_id or not upload_url:
            raise TransientError("TikTok did not return an upload address for the video.", platform=self.name)
        mime = item.mime_type or "video/mp4"
        ranges = chunk_ranges(size)
        for first, last in ranges:
            # [Media transfer]: chunks in order, each with its Content-Range; intermediate ones answer 206 (observed).
            try:
                self.http.request(
                    "PUT",
                    str(upload_url),
                    data=data[first : last + 1],
                    headers={
                        "Content-Type": mime,
                        "Content-Length": str(last - first + 1),
                        "Content-Range": f"bytes {first}-{last}/{size}",
                    },
                    ok=(200, 201, 206),
                    classify=self.classify_error,
                    untrusted=True,  # the upload URL is named by TikTok's answer
                )
            except UnknownOutcomeError:
                # No idempotency key in [Direct Post]: after the last chunk the post may exist; poll the publish_id
                # instead of posting again.
                if (first, last) != ranges[-1]:
                    raise
        return str(publish_id)

    def _init_photos(
        self,
        account: Account,
        post: OutboundPost,
        images: list[MediaItem],
        privacy: str,
        flags: Mapping[str, bool],
    ) -> str:
        # [Photo post]: photos are PULL_FROM_URL only; title ≤90 (as other clients apply it), the text to `description`.
        body = {
            "media_type": "PHOTO",
            "post_mode": "DIRECT_POST",
            "post_info": {
                "title": (post.title or "")[:PHOTO_TITLE_MAX],
                "description": post.text,
                "privacy_level": privacy,
                "disable_comment": flags["disable_comment"],
                "auto_add_music": bool(post.options.get("auto_add_music", True)),
                "brand_content_toggle": bool(post.options.get("brand_content_toggle", False)),
                "brand_organic_toggle": bool(post.options.get("brand_organic_toggle", False)),
            },
            "source_info": {
                "source": "PULL_FROM_URL",
                "photo_images": [item.url for item in images],
                "photo_cover_index": 0,
            },
        }
        response = self.http.request(
            "POST",
            f"{API}/v2/post/publish/content/init/",
            json=body,
            headers=self._json_headers(account),
            classify=self.classify_error,
        )
        publish_id = self._data(response).get("publish_id")
        if not publish_id:
            raise TransientError("TikTok did not return a publish id for the photos.", platform=self.name)
        return str(publish_id)

    # -- errors ------------------------------------------------------------------------------------------------

    def _data(self, response: requests.Response) -> dict[str, Any]:
        """[Error handling]: check `error.code == "ok"`, not just the HTTP status."""
        payload = self.json(response)
        error = payload.get("error") or {}
        if isinstance(error, Mapping) and error.get("code") not in (None, "", "ok"):
            raise self._api_error(response.status_code, error)
        data = payload.get("data")
        return data if isinstance(data, dict) else {}

    def classify_error(self, response: requests.Response) -> ProviderError:
        """[Error handling]: `{"data":{},"error":{"code","message","log_id"}}` bodies."""
        body = safe_json(response)
        error = body.get("error")
        if isinstance(error, Mapping):
            return self._api_error(response.status_code, error)
        if isinstance(error, str) and response.status_code < 500 and response.status_code != 429:  # OAuth-shaped
            return self._oauth_error(error, str(body.get("error_description") or ""))
        if response.status_code == 401:
            return AuthExpiredError("TikTok no longer accepts Stella's access. Please reconnect.", platform=self.name)
        if response.status_code == 429:
            return RateLimitedError("TikTok is rate limiting this account.", retry_after=60.0, platform=self.name)
        if response.status_code >= 500:
            return TransientError(f"TikTok is having trouble ({response.status_code}).", platform=self.name)
        return RejectedError(f"TikTok refused the request ({response.status_code}).", platform=self.name)

    def classify_token_error(self, response: requests.Response) -> ProviderError:
        body = safe_json(response)
        error = body.get("error")
        if isinstance(error, str):
            return self._oauth_error(error, str(body.get("error_description") or ""))
        if isinstance(error, Mapping):  # the [Error handling] envelope can come back from the token endpoint too
            return self._api_error(response.status_code, error)
        return super().classify_token_error(response)

    def _api_error(self, status: int, error: Mapping[str, Any]) -> ProviderError:
        code = str(error.get("code") or "")
        message = str(error.get("message") or code or f"HTTP {status}")
        if code == "unaudited_client_can_only_post_to_private_accounts":
            # TikTok direct-post docs: until the app passes TikTok's audit, posts must be SELF_ONLY from a
            # private account.
            return RejectedError(
                "TikTok only accepts private posts from this app until TikTok has audited it: set the TikTok "
                "account to private and choose 'Only me' (SELF_ONLY) as the visibility.",
                platform=self.name,
                code=code,
            )
        if code in AUTH_CODES or status == 401:
            return AuthExpiredError(
                f"TikTok no longer accepts Stella's access ({message}). Please reconnect.", platform=self.name,
                code=code or None,
            )
        if code == "rate_limit_exceeded" or status == 429:
            # [Rate limits]: limits are per minute (sliding window) and no Retry-After is documented.
            return RateLimitedError("TikTok is rate limiting this account.", retry_after=60.0, platform=self.name,
                                    code=code or None)
        if code == "internal_error" or status >= 500:
            return TransientError(f"TikTok is having trouble: {message}", platform=self.name, code=code or None)
        return RejectedError(f"TikTok refused the request: {message}", platform=self.name, code=code or None)

    def _oauth_error(self, error: str, description: str) -> ProviderError:
        detail = description or error
        if error == "invalid_grant":  # [OAuth errors]: expired, rotated or used refresh token or code
            return AuthExpiredError(f"TikTok refused the authorization ({detail}). Please reconnect.",
                                    platform=self.name, code=error)
        return RejectedError(f"TikTok refused the sign-in: {detail}", platform=self.name, code=error)
