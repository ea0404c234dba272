"""Instagram professional accounts, connected with Facebook Login for Business (the doc's variant A).

The login is a Facebook user; the Instagram business accounts linked to that user's Pages are the targets.
Publishing is Meta's container flow, shared with Threads (`ContainerPublishing`).
Facts follow /work/shared/platforms/meta-linkedin-x-tiktok.md ("the doc") §1.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from stella.providers.base import (
    Account,
    MediaItem,
    OutboundPost,
    PlatformRules,
    Profile,
    PublishResult,
    Target,
    TokenSet,
)
from stella.providers.errors import ProviderError, RejectedError
from stella.providers.facebook import MetaGraphProvider

MAX_CAROUSEL_ITEMS = 10  # §1.3


class ContainerPublishing:
    """Meta's create-container → wait until processed → publish flow (Instagram §1.2, Threads §3.2).

    `publish` creates the containers and tries to finish at once; what is still processing comes back as
    `processing` with a poll that `check_publish` resumes. A container already `PUBLISHED` is never
    published again: the media it became is looked up instead (the doc: "Safe retry").
    """

    display_name: ClassVar[str]
    name: ClassVar[str]
    # Field names differ between the Instagram and Threads flavours of the same flow.
    status_field: ClassVar[str]  # IG `status_code`, Threads `status`
    error_field: ClassVar[str]  # IG `status` (holds the subcode), Threads `error_message`
    create_edge: ClassVar[str]  # IG `media`, Threads `threads`
    publish_edge: ClassVar[str]  # IG `media_publish`, Threads `threads_publish`
    caption_field: ClassVar[str]  # IG `caption`, Threads `text`

    if TYPE_CHECKING:  # provided by the provider class this is mixed into (listed after it)

        def graph_get(self, path: str, access_token: str, **params: Any) -> dict[str, Any]: ...

        def graph_post(self, path: str, access_token: str, data: Mapping[str, Any] | None = None) -> dict[str, Any]: ...

    def create_container(self, account: Account, fields: Mapping[str, str]) -> str:
        created = self.graph_post(f"{account.platform_account_id}/{self.create_edge}", account.access_token, fields)
        container_id = str(created.get("id") or "")
        if not container_id:
            raise RejectedError(f"{self.display_name} did not return a container id.", platform=self.name)
        return container_id

    def start_publish(self, account: Account, poll: dict[str, Any]) -> PublishResult:
        """Try to finish right away; a retryable failure leaves the containers to `check_publish` later.

        That matters most when `media_publish` times out: the post may be live, and only the container's
        status can tell — a fresh `publish()` would create and publish a second one.
        """
        try:
            return self.check_publish(account, poll)
        except ProviderError as exc:
            if not exc.retryable:
                raise
            return PublishResult(state="processing", poll=poll)

    def check_publish(self, account: Account, poll: Mapping[str, Any]) -> PublishResult:
        """Advance the flow: children ready → carousel container; container ready → publish; then the permalink."""
        state = dict(poll)
        if state.get("stage") == "children":
            children = [str(c) for c in state.get("children") or []]
            statuses = [self._container_status(account, child) for child in children]
            if any(status != "FINISHED" for status, _ in statuses):
                return PublishResult(state="processing", poll=state)
            parent = self.create_container(
                account,
                {
                    "media_type": "CAROUSEL",
                    "children": ",".join(children),
                    self.caption_field: str(state.get("caption") or ""),
                },
            )
            state = {"stage": "container", "container_id": parent, "caption": state.get("caption") or ""}
        container_id = str(state.get("container_id") or "")
        if not container_id:
            raise RejectedError(f"Nothing to check: no {self.display_name} container id.", platform=self.name)
        status, _ = self._container_status(account, container_id)
        if status == "PUBLISHED":
            return self._already_published(account, str(state.get("caption") or ""))
        if status != "FINISHED":
            return PublishResult(state="processing", poll=state)
        published = self.graph_post(
            f"{account.platform_account_id}/{self.publish_edge}", account.access_token, {"creation_id": container_id}
        )
        media_id = str(published.get("id") or "")
        if not media_id:
            raise RejectedError(f"{self.display_name} did not return the published media id.", platform=self.name)
        return PublishResult(state="published", platform_post_id=media_id, permalink=self._permalink(account, media_id))

    def _container_status(self, account: Account, container_id: str) -> tuple[str, str]:
        fields = ",".join(dict.fromkeys(("id", self.status_field, self.error_field)))
        node = self.graph_get(container_id, account.access_token, fields=fields)
        status = str(node.get(self.status_field) or "").upper()
        detail = str(node.get(self.error_field) or "")
        if status == "ERROR":
            raise RejectedError(
                f"{self.display_name} could not process the media ({detail or 'no reason given'}).",
                platform=self.name,
                code="container_error",
            )
        if status == "EXPIRED":
            raise RejectedError(
                f"{self.display_name} discarded the prepared post because it was not published within 24 hours.",
                platform=self.name,
                code="container_expired",
            )
        return status, detail

    def _already_published(self, account: Account, caption: str) -> PublishResult:
        """The container was published by an attempt whose answer was lost: find the media it became."""
        try:
            recent = self.graph_get(
                f"{account.platform_account_id}/{self.create_edge}",
                account.access_token,
                fields=f"id,{self.caption_field},permalink",
                limit=25,
            )
        except ProviderError:
            recent = {}
        for media in recent.get("data") or []:
            if isinstance(media, dict) and media.get("id") and (media.get(self.caption_field) or "") == caption:
                return PublishResult(
                    state="published", platform_post_id=str(media["id"]), permalink=media.get("permalink")
                )
        return PublishResult(state="published")

    def _permalink(self, account: Account, media_id: str) -> str | None:
        # §1.2: ask for `permalink`; never build it from the media id. The post is live either way.
        try:
            node = self.graph_get(media_id, account.access_token, fields="permalink")
        except ProviderError:
            return None
        return str(node["permalink"]) if node.get("permalink") else None


class InstagramProvider(ContainerPublishing, MetaGraphProvider):
    name = "instagram"
    display_name = "Instagram"
    icon = "instagram"
    color = "#E1306C"

    # §1.1 variant A: publish, read the accounts behind the Pages, and (later) insights.
    scopes = (
        "instagram_basic",
        "instagram_content_publish",
        "pages_show_list",
        "pages_read_engagement",
        "instagram_manage_insights",
    )
    required_scopes = frozenset({"instagram_basic", "instagram_content_publish", "pages_show_list"})
    setup_notes = (
        "Uses Facebook Login for Business: in your Meta app at developers.facebook.com add Facebook Login for "
        "Business and the Instagram API, and request instagram_basic, instagram_content_publish, pages_show_list, "
        "pages_read_engagement and instagram_manage_insights. The Instagram account must be a professional "
        "account linked to a Facebook Page you manage."
    )
    rules = PlatformRules(
        max_chars=2200,  # §1.3
        requires_media=True,  # §1.2: no text-only posts
        max_images=MAX_CAROUSEL_ITEMS,
        max_videos=MAX_CAROUSEL_ITEMS,
        mixed_media=True,  # carousels mix photos and videos
        image_types=("image/jpeg",),  # §1.2: the image must be a JPEG
        video_types=("video/mp4", "video/quicktime"),
        max_image_bytes=8 * 1024 * 1024,  # §1.3 ⚠️ third-party
        max_video_bytes=1024 * 1024 * 1024,  # §1.3 ⚠️ third-party
        notes=(
            "At most 10 photos and videos in one carousel.",
            "At most 30 hashtags and 20 @-mentions in a caption.",
            "A single video is published as a Reel.",
            "At most 50 posts published through the API per 24 hours.",
        ),
    )

    # Container flow field names (§1.2).
    status_field = "status_code"
    error_field = "status"
    create_edge = "media"
    publish_edge = "media_publish"
    caption_field = "caption"

    def list_targets(self, tokens: TokenSet, profile: Profile) -> list[Target]:
        """The Instagram professional accounts linked to the Pages the user shared (§1.1, two steps)."""
        pages = self.managed_pages(tokens.access_token, "id,name,instagram_business_account")
        targets = []
        for page in pages:
            linked = page.get("instagram_business_account")
            if not isinstance(linked, dict) or not linked.get("id"):
                continue
            ig_id = str(linked["id"])
            account = self.graph_get(ig_id, tokens.access_token, fields="id,username,name,profile_picture_url")
            targets.append(
                Target(
                    id=ig_id,
                    name=str(account.get("name") or account.get("username") or ig_id),
                    kind="instagram_account",
                    handle=account.get("username"),
                    avatar_url=account.get("profile_picture_url"),
                    metadata={"ig_user_id": ig_id, "page_id": str(page.get("id")), "page_name": page.get("name")},
                )
            )
        if not targets:
            raise RejectedError(
                "None of the Facebook Pages you shared has an Instagram professional account linked. Link the "
                "Instagram account to a Page (Instagram settings → Accounts Center), then connect again.",
                platform=self.name,
                code="no_instagram_account",
            )
        return targets

    def publish(self, account: Account, post: OutboundPost) -> PublishResult:
        """One image → image container; one video → Reel; several → children then a carousel (§1.2)."""
        if not post.media:
            raise RejectedError("Instagram needs at least one photo or video.", platform=self.name)
        if len(post.media) > MAX_CAROUSEL_ITEMS:
            raise RejectedError(f"Instagram takes at most {MAX_CAROUSEL_ITEMS} items in one post.", platform=self.name)
        if len(post.media) == 1:
            fields = self._media_fields(post.media[0], carousel_item=False)
            fields["caption"] = post.text
            poll: dict[str, Any] = {"stage": "container", "container_id": self.create_container(account, fields),
                                    "caption": post.text}
        else:
            children = [
                self.create_container(account, self._media_fields(item, carousel_item=True)) for item in post.media
            ]
            # §1.2: children carry no caption; it goes on the carousel, created once every child is ready.
            poll = {"stage": "children", "children": children, "caption": post.text}
        return self.start_publish(account, poll)

    @staticmethod
    def _media_fields(item: MediaItem, *, carousel_item: bool) -> dict[str, str]:
        fields: dict[str, str] = {}
        if carousel_item:
            fields["is_carousel_item"] = "true"
        if item.kind == "video":
            # §1.2: since July 2023 a single feed video is a Reel; carousel videos stay VIDEO.
            fields.update(media_type="VIDEO" if carousel_item else "REELS", video_url=item.url)
            if not carousel_item:
                fields["share_to_feed"] = "true"
        else:
            fields["image_url"] = item.url
            if item.alt_text and not carousel_item:
                fields["alt_text"] = item.alt_text  # §1.2 ⚠️: newer parameter, images only
        return fields
