"""Threads (graph.threads.net): Threads app credentials, long-lived tokens refreshed by GET, container publishing.

The Graph helpers, the Graph error envelope and the container flow Threads shares with Instagram live in `_meta`.

Meta's documentation, cited below by the names in brackets:
- [Threads tokens] https://developers.facebook.com/docs/threads/get-started/get-access-tokens-and-permissions
- [Threads long-lived tokens] https://developers.facebook.com/docs/threads/get-started/long-lived-tokens/
- [Threads get started] https://developers.facebook.com/docs/threads/get-started
- [Threads posts] https://developers.facebook.com/docs/threads/posts
- [Threads alt text] https://developers.facebook.com/docs/threads/posts/accessibility
"""

from __future__ import annotations

from datetime import timedelta

from stella.providers._meta import ContainerPublishing, renewed, strip_redirect_suffix
from stella.providers.base import Capabilities, MediaItem, PlatformRules, Profile, TokenSet
from stella.providers.errors import AuthExpiredError, RejectedError

THREADS_GRAPH = "https://graph.threads.net"
THREADS_API = f"{THREADS_GRAPH}/v1.0"
MAX_CAROUSEL_ITEMS = 20  # 20 per third-party guides; older [Threads posts] said 10 (unverified)
# [Threads long-lived tokens]: 60 days, refreshable once at least 24 hours old (checked: docs/platform-verification.md).
LONG_LIVED_LIFETIME = timedelta(days=60)
MIN_AGE_FOR_REFRESH = timedelta(hours=24)


class ThreadsProvider(ContainerPublishing):
    name = "threads"
    display_name = "Threads"
    icon = "threads"
    color = "#101010"
    tagline = "Posts on your Threads profile."
    capabilities = Capabilities(
        formats=("post", "carousel"),  # [Threads posts]: TEXT, IMAGE, VIDEO and CAROUSEL containers
        supports_threads=True,  # [Threads posts]: a container may reply to the post before it (`reply_to_id`)
        supports_alt_text=True,  # [Threads alt text]: `alt_text` on image and video containers
    )

    authorize_url = "https://threads.com/oauth/authorize"  # [Threads tokens] (checked: docs/platform-verification.md)
    token_url = f"{THREADS_GRAPH}/oauth/access_token"
    graph_base = THREADS_API
    # [Threads get started]: threads_basic for every endpoint, publish, and (later) insights.
    scopes = ("threads_basic", "threads_content_publish", "threads_manage_insights")
    scope_separator = ","  # [Threads tokens]: comma-separated
    client_auth = "body"  # [Threads tokens]: secret in the POST form, not Basic
    uses_pkce = False  # PKCE is not in Threads' documentation
    refresh_margin = timedelta(days=7)
    developer_portal = "https://developers.facebook.com/apps/"
    setup_notes = (
        "Create a Meta app with the Threads use case at developers.facebook.com, add this callback URL under "
        "Threads → Settings, and request threads_basic, threads_content_publish and threads_manage_insights. "
        "Use the Threads app id and secret, not the Facebook app's."
    )
    rules = PlatformRules(
        max_chars=500,
        counting="chars_emoji_utf8",  # [Threads posts]: 500 characters; emoji count as their UTF-8 byte length
        max_images=MAX_CAROUSEL_ITEMS,
        max_videos=MAX_CAROUSEL_ITEMS,
        mixed_media=True,
        image_types=("image/jpeg", "image/png"),
        video_types=("video/mp4", "video/quicktime"),
        max_image_bytes=8 * 1024 * 1024,  # third-party media guideline (Ayrshare); not confirmed in Meta's docs
        max_video_bytes=1024 * 1024 * 1024,  # third-party media guideline (Ayrshare); not confirmed in Meta's docs
        notes=(
            "Emoji count as several characters (their UTF-8 length, usually 4).",
            "At most 5 links in a post; the first one becomes the link preview.",
            "At most 20 photos and videos in one carousel.",
        ),
    )

    # Container flow field names ([Threads posts]).
    status_field = "status"
    error_field = "error_message"
    create_edge = "threads"
    publish_edge = "threads_publish"
    caption_field = "text"
    max_carousel_items = MAX_CAROUSEL_ITEMS
    text_only_media_type = "TEXT"  # [Threads posts]: Threads takes text-only posts

    # -- authorization ---------------------------------------------------------------------------------

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str | None = None) -> TokenSet:
        """POST the code for a 1-hour token, then swap it for a 60-day one ([Threads long-lived tokens])."""
        code = strip_redirect_suffix(code)
        short = self.token_request({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri})
        if not short.get("access_token"):
            raise RejectedError("Threads did not return an access token.", platform=self.name)
        # [Threads long-lived tokens]: client_secret and the short token only (no client_id) on this GET.
        response = self.http.request(
            "GET",
            f"{THREADS_GRAPH}/access_token",
            params={
                "grant_type": "th_exchange_token",
                "client_secret": self.credentials.client_secret,
                "access_token": str(short["access_token"]),
            },
            classify=self.classify_token_error,
        )
        long_lived = self.parse_token_response(self.json(response))
        user_id = short.get("user_id")
        return TokenSet(
            access_token=long_lived.access_token,
            expires_at=long_lived.expires_at,
            scopes=frozenset(self.requested_scopes),
            extra={**long_lived.extra, **({"user_id": str(user_id)} if user_id else {})},
        )

    def refresh(self, tokens: TokenSet) -> TokenSet:
        """[Threads long-lived tokens]: th_refresh_token GET; the token must be unexpired and at least 24 hours old."""
        now = self.clock()
        if tokens.expires_at is not None and tokens.expires_at <= now:
            raise AuthExpiredError("Threads access has expired; please reconnect.", platform=self.name)
        if tokens.expires_at is not None and tokens.expires_at - now > LONG_LIVED_LIFETIME - MIN_AGE_FOR_REFRESH:
            return tokens  # too young to refresh, and still good for about 59 days
        response = self.http.request(
            "GET",
            f"{THREADS_GRAPH}/refresh_access_token",
            params={"grant_type": "th_refresh_token", "access_token": tokens.access_token},
            classify=self.classify_token_error,
        )
        return renewed(tokens, self.parse_token_response(self.json(response)))

    def fetch_profile(self, tokens: TokenSet) -> Profile:
        me = self.graph_get("me", tokens.access_token, fields="id,username,name,threads_profile_picture_url")
        user_id = str(me.get("id") or tokens.extra.get("user_id") or "")
        if not user_id:
            raise RejectedError("Threads did not say who signed in.", platform=self.name)
        username = me.get("username")
        return Profile(
            platform_account_id=user_id,
            handle=username,
            display_name=me.get("name") or username,
            avatar_url=me.get("threads_profile_picture_url"),
            metadata={
                "threads_user_id": user_id,
                "profile_url": f"https://www.threads.net/@{username}" if username else None,
            },
        )

    # -- publishing ------------------------------------------------------------------------------------

    def media_fields(self, item: MediaItem, *, carousel_item: bool) -> dict[str, str]:
        """An IMAGE or VIDEO container, or a carousel item; alt text on both ([Threads alt text])."""
        fields: dict[str, str] = {"is_carousel_item": "true"} if carousel_item else {}
        if item.kind == "video":
            fields.update(media_type="VIDEO", video_url=item.url)
        else:
            fields.update(media_type="IMAGE", image_url=item.url)
        if item.alt_text:
            fields["alt_text"] = item.alt_text
        return fields
