"""Facebook Pages, and the Facebook Login + Graph API pieces Instagram (variant A) shares with it.

Facts follow /work/shared/platforms/meta-linkedin-x-tiktok.md ("the doc"): §1.1/§2.1 OAuth, §2.2 publishing,
§2.3 limits, §1.5/§2.5 errors.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

import requests

from stella.providers.base import (
    Account,
    OutboundPost,
    PlatformRules,
    Profile,
    Provider,
    PublishResult,
    Target,
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

GRAPH_VERSION = "v23.0"
GRAPH_URL = f"https://graph.facebook.com/{GRAPH_VERSION}"
FACEBOOK_DIALOG_URL = f"https://www.facebook.com/{GRAPH_VERSION}/dialog/oauth"

# §1.5: throttling codes (app, user, page, custom, ...; BUC 80001-80006 as reported).
THROTTLE_CODES = frozenset({4, 17, 32, 341, 613, 80001, 80002, 80004, 80005, 80006})
# §1.5: subcodes that mean "the token is no longer usable" (password changed, expired, invalid, ...).
TOKEN_SUBCODES = frozenset({458, 459, 460, 463, 464, 467, 492})
# Authorization-code problems at the token endpoint: expired, redirect_uri mismatch, already used.
CODE_SUBCODES = frozenset({36007, 36008, 36009})
# §1.5 publishing subcodes that are worth retrying later (download timeout, retryable upload failure).
RETRYABLE_SUBCODES = frozenset({2207003, 2207082})
DAILY_LIMIT_SUBCODES = frozenset({2207042})
PAGE_SIZE = 100
MAX_PAGES = 20


def graph_error_fields(body: Mapping[str, Any]) -> tuple[int, int, str, bool]:
    """(code, subcode, message, is_transient) from a Graph error body, whichever of Meta's shapes it uses."""
    error = body.get("error")
    if isinstance(error, Mapping):
        source: Mapping[str, Any] = error
        message = error.get("error_user_msg") or error.get("message") or ""
    else:
        # Instagram/Threads token endpoints answer flat: {"error_type", "code", "error_message"}.
        source = body
        message = body.get("error_message") or (error if isinstance(error, str) else "") or body.get("message") or ""
    try:
        code = int(source.get("code") or 0)
    except (TypeError, ValueError):
        code = 0
    try:
        subcode = int(source.get("error_subcode") or 0)
    except (TypeError, ValueError):
        subcode = 0
    return code, subcode, str(message), bool(source.get("is_transient"))


def usage_retry_after(response: requests.Response) -> float | None:
    """§1.5: Meta sends no Retry-After; `X-Business-Use-Case-Usage` says minutes until access is regained."""
    header = response.headers.get("X-Business-Use-Case-Usage")
    if header:
        try:
            usage = jsonlib.loads(header)
        except ValueError:
            usage = {}
        minutes = [
            float(entry.get("estimated_time_to_regain_access") or 0)
            for entries in (usage.values() if isinstance(usage, dict) else [])
            if isinstance(entries, list)
            for entry in entries
            if isinstance(entry, dict)
        ]
        if minutes and max(minutes) > 0:
            return max(minutes) * 60
    return retry_after_seconds(response)


def graph_code(code: int, subcode: int) -> str:
    """The error's code as kept on `ProviderError.code`: "506", or "100:2207010" with a subcode."""
    return f"{code}:{subcode}" if subcode else str(code)


