"""Pinterest (API v5): Basic client auth, rotating refresh tokens, boards as targets, image and video pins.

Pinterest's documentation (developers.pinterest.com), cited below by the names in brackets:
- [OAuth token] https://developers.pinterest.com/docs/api/v5/oauth-token
- [Authentication guide] https://developers.pinterest.com/docs/getting-started/set-up-authentication-and-authorization/
- [Access tiers] https://developers.pinterest.com/docs/key-concepts/access-tiers/
- [Create pin] https://developers.pinterest.com/docs/api/v5/pins-create
- [Register media] https://developers.pinterest.com/docs/api/v5/media-create
- [Get media] https://developers.pinterest.com/docs/api/v5/media-get
- [User account] https://developers.pinterest.com/docs/api/v5/user_account-get
- [OpenAPI] https://github.com/pinterest/api-description (Pinterest's own OpenAPI description of API v5)
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

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
    Target,
    TokenSet,
    keep_refresh_token,
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

API_HOST = "https://api.pinterest.com"
API = f"{API_HOST}/v5"
PIN_URL = "https://www.pinterest.com/pin/{id}/"

MAX_TITLE_CHARS = 100  # [Create pin]: title 100, description 800, alt_text 500, link 2048
MAX_DESCRIPTION_CHARS = 800
MAX_ALT_TEXT_CHARS = 500
MAX_LINK_CHARS = 2048
MAX_IMAGES = 5  # [Create pin]: a carousel holds 2–5 images
MAX_IMAGE_BYTES = 20 * 1024**2  # third-party media guideline (Ayrshare); not in Pinterest's API reference
MAX_VIDEO_BYTES = 2 * 1024**3
# [Create pin]: a video pin names its cover; without a cover image, this key frame is used.
DEFAULT_COVER_FRAME = 1
TRIAL_ACCESS_CODE = 29  # "Apps with Trial access may not create Pins in production" (docs/platform-verification.md)
PAGE_LIMIT = 20  # pages of boards read before stopping (250 boards each)


class PinterestProvider(Provider):
    name = "pinterest"
    display_name = "Pinterest"
    icon = "pinterest"
    color = "#E60023"
    tagline = "Pins on one of your boards."
    capabilities = Capabilities(
        formats=("pin",),  # [Create pin]: an image or video pin on a board
        supports_alt_text=True,  # [Create pin]: `alt_text` on image pins
        target_kinds=("board",),
    )

    authorize_url = "https://www.pinterest.com/oauth/"
    # The production default; `token_request` follows STELLA_PINTEREST_API_URL (see there).
    token_url = f"{API}/oauth/token"
    # [OpenAPI] scopes: publish (pins:write, boards:read for the board picker), read pins and the account.
    scopes = ("boards:read", "pins:read", "pins:write", "user_accounts:read")
    scope_separator = ","  # [Authentication guide]: comma-separated
    uses_pkce = False  # PKCE is not in Pinterest's [OpenAPI] description
    client_auth = "basic"  # [OAuth token]: HTTP Basic client authentication
    has_targets = True
    refresh_margin = timedelta(days=1)  # access tokens last 30 days; refreshing a day early costs nothing
    developer_portal = "https://developers.pinterest.com/apps/"
    setup_notes = (
        "Create an app at developers.pinterest.com, add Stella's callback URL as a redirect URI and request the "
        "boards:read, pins:read, pins:write and user_accounts:read scopes. New apps get Trial access, and the "
        "production API refuses to create pins for Trial apps (error 29): apply for Standard access with a demo "
        "video of the sign-in and posting flow. To record that demo with a Trial app, set "
        "STELLA_PINTEREST_API_URL=https://api-sandbox.pinterest.com (pins made there are visible only to you), "
        "then unset it and reconnect once Standard access is granted."
    )
    rules = PlatformRules(
        max_chars=MAX_DESCRIPTION_CHARS,
        requires_media=True,
        max_images=MAX_IMAGES,
        max_videos=1,
        mixed_media=False,
        image_types=("image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "image/tiff"),
        video_types=("video/mp4", "video/quicktime", "video/x-m4v"),
        max_image_bytes=MAX_IMAGE_BYTES,
        max_video_bytes=MAX_VIDEO_BYTES,
        max_title_chars=MAX_TITLE_CHARS,
        notes=(
            "Every pin needs an image (2–5 make a carousel) or one video, and goes to a board.",
            "The text is the pin description (800 characters); the title is at most 100 characters.",
        ),
    )

    @property
    def api(self) -> str:
        """The API base: production, or Pinterest's API Sandbox when STELLA_PINTEREST_API_URL names it (a Trial app
        cannot create pins in production, docs/platform-verification.md item 4). The Config checked the host."""
        return f"{self.options.get('api_url') or API_HOST}/v5"

    @property
    def uses_api_sandbox(self) -> bool:
        return not self.api.startswith(f"{API_HOST}/")

    # -- authorization ----------------------------------------------------------------------------------

    def token_request(
        self, form: Mapping[str, str], *, method: str = "POST", url: str | None = None, untrusted: bool = False
    ) -> dict[str, Any]:
        # Tokens for the API Sandbox come from its own token endpoint, while the consent page stays on
        # www.pinterest.com ("insert -sandbox into the request URL", [Authentication guide]); a token of one
        # environment is refused by the other.
        return super().token_request(form, method=method, url=url or f"{self.api}/oauth/token", untrusted=untrusted)

    # [OAuth token]: apps created before 2025-09-25 get a rotating refresh token only when they ask for one.
    continuous_refresh: ClassVar[Mapping[str, str]] = {"continuous_refresh": "true"}

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str | None = None) -> TokenSet:
        form = {
            "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, **self.continuous_refresh
        }
        return self.parse_token_response(self.token_request(form))

    def refresh(self, tokens: TokenSet) -> TokenSet:
        """[OAuth token]: every refresh returns a new refresh token (60 days, renewed each time) replacing the old."""
        if not tokens.refresh_token:
            raise AuthExpiredError("Pinterest gave no refresh token; please reconnect.", platform=self.name)
        form = {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token, **self.continuous_refresh}
        return keep_refresh_token(self.parse_token_response(self.token_request(form)), tokens)

    def classify_token_error(self, response: requests.Response) -> ProviderError:
        """The token endpoint answers in Pinterest's `{"code", "message"}` error shape ([OpenAPI])."""
        body = safe_json(response)
        message = str(body.get("message") or body.get("error_description") or body.get("error") or response.reason)
        status = response.status_code
        code = str(body.get("code") if body.get("code") is not None else body.get("error") or "") or None
        if status >= 500:
            return TransientError(f"Pinterest is having trouble ({status}).", platform=self.name, code=code)
        if status == 429:
            return RateLimitedError(
                "Pinterest is rate limiting sign-ins; try again shortly.",
                retry_after=retry_after_seconds(response),
                platform=self.name,
                code=code,
            )
        if status == 401:
            # A refused client id/secret: reconnecting will not help, the app settings must be fixed.
            return RejectedError(
                f"Pinterest refused Stella's app credentials: {message}", platform=self.name, code=code
            )
        return AuthExpiredError(
            f"Pinterest refused the authorization ({message}). Please reconnect.", platform=self.name, code=code
        )

    # -- account and boards -----------------------------------------------------------------------------

    def fetch_profile(self, tokens: TokenSet) -> Profile:
        response = self.http.request(
            "GET", f"{self.api}/user_account", headers=self.bearer(tokens.access_token), classify=self.classify_error
        )
        account = self.json(response)
        username = account.get("username") or None
        user_id = str(account.get("id") or username or "")
        if not user_id:
            raise TransientError("Pinterest did not say which account this is.", platform=self.name)
        return Profile(
            platform_account_id=user_id,
            handle=username,
            # [User account]: there is no display-name field; business_name, else the username.
            display_name=account.get("business_name") or username,
            avatar_url=account.get("profile_image") or None,
            metadata={"account_type": account.get("account_type"), "website_url": account.get("website_url")},
        )

    def list_targets(self, tokens: TokenSet, profile: Profile) -> list[Target]:
        """Boards to pin to; the one picked becomes the connection's default board."""
        owner = {
            "user_id": profile.platform_account_id,
            "username": profile.handle,
            "display_name": profile.display_name,
            "avatar_url": profile.avatar_url,
            **dict(profile.metadata),
        }
        return [
            Target(
                id=str(board["id"]),
                name=str(board.get("name") or board["id"]),
                kind="board",
                handle=profile.handle,
                avatar_url=((board.get("media") or {}).get("image_cover_url") or None),
                metadata={**owner, "privacy": board.get("privacy")},
            )
            for board in self._boards(tokens.access_token)
        ]

    def apply_target(self, tokens: TokenSet, target: Target) -> tuple[TokenSet, Profile]:
        """The account stays the Pinterest user; the board is remembered as where pins go by default."""
        meta = dict(target.metadata)
        return tokens, Profile(
            platform_account_id=str(meta.pop("user_id")),
            handle=meta.pop("username", None),
            display_name=meta.pop("display_name", None),
            avatar_url=meta.pop("avatar_url", None),
            metadata={
                **{k: v for k, v in meta.items() if k != "privacy"},
                "default_board_id": target.id,
                "default_board_name": target.name,
            },
        )

    def _boards(self, access_token: str) -> Iterator[Mapping[str, Any]]:
        bookmark: str | None = None
        for _ in range(PAGE_LIMIT):
            params = {"page_size": "250"}
            if bookmark:
                params["bookmark"] = bookmark
            response = self.http.request(
                "GET",
                f"{self.api}/boards",
                params=params,
                headers=self.bearer(access_token),
                classify=self.classify_error,
            )
            page = self.json(response)
            for board in page.get("items") or []:
                if isinstance(board, Mapping) and board.get("id"):
                    yield board
            bookmark = page.get("bookmark") or None
            if not bookmark:
                return

    # -- publishing -------------------------------------------------------------------------------------

    def publish(self, account: Account, post: OutboundPost) -> PublishResult:
        """Image pins in one call; video pins register + upload the file, then `check_publish` makes the pin."""
        pin = self._pin_fields(account, post)
        videos = [item for item in post.media if item.kind == "video"]
        images = [item for item in post.media if item.kind == "image"]
        if videos and images:
            raise RejectedError("A pin carries either images or one video, not both.", platform=self.name)
        if len(videos) > 1:
            raise RejectedError("A pin carries one video.", platform=self.name)
        if videos and self.uses_api_sandbox:
            # developers.pinterest.com/docs/developer-tools/sandbox/: the API Sandbox cannot create video pins.
            raise RejectedError(
                "Pinterest's API Sandbox (STELLA_PINTEREST_API_URL) cannot create video pins; post an image pin "
                "instead, or use the production API once the app has Standard access.",
                platform=self.name,
            )
        if videos:
            return self._start_video_pin(account, pin, videos[0], post.options)
        if not images:
            raise RejectedError("A pin needs an image or a video.", platform=self.name)
        if len(images) > MAX_IMAGES:
            raise RejectedError(f"A pin carries at most {MAX_IMAGES} images.", platform=self.name)
        pin["media_source"] = self._image_source(images)
        if images[0].alt_text:
            pin["alt_text"] = images[0].alt_text[:MAX_ALT_TEXT_CHARS]
        return self._published(self._create_pin(account, pin))

    def check_publish(self, account: Account, poll: Mapping[str, Any]) -> PublishResult:
        """[Get media]: `GET /v5/media/{id}` until `succeeded`, then create the video pin."""
        media_id = str(poll.get("media_id") or "")
        pin = poll.get("pin")
        if not media_id or not isinstance(pin, Mapping):
            raise RejectedError("Nothing to check: the Pinterest upload has no media id.", platform=self.name)
        response = self.http.request(
            "GET",
            f"{self.api}/media/{media_id}",
            headers=self.bearer(account.access_token),
            classify=self.classify_error,
        )
        status = self.json(response).get("status")
        if status == "failed":
            raise RejectedError("Pinterest could not process the video.", platform=self.name, code="failed")
        if status != "succeeded":
            return PublishResult(state="processing", poll=dict(poll))
        # Checks are repeated by design, so a pin made by an earlier check whose answer was lost is reused.
        existing = self._recent_pin(account, dict(pin), str(poll.get("started_at") or ""))
        if existing is not None:
            return self._published(existing)
        source: dict[str, Any] = {"source_type": "video_id", "media_id": media_id}
        cover = poll.get("cover_image_url")
        if cover:
            source["cover_image_url"] = str(cover)
        else:
            source["cover_image_key_frame_time"] = DEFAULT_COVER_FRAME
        return self._published(self._create_pin(account, {**pin, "media_source": source}))

    def _pin_fields(self, account: Account, post: OutboundPost) -> dict[str, Any]:
        board_id = str(post.options.get("board_id") or account.metadata.get("default_board_id") or "")
        if not board_id:
            raise RejectedError("Choose a Pinterest board for this connection first.", platform=self.name)
        if len(post.text) > MAX_DESCRIPTION_CHARS:
            raise RejectedError(
                f"Pin descriptions are limited to {MAX_DESCRIPTION_CHARS} characters.", platform=self.name
            )
        pin: dict[str, Any] = {"board_id": board_id, "description": post.text}
        if post.title:
            if len(post.title) > MAX_TITLE_CHARS:
                raise RejectedError(f"Pin titles are limited to {MAX_TITLE_CHARS} characters.", platform=self.name)
            pin["title"] = post.title
        if post.link:
            if len(post.link) > MAX_LINK_CHARS:
                raise RejectedError(f"Pin links are limited to {MAX_LINK_CHARS} characters.", platform=self.name)
            pin["link"] = post.link
        return pin

    def _image_source(self, images: list[MediaItem]) -> dict[str, Any]:
        """[Create pin]: bytes Stella holds go as base64; otherwise Pinterest fetches the (public) URL itself."""
        if all(item.data is None for item in images):
            if len(images) == 1:
                return {"source_type": "image_url", "url": images[0].url}
            return {"source_type": "multiple_image_urls", "items": [{"url": item.url} for item in images]}
        encoded = [self._base64_image(item) for item in images]
        if len(encoded) == 1:
            return {"source_type": "image_base64", **encoded[0]}
        return {"source_type": "multiple_image_base64", "items": encoded}

    def _base64_image(self, item: MediaItem) -> dict[str, str]:
        data, mime_type = (item.data, item.mime_type or "image/jpeg") if item.data is not None else (
            self.http.download(item.url, max_bytes=MAX_IMAGE_BYTES, classify=self.classify_error)
        )
        if len(data) > MAX_IMAGE_BYTES:
            raise RejectedError("Pinterest images are limited to 20 MB.", platform=self.name)
        return {"content_type": item.mime_type or mime_type, "data": base64.b64encode(data).decode("ascii")}

    def _start_video_pin(
        self, account: Account, pin: dict[str, Any], video: MediaItem, options: Mapping[str, Any]
    ) -> PublishResult:
        data = video.data
        mime_type = video.mime_type or "video/mp4"
        if data is None:
            data, fetched = self.http.download(video.url, max_bytes=MAX_VIDEO_BYTES, classify=self.classify_error)
            mime_type = video.mime_type or fetched
        if len(data) > MAX_VIDEO_BYTES:
            raise RejectedError("Pinterest videos are limited to 2 GB.", platform=self.name)
        started_at = self.clock()
        registered = self.json(
            self.http.request(
                "POST",
                f"{self.api}/media",
                json={"media_type": "video"},
                headers=self.bearer(account.access_token),
                classify=self.classify_error,
            )
        )
        media_id = str(registered.get("media_id") or "")
        upload_url = registered.get("upload_url")
        parameters = registered.get("upload_parameters") or {}
        if not media_id or not upload_url:
            raise TransientError("Pinterest did not open a video upload.", platform=self.name)
        # [Register media]: a multipart POST to the storage bucket with every upload parameter — no bearer token.
        self.http.request(
            "POST",
            str(upload_url),
            data={str(k): str(v) for k, v in parameters.items()},
            files={"file": ("video", data, mime_type)},
            headers={"Accept": "*/*"},
            classify=self.classify_error,
            untrusted=True,  # the bucket URL is named by Pinterest's answer
        )
        poll: dict[str, Any] = {"media_id": media_id, "pin": pin, "started_at": started_at.isoformat()}
        if options.get("cover_image_url"):
            poll["cover_image_url"] = str(options["cover_image_url"])
        return PublishResult(state="processing", poll=poll)

    def _create_pin(self, account: Account, pin: Mapping[str, Any]) -> Mapping[str, Any]:
        response = self.http.request(
            "POST",
            f"{self.api}/pins",
            json=dict(pin),
            headers=self.bearer(account.access_token),
            classify=self.classify_error,
        )
        return self.json(response)

    def _recent_pin(self, account: Account, pin: Mapping[str, Any], started_at: str) -> Mapping[str, Any] | None:
        """No idempotency key ([Create pin]): a pin on the board made since this upload began, same text, is ours."""
        try:
            since = datetime.fromisoformat(started_at)
        except ValueError:
            return None
        response = self.http.request(
            "GET",
            f"{self.api}/boards/{pin['board_id']}/pins",
            params={"page_size": "25"},
            headers=self.bearer(account.access_token),
            classify=self.classify_error,
        )
        for existing in self.json(response).get("items") or []:
            if not isinstance(existing, Mapping):
                continue
            created = _parse_time(existing.get("created_at"))
            if created is None or created < since.replace(microsecond=0):
                continue
            same = all(
                (existing.get(key) or None) == (pin.get(key) or None) for key in ("title", "description", "link")
            )
            if same and (existing.get("media") or {}).get("media_type") == "video":
                return existing
        return None

    def _published(self, pin: Mapping[str, Any]) -> PublishResult:
        pin_id = str(pin.get("id") or "")
        if not pin_id:
            raise TransientError("Pinterest did not return the created pin.", platform=self.name)
        return PublishResult(state="published", platform_post_id=pin_id, permalink=PIN_URL.format(id=pin_id))

    # -- errors -----------------------------------------------------------------------------------------

    def classify_error(self, response: requests.Response) -> ProviderError:
        """[OpenAPI] error schema: `{"code": <int>, "message": "<text>"}`."""
        body = safe_json(response)
        status = response.status_code
        message = str(body.get("message") or response.reason or f"HTTP {status}")
        code = body.get("code")
        code_text = str(code) if code is not None else None
        if status == 401:
            return AuthExpiredError(f"Pinterest no longer accepts Stella's access: {message}", platform=self.name,
                                    code=code_text)
        if status == 429:
            return RateLimitedError("Pinterest is rate limiting requests.", retry_after=retry_after_seconds(response),
                                    platform=self.name, code=code_text)
        if status >= 500:
            return TransientError(f"Pinterest is having trouble ({status}).", platform=self.name, code=code_text)
        if code == TRIAL_ACCESS_CODE:
            return RejectedError(
                f"This Pinterest app only has Trial access, which cannot create pins in production (set "
                f"STELLA_PINTEREST_API_URL to Pinterest's API Sandbox, or apply for Standard access): {message}",
                platform=self.name,
                code=code_text,
            )
        if "Unable to reach the URL" in message:
            # Pinterest could not download the image this time (observed by other clients); nothing was created,
            # so retrying is safe.
            return TransientError(f"Pinterest could not fetch the image: {message}", platform=self.name, code=code_text)
        if status == 403:
            return RejectedError(f"Pinterest refused (no permission): {message}", platform=self.name, code=code_text)
        return RejectedError(f"Pinterest refused the request: {message}", platform=self.name, code=code_text)


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        # Pinterest's `created_at` is UTC without an offset.
        parsed = parsed.replace(tzinfo=UTC)
    return parsed
