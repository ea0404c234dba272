"""Facebook Pages: the Pages a Facebook user manages are the targets; Page tokens publish.

Facebook Login and the Graph error envelope live in `_meta` (shared with Instagram and Threads).
Meta's documentation, cited below by the names in brackets:
- [Pages posts] https://developers.facebook.com/docs/pages-api/posts
- [Page tokens] https://developers.facebook.com/docs/business-sdk/common-scenarios/token-switch
- [Photo] https://developers.facebook.com/docs/graph-api/reference/photo/
- [Page Post] https://developers.facebook.com/docs/graph-api/reference/post/
- [Graph errors] https://developers.facebook.com/docs/graph-api/guides/error-handling
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stella.providers._meta import MetaGraphProvider, picture_url
from stella.providers.base import (
    Account,
    Capabilities,
    OutboundPost,
    PlatformRules,
    Profile,
    PublishResult,
    Target,
    TokenSet,
)
from stella.providers.errors import ProviderError, RejectedError


class FacebookProvider(MetaGraphProvider):
    name = "facebook"
    display_name = "Facebook"
    icon = "facebook"
    color = "#1877F2"
    tagline = "Posts, photos and videos on a Facebook Page you manage."
    capabilities = Capabilities(
        formats=("post",),  # [Pages posts]: text, a link, photos or one video
        supports_alt_text=True,  # [Photo]: `alt_text_custom` on each photo
        target_kinds=("page",),
    )

    # [Pages posts]: list Pages, publish with a Page token, read insights (read_insights), video (publish_video).
    scopes = ("pages_show_list", "pages_manage_posts", "pages_read_engagement", "read_insights", "publish_video")
    required_scopes = frozenset({"pages_show_list", "pages_manage_posts"})
    setup_notes = (
        "Create a Business app at developers.facebook.com, add the Facebook Login for Business product with "
        "this callback URL, and request pages_show_list, pages_manage_posts, pages_read_engagement, "
        "read_insights and publish_video. You need the CREATE_CONTENT task on each Page you connect. If Meta "
        "shows “It looks like this app isn't available”, create a Login for Business configuration (User access "
        "token, those permissions) and set STELLA_FACEBOOK_LOGIN_CONFIG_ID to its ID."
    )
    rules = PlatformRules(
        max_chars=63206,  # as other clients (Postiz) apply it; not stated in Meta's docs
        max_images=10,
        max_videos=1,
        mixed_media=False,
        image_types=("image/jpeg", "image/png", "image/gif"),
        video_types=("video/mp4", "video/quicktime"),
        max_image_bytes=4 * 1024 * 1024,  # photos over 4 MB fail with subcode 1366046, as clients report
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
        """Swap the user token for the chosen Page's token ([Pages posts]: publishing needs a Page access token)."""
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
        # [Page tokens]; that one derived from a long-lived user token never expires is reported, not documented.
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
                # Each photo unpublished ([Photo]: published=false), then all attached to one feed post.
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
            # [Graph errors]: code 506 = a duplicate of a recent post (e.g. an earlier attempt that timed out).
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
        # [Page Post]: read `permalink_url` rather than building the URL. The post exists: a failed lookup is fine.
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
    # [Pages posts]: publishing needs the CREATE_CONTENT task; `tasks` is absent for some Page roles, so allow that.
    tasks = page.get("tasks")
    return not isinstance(tasks, list) or "CREATE_CONTENT" in tasks