def classify_graph_error(provider: Provider, response: requests.Response) -> ProviderError:
    """§1.5: classify by `error.code` / `error_subcode`, not by HTTP status (Graph answers 400 for most)."""
    name, platform = provider.display_name, provider.name
    code, subcode, message, transient = graph_error_fields(safe_json(response))
    status = response.status_code
    message = message or response.reason or f"HTTP {status}"
    ident = graph_code(code, subcode) if code else str(status)
    if code == 190 or code == 102 or subcode in TOKEN_SUBCODES:
        return AuthExpiredError(
            f"{name} no longer accepts Stella's access ({message}). Please reconnect.", platform=platform, code=ident
        )
    if code in THROTTLE_CODES or status == 429:
        return RateLimitedError(
            f"{name} is rate limiting requests ({message}).",
            retry_after=usage_retry_after(response), platform=platform, code=ident,
        )
    if subcode in DAILY_LIMIT_SUBCODES:
        return RateLimitedError(
            f"{name} refused: the daily limit of API-published posts is reached ({message}).",
            retry_after=None, platform=platform, code=ident,
        )
    if status >= 500 or transient or code in (1, 2) or subcode in RETRYABLE_SUBCODES:
        return TransientError(f"{name} is having trouble ({message}).", platform=platform, code=ident)
    return RejectedError(f"{name} refused the request: {message}", platform=platform, code=ident)


def classify_meta_token_error(provider: Provider, response: requests.Response) -> ProviderError:
    """Token-endpoint errors: a bad, reused or expired code or token means "connect again"."""
    code, subcode, message, _ = graph_error_fields(safe_json(response))
    if response.status_code < 500 and (code == 190 or subcode in CODE_SUBCODES):
        return AuthExpiredError(
            f"{provider.display_name} refused the authorization ({message}). Please reconnect.",
            platform=provider.name, code=graph_code(code, subcode),
        )
    if response.status_code < 500 and code in (1, 101) and not _is_generic_unknown(message):
        # "Error validating client secret." / "Invalid application ID": Stella's app settings are wrong.
        return RejectedError(
            f"{provider.display_name} refused Stella's app credentials: {message}", platform=provider.name,
            code=str(code),
        )
    return classify_graph_error(provider, response)


def _is_generic_unknown(message: str) -> bool:
    return message.lower().startswith("an unknown error")


