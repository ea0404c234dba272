"""Instagram professional accounts, connected with Facebook Login for Business (the doc's variant A).

The login is a Facebook user; the Instagram business accounts linked to that user's Pages are the targets.
Facebook Login and Meta's container flow (shared with Threads) live in `_meta`.
Facts follow /work/shared/platforms/meta-linkedin-x-tiktok.md ("the doc") §1.
"""

from __future__ import annotations

from stella.providers._meta import ContainerPublishing, MetaGraphProvider
from stella.providers.base import MediaItem, PlatformRules, Profile, Target, TokenSet
from stella.providers.errors import RejectedError

MAX_CAROUSEL_ITEMS = 10  # §1.3


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
        "account linked to a Facebook Page you manage. If Meta shows “It looks like this app isn't available”, "
        "create a Login for Business configuration (User access token, those permissions) and set "
        "STELLA_INSTAGRAM_LOGIN_CONFIG_ID to its ID."
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
    max_carousel_items = MAX_CAROUSEL_ITEMS

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

    def media_fields(self, item: MediaItem, *, carousel_item: bool) -> dict[str, str]:
        """A photo (JPEG, §1.2), a single video as a Reel, or a carousel item; no text-only posts (§1.2)."""
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
