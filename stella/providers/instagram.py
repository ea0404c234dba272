"""Instagram professional accounts, connected with Facebook Login for Business ("Instagram API with Facebook Login").

The login is a Facebook user; the Instagram business accounts linked to that user's Pages are the targets.
Facebook Login and Meta's container flow (shared with Threads) live in `_meta`.
Meta's documentation, cited below by the names in brackets:
- [IG with Facebook Login] https://developers.facebook.com/docs/instagram-platform/instagram-api-with-facebook-login
- [IG publishing] https://developers.facebook.com/docs/instagram-platform/content-publishing/
- [IG Media] https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media
- [IG Media Publish] https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media_publish
- [IG Container] https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-container
- [IG error codes] https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/error-codes
"""

from __future__ import annotations

from stella.providers._meta import ContainerPublishing, MetaGraphProvider
from stella.providers.base import Capabilities, MediaItem, PlatformRules, Profile, Target, TokenSet
from stella.providers.errors import RejectedError

MAX_CAROUSEL_ITEMS = 10  # as other clients apply it; not confirmed in Meta's docs (it may have been raised)


class InstagramProvider(ContainerPublishing, MetaGraphProvider):
    name = "instagram"
    display_name = "Instagram"
    icon = "instagram"
    color = "#E1306C"
    tagline = "Photos, reels and carousels on a business or creator account linked to a Facebook Page."
    capabilities = Capabilities(
        # [IG publishing]: a feed photo, a carousel, a single video as a Reel, and stories (media_type=STORIES).
        formats=("image", "carousel", "reel", "story"),
        supports_alt_text=True,  # [IG publishing]: `alt_text` on image posts (since March 2025)
        target_kinds=("instagram_account",),
    )

    # [IG with Facebook Login]: publish, read the linked accounts, insights (checked: docs/platform-verification.md).
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
        max_chars=2200,  # [IG Media]: caption up to 2,200 characters, 30 hashtags, 20 @-tags
        requires_media=True,  # [IG publishing]: every post is a photo or video; no text-only posts
        max_images=MAX_CAROUSEL_ITEMS,
        max_videos=MAX_CAROUSEL_ITEMS,
        mixed_media=True,  # carousels mix photos and videos
        image_types=("image/jpeg",),  # [IG Media]: JPEG images only
        video_types=("video/mp4", "video/quicktime"),
        max_image_bytes=8 * 1024 * 1024,  # [IG error codes]: subcode 2207004 says 'less than 8 MiB'
        max_video_bytes=1024 * 1024 * 1024,  # third-party media guideline (Ayrshare); not in Meta's docs
        notes=(
            "At most 10 photos and videos in one carousel.",
            "At most 30 hashtags and 20 @-mentions in a caption.",
            "A single video is published as a Reel.",
            "At most 50 posts published through the API per 24 hours.",
        ),
    )

    # Container flow field names ([IG Container], [IG Media Publish]).
    status_field = "status_code"
    error_field = "status"
    create_edge = "media"
    publish_edge = "media_publish"
    caption_field = "caption"
    max_carousel_items = MAX_CAROUSEL_ITEMS

    def list_targets(self, tokens: TokenSet, profile: Profile) -> list[Target]:
        """The Instagram professional accounts linked to the Pages the user shared (the Pages, then each account)."""
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
        """A photo (JPEG), a single video as a Reel, or a carousel item; no text-only posts ([IG publishing])."""
        fields: dict[str, str] = {}
        if carousel_item:
            fields["is_carousel_item"] = "true"
        if item.kind == "video":
            # [IG publishing]: since 1 July 2023 a single feed video is a Reel; carousel videos stay VIDEO.
            fields.update(media_type="VIDEO" if carousel_item else "REELS", video_url=item.url)
            if not carousel_item:
                fields["share_to_feed"] = "true"
        else:
            fields["image_url"] = item.url
            if item.alt_text and not carousel_item:
                fields["alt_text"] = item.alt_text  # [IG publishing]: added March 2025, images only
        return fields