class MetaGraphProvider(Provider):
    """Facebook Login (authorization-code flow over the Graph API), shared by Facebook Pages and Instagram."""

    authorize_url = FACEBOOK_DIALOG_URL
    token_url = f"{GRAPH_URL}/oauth/access_token"
    scope_separator = ","  # the doc §7: Meta expects a comma-separated scope list
    client_auth = "body"  # §1.1: the secret goes in the query, never HTTP Basic
    uses_pkce = False  # §1.1: PKCE only in the OIDC flow, "still in testing"
    # Re-ask for permissions the user unticked last time when they reconnect.
    extra_authorize_params: ClassVar[Mapping[str, str]] = {"auth_type": "rerequest"}
    has_targets = True
    # 60-day user tokens can only be re-exchanged while still valid: renew well before the end.
    refresh_margin = timedelta(days=7)
    developer_portal = "https://developers.facebook.com/apps/"
    # Permissions without which publishing cannot work (the others only enable metrics).
    required_scopes: ClassVar[frozenset[str]] = frozenset()

    # -- authorization ---------------------------------------------------------------------------------

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str | None = None) -> TokenSet:
        """Code → short-lived user token → long-lived (~60 days) user token, with the permissions granted."""
        # §1.1 (IG login variant): Meta may append "#_" to the redirect; never part of the code.
        code = code.removesuffix("#_")
        # §1.1: the code exchange is a GET with client_id/client_secret/redirect_uri/code in the query.
        short = self.token_request({"code": code, "redirect_uri": redirect_uri}, method="GET")
        if not short.get("access_token"):
            raise RejectedError(f"{self.display_name} did not return an access token.", platform=self.name)
        tokens = self._long_lived(str(short["access_token"]))
        granted = self._granted_permissions(tokens.access_token)
        missing = self.required_scopes - granted
        if missing:
            raise RejectedError(
                f"{self.display_name} did not grant {', '.join(sorted(missing))}, which Stella needs to publish. "
                "Connect again and keep every permission ticked.",
                platform=self.name,
                code="permissions_declined",
            )
        return TokenSet(
            access_token=tokens.access_token,
            expires_at=tokens.expires_at,
            scopes=frozenset(granted),
            extra=tokens.extra,
        )

    def _long_lived(self, access_token: str) -> TokenSet:
        # §1.1 get-long-lived: fb_exchange_token swaps a valid user token for a ~60-day one.
        payload = self.token_request(
            {"grant_type": "fb_exchange_token", "fb_exchange_token": access_token}, method="GET"
        )
        return self.parse_token_response(payload)

    def _granted_permissions(self, access_token: str) -> frozenset[str]:
        # §1.1 "Verify grants": users can untick permissions in the dialog; keep status=granted only.
        payload = self.graph_get("me/permissions", access_token)
        return frozenset(
            str(entry.get("permission"))
            for entry in payload.get("data") or []
            if isinstance(entry, dict) and entry.get("status") == "granted"
        )

    def can_refresh(self, tokens: TokenSet) -> bool:
        # §1.1: no refresh grant; a user token can be re-exchanged only while it is still valid.
        return tokens.expires_at is not None and tokens.expires_at > self.clock()

    def refresh(self, tokens: TokenSet) -> TokenSet:
        """Re-run the long-lived exchange with the still-valid token (Meta has no refresh_token grant)."""
        if tokens.expires_at is None:
            raise AuthExpiredError(
                f"{self.display_name} access cannot be renewed automatically; please reconnect.", platform=self.name
            )
        if tokens.expires_at <= self.clock():
            # §1.1: "An expired token cannot be exchanged".
            raise AuthExpiredError(f"{self.display_name} access has expired; please reconnect.", platform=self.name)
        fresh = self._long_lived(tokens.access_token)
        return TokenSet(
            access_token=fresh.access_token,
            expires_at=fresh.expires_at,
            scopes=tokens.scopes,
            extra={**tokens.extra, **fresh.extra},
        )

    def fetch_profile(self, tokens: TokenSet) -> Profile:
        """The Facebook user who signed in; the account to publish to is picked among the targets."""
        me = self.graph_get("me", tokens.access_token, fields="id,name,picture.type(large)")
        user_id = str(me.get("id") or "")
        if not user_id:
            raise RejectedError(f"{self.display_name} did not say who signed in.", platform=self.name)
        return Profile(
            platform_account_id=user_id,
            handle=None,
            display_name=me.get("name"),
            avatar_url=picture_url(me),
            metadata={"facebook_user_id": user_id},
        )

    def managed_pages(self, access_token: str, fields: str) -> list[dict[str, Any]]:
        """Every Page the user shared with Stella (§2.1: /me/accounts, paginated with cursors)."""
        pages: list[dict[str, Any]] = []
        params: dict[str, Any] = {"fields": fields, "limit": PAGE_SIZE}
        for _ in range(MAX_PAGES):
            payload = self.graph_get("me/accounts", access_token, **params)
            pages.extend(entry for entry in payload.get("data") or [] if isinstance(entry, dict))
            paging = payload.get("paging") or {}
            after = (paging.get("cursors") or {}).get("after")
            # Follow the cursor ourselves rather than the `next` URL, which carries the token in its query.
            if not paging.get("next") or not after:
                break
            params["after"] = after
        return pages

    # -- Graph helpers -----------------------------------------------------------------------------------

    def graph_url(self, path: str) -> str:
        return f"{GRAPH_URL}/{path.lstrip('/')}"

    def graph_get(self, path: str, access_token: str, **params: Any) -> dict[str, Any]:
        response = self.http.request(
            "GET", self.graph_url(path), params={**params, "access_token": access_token}, classify=self.classify_error
        )
        return self.json(response)

    def graph_post(
        self, path: str, access_token: str, data: Mapping[str, Any] | None = None, *, json: Any = None
    ) -> dict[str, Any]:
        # The token travels as the documented `access_token` parameter; it is scrubbed from every error.
        response = self.http.request(
            "POST",
            self.graph_url(path),
            params={"access_token": access_token},
            data=dict(data) if data is not None else None,
            json=json,
            classify=self.classify_error,
        )
        return self.json(response)

    def classify_error(self, response: requests.Response) -> ProviderError:
        return classify_graph_error(self, response)

    def classify_token_error(self, response: requests.Response) -> ProviderError:
        return classify_meta_token_error(self, response)


def picture_url(node: Mapping[str, Any]) -> str | None:
    """`picture{data{url}}` as the Graph API nests it."""
    picture = node.get("picture")
    if isinstance(picture, Mapping):
        data = picture.get("data")
        if isinstance(data, Mapping) and data.get("url"):
            return str(data["url"])
    return None


class FacebookProvider(MetaGraphProvider):
    name = "facebook"
    display_name = "Facebook"
    icon = "facebook"
    color = "#1877F2"

    # §2.1: list Pages, publish with a Page token, read insights (read_insights) and video (publish_video).
    scopes = ("pages_show_list", "pages_manage_posts", "pages_read_engagement", "read_insights", "publish_video")
    required_scopes = frozenset({"pages_show_list", "pages_manage_posts"})
    setup_notes = (
        "Create a Business app at developers.facebook.com, add the Facebook Login for Business product with "
        "this callback URL, and request pages_show_list, pages_manage_posts, pages_read_engagement, "
        "read_insights and publish_video. You need the CREATE_CONTENT task on each Page you connect."
    )
    rules = PlatformRules(
        max_chars=63206,  # §2.3 (Postiz maxLength)
        max_images=10,
        max_videos=1,
        mixed_media=False,
        image_types=("image/jpeg", "image/png", "image/gif"),
        video_types=("video/mp4", "video/quicktime"),
        max_image_bytes=4 * 1024 * 1024,  # §2.3: photos over 4 MB fail (subcode 1366046)
        max_video_bytes=1024 * 1024 * 1024,
        notes=(
            "Several photos become one post; a video is posted on its own.",
            "Facebook refuses an exact duplicate of a recent post.",
        ),
    )

    def list_targets(self, tokens: TokenSet, profile: Profile) -> list[Target]:
        pages = self.managed_pages(tokens.access_token, "id,name,username,picture.type(large),tasks")
        targets = [
            Target(
                id=str(page["id"]),
                name=str(page.get("name") or page["id"]),
                kind="page",
                handle=page.get("username"),
                avatar_url=picture_url(page),
                metadata={"page_id": str(page["id"])},
            )
            for page in pages
            if page.get("id") and _can_publish(page)
        ]
        if not targets:
            raise RejectedError(
                "None of the Facebook Pages you shared lets you publish. Connect again and select at least one "
                "Page you manage.",
                platform=self.name,
                code="no_pages",
            )
        return targets

    def apply_target(self, tokens: TokenSet, target: Target) -> tuple[TokenSet, Profile]:
        """Swap the user token for the chosen Page's token (§2.1: publishing needs a Page access token)."""
        page = self.graph_get(
            target.id, tokens.access_token, fields="id,name,username,link,picture.type(large),access_token"
        )
        page_token = page.get("access_token")
        if not page_token:
            raise RejectedError(
                f"Facebook gave no access to the Page {target.name}; you need a role that can create content.",
                platform=self.name,
                code="no_page_token",
            )
        # §2.1 ⚠️: a Page token derived from a long-lived user token does not expire.
        page_tokens = TokenSet(access_token=str(page_token), scopes=tokens.scopes)
        page_id = str(page.get("id") or target.id)
        profile = Profile(
            platform_account_id=page_id,
            handle=page.get("username") or target.handle,
            display_name=page.get("name") or target.name,
            avatar_url=picture_url(page) or target.avatar_url,
            metadata={"page_id": page_id, "page_url": page.get("link")},
        )
        return page_tokens, profile

    # -- publishing ------------------------------------------------------------------------------------

    def publish(self, account: Account, post: OutboundPost) -> PublishResult:
        """Text/link → /feed; photos → unpublished /photos then one /feed post; a video → /videos (processed)."""
        page_id = account.platform_account_id
        videos = [item for item in post.media if item.kind == "video"]
        images = [item for item in post.media if item.kind == "image"]
        if videos:
            if len(videos) > 1 or images:
                raise RejectedError("Facebook posts a video on its own, one per post.", platform=self.name)
            video = videos[0]
            form = {"file_url": video.url, "description": post.text, "published": "true"}
            if post.title:
                form["title"] = post.title
            created = self.graph_post(f"{page_id}/videos", account.access_token, form)
            video_id = str(created.get("id") or "")
            if not video_id:
                raise RejectedError("Facebook did not return the video id.", platform=self.name)
            return self.check_publish(account, {"video_id": video_id})

        body: dict[str, Any] = {"message": post.text, "published": True}
        if images:
            media_ids = []
            for image in images:
                # §2.2: upload each photo unpublished, then attach them all to one feed post.
                photo: dict[str, Any] = {"url": image.url, "published": "false"}
                if image.alt_text:
                    photo["alt_text_custom"] = image.alt_text
                uploaded = self.graph_post(f"{page_id}/photos", account.access_token, photo)
                media_ids.append({"media_fbid": str(uploaded["id"])})
            body["attached_media"] = media_ids
        elif post.link:
            body["link"] = post.link
        try:
            created = self.graph_post(f"{page_id}/feed", account.access_token, json=body)
        except RejectedError as exc:
            # §2.3: code 506 = an exact duplicate of a recent post (e.g. an earlier attempt that timed out).
            existing = self._existing_duplicate(account, post) if (exc.code or "").split(":")[0] == "506" else None
            if existing is None:
                raise
            return existing
        post_id = str(created.get("id") or "")
        if not post_id:
            raise RejectedError("Facebook did not return the post id.", platform=self.name)
        return PublishResult(state="published", platform_post_id=post_id, permalink=self._permalink(account, post_id))

    def check_publish(self, account: Account, poll: Mapping[str, Any]) -> PublishResult:
        """A video is live once its `status.video_status` is `ready`."""
        video_id = str(poll.get("video_id") or "")
        if not video_id:
            raise RejectedError("Nothing to check: no Facebook video id.", platform=self.name)
        video = self.graph_get(video_id, account.access_token, fields="id,status,permalink_url")
        status = video.get("status") or {}
        state = str(status.get("video_status") or "").lower()
        if state == "ready":
            return PublishResult(
                state="published",
                platform_post_id=video_id,
                permalink=absolute_facebook_url(video.get("permalink_url")),
            )
        if state in ("error", "expired"):
            phase = status.get("processing_phase")
            error = phase.get("error") if isinstance(phase, dict) else None
            reason = error.get("message") if isinstance(error, dict) else None
            raise RejectedError(
                f"Facebook could not process the video ({reason or state}).", platform=self.name, code=state
            )
        return PublishResult(state="processing", platform_post_id=video_id, poll={"video_id": video_id})

    def _permalink(self, account: Account, post_id: str) -> str | None:
        # §2.2: read `permalink_url` rather than building the URL. The post exists: a failed lookup is no failure.
        try:
            node = self.graph_get(post_id, account.access_token, fields="permalink_url")
        except ProviderError:
            return None
        return absolute_facebook_url(node.get("permalink_url"))

    def _existing_duplicate(self, account: Account, post: OutboundPost) -> PublishResult | None:
        """The post Facebook says already exists, from the Page's recent feed; None when it is not found."""
        try:
            feed = self.graph_get(
                f"{account.platform_account_id}/feed", account.access_token, fields="id,message,permalink_url", limit=25
            )
        except ProviderError:
            return None
        for entry in feed.get("data") or []:
            if isinstance(entry, dict) and entry.get("message") == post.text and entry.get("id"):
                return PublishResult(
                    state="published",
                    platform_post_id=str(entry["id"]),
                    permalink=absolute_facebook_url(entry.get("permalink_url")),
                )
        return None


def absolute_facebook_url(value: Any) -> str | None:
    """Graph returns some permalinks relative (`/page/videos/1/`): make them absolute."""
    if not value:
        return None
    text = str(value)
    return f"https://www.facebook.com{text}" if text.startswith("/") else text


def _can_publish(page: Mapping[str, Any]) -> bool:
    # §2.1: publishing needs the CREATE_CONTENT task; `tasks` is absent for some Page roles, so allow that.
    tasks = page.get("tasks")
    return not isinstance(tasks, list) or "CREATE_CONTENT" in tasks
