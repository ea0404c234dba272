"""YouTube (Data API v3): Google sign-in, channels as targets, resumable video upload, processing polled apart.

YouTube's documentation (developers.google.com/youtube), cited below by the names in brackets:
- [videos.insert] https://developers.google.com/youtube/v3/docs/videos/insert
- [Video resource] https://developers.google.com/youtube/v3/docs/videos
- [videos.list] https://developers.google.com/youtube/v3/docs/videos/list
- [channels.list] https://developers.google.com/youtube/v3/docs/channels/list
- [Resumable uploads] https://developers.google.com/youtube/v3/guides/using_resumable_upload_protocol
- [Analytics reports] https://developers.google.com/youtube/analytics/reference/reports/query
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import requests

from stella.providers._google import GoogleProvider
from stella.providers.base import (
    Account,
    Capabilities,
    MediaItem,
    OutboundPost,
    PlatformRules,
    Profile,
    PublishResult,
    Target,
    TokenSet,
)
from stella.providers.errors import RejectedError, TransientError, UnknownOutcomeError

API = "https://www.googleapis.com/youtube/v3"
UPLOAD_URL = "https://www.googleapis.com/upload/youtube/v3/videos"
WATCH_URL = "https://www.youtube.com/watch?v={id}"

MAX_TITLE_CHARS = 100  # [Video resource]: snippet.title, 100 characters
MAX_DESCRIPTION_BYTES = 5000  # [Video resource]: snippet.description, 5000 bytes, not characters
# [videos.insert] takes files up to 256 GB; Stella holds the file in memory while uploading, so it stops at 2 GB.
MAX_UPLOAD_BYTES = 2 * 1024**3
# How many times an interrupted upload is probed and resumed before giving up ([Resumable uploads]).
UPLOAD_ATTEMPTS = 3
DEFAULT_CATEGORY = "22"  # "People & Blogs", the category YouTube itself preselects
_RANGE = re.compile(r"bytes=0-(\d+)")


class YouTubeProvider(GoogleProvider):
    name = "youtube"
    display_name = "YouTube"
    icon = "youtube"
    color = "#FF0000"
    tagline = "Videos and Shorts on your YouTube channel."
    capabilities = Capabilities(
        # Every upload is a video; YouTube shows a vertical one of ≤3 minutes as a Short (YouTube Help; no API flag).
        formats=("video", "short"),
        target_kinds=("channel",),
    )

    # [videos.insert] youtube.upload (checked: docs/platform-verification.md), readonly, [Analytics reports].
    scopes = (
        "https://www.googleapis.com/auth/youtube.upload",
        "https://www.googleapis.com/auth/youtube.readonly",
        "https://www.googleapis.com/auth/yt-analytics.readonly",
    )
    has_targets = True
    developer_portal = "https://console.cloud.google.com/apis/library/youtube.googleapis.com"
    setup_notes = (
        "In Google Cloud Console enable the YouTube Data API v3 and the YouTube Analytics API, create an OAuth "
        "client of type Web application with Stella's callback URL, and add the youtube.upload, youtube.readonly "
        "and yt-analytics.readonly scopes to the consent screen. Until Google audits the project, uploads stay private."
    )
    rules = PlatformRules(
        max_chars=MAX_DESCRIPTION_BYTES,
        counting="utf8_bytes",
        requires_media=True,
        requires_video=True,
        max_images=0,
        max_videos=1,
        video_types=("video/mp4", "video/quicktime", "video/webm", "video/x-msvideo", "video/mpeg"),
        max_video_bytes=MAX_UPLOAD_BYTES,
        max_title_chars=MAX_TITLE_CHARS,
        notes=(
            "The text becomes the video description (at most 5,000 bytes); the title is at most 100 characters.",
            "Neither the title nor the description may contain < or >.",
            "Videos from a project Google has not audited stay private.",
        ),
    )

    # -- accounts ---------------------------------------------------------------------------------------

    def fetch_profile(self, tokens: TokenSet) -> Profile:
        """The channel chosen on Google's consent screen ([channels.list] `mine=true`), not the Google account id."""
        channels = self._my_channels(tokens.access_token)
        if not channels:
            raise RejectedError(
                "This Google account has no YouTube channel yet: create one on youtube.com, then connect again.",
                platform=self.name,
            )
        return self._channel_profile(channels[0])

    def list_targets(self, tokens: TokenSet, profile: Profile) -> list[Target]:
        return [self._channel_target(channel) for channel in self._my_channels(tokens.access_token)]

    def _my_channels(self, access_token: str) -> list[Mapping[str, Any]]:
        response = self.http.request(
            "GET",
            f"{API}/channels",
            params={"part": "snippet,statistics", "mine": "true", "maxResults": "50"},
            headers=self.bearer(access_token),
            classify=self.classify_error,
        )
        items = self.json(response).get("items") or []
        return [item for item in items if isinstance(item, Mapping) and item.get("id")]

    def _channel_target(self, channel: Mapping[str, Any]) -> Target:
        profile = self._channel_profile(channel)
        return Target(
            id=profile.platform_account_id,
            name=profile.display_name or profile.platform_account_id,
            kind="channel",
            handle=profile.handle,
            avatar_url=profile.avatar_url,
            metadata=dict(profile.metadata),
        )

    @staticmethod
    def _channel_profile(channel: Mapping[str, Any]) -> Profile:
        snippet = channel.get("snippet") or {}
        thumbnails = snippet.get("thumbnails") or {}
        avatar = None
        for size in ("high", "medium", "default"):
            if isinstance(thumbnails.get(size), Mapping) and thumbnails[size].get("url"):
                avatar = str(thumbnails[size]["url"])
                break
        statistics = channel.get("statistics") or {}
        channel_id = str(channel["id"])
        return Profile(
            platform_account_id=channel_id,
            handle=snippet.get("customUrl") or None,
            display_name=snippet.get("title") or None,
            avatar_url=avatar,
            metadata={
                "channel_id": channel_id,
                "subscriber_count": _int_or_none(statistics.get("subscriberCount")),
            },
        )

    # -- publishing -------------------------------------------------------------------------------------

    def publish(self, account: Account, post: OutboundPost) -> PublishResult:
        """[Resumable uploads]: open a session, send the bytes, resume from what arrived if interrupted.

        The video exists only once its last byte arrives, so probing the session before re-sending means an
        interrupted upload never creates a second video. Processing is reported by `check_publish`.
        """
        videos = [item for item in post.media if item.kind == "video"]
        if len(videos) != 1:
            raise RejectedError("A YouTube post needs exactly one video.", platform=self.name)
        resource = self._video_resource(post)
        data, mime_type = self._video_bytes(videos[0])

        session = self.http.request(
            "POST",
            UPLOAD_URL,
            params={"uploadType": "resumable", "part": "snippet,status"},
            json=resource,
            headers={
                **self.bearer(account.access_token),
                "X-Upload-Content-Length": str(len(data)),
                "X-Upload-Content-Type": mime_type,
            },
            classify=self.classify_error,
        )
        session_uri = session.headers.get("Location")
        if not session_uri:
            raise TransientError("YouTube did not open an upload session.", platform=self.name)

        video = self._upload(account, session_uri, data, mime_type)
        video_id = str(video.get("id") or "")
        if not video_id:
            raise TransientError("YouTube finished the upload without returning a video id.", platform=self.name)
        status = (video.get("status") or {}).get("uploadStatus")
        if status in ("failed", "rejected", "deleted"):
            raise self._processing_error(video)
        return PublishResult(
            state="processing",
            platform_post_id=video_id,
            permalink=WATCH_URL.format(id=video_id),
            poll={"video_id": video_id},
        )

    def check_publish(self, account: Account, poll: Mapping[str, Any]) -> PublishResult:
        """[videos.list] `part=status,processingDetails`: processed → published."""
        video_id = str(poll.get("video_id") or "")
        if not video_id:
            raise RejectedError("Nothing to check: the YouTube upload has no video id.", platform=self.name)
        response = self.http.request(
            "GET",
            f"{API}/videos",
            params={"part": "status,processingDetails", "id": video_id},
            headers=self.bearer(account.access_token),
            classify=self.classify_error,
        )
        items = self.json(response).get("items") or []
        if not items:
            raise RejectedError("The video is no longer on YouTube (deleted or removed).", platform=self.name)
        video = items[0]
        status = (video.get("status") or {}).get("uploadStatus")
        permalink = WATCH_URL.format(id=video_id)
        if status == "processed":
            return PublishResult(state="published", platform_post_id=video_id, permalink=permalink)
        if status in ("failed", "rejected", "deleted"):
            raise self._processing_error(video)
        return PublishResult(state="processing", platform_post_id=video_id, permalink=permalink, poll=dict(poll))

    def _video_resource(self, post: OutboundPost) -> dict[str, Any]:
        description = post.text
        title = (post.title or "").strip() or _first_line(description) or "Video"
        if len(title) > MAX_TITLE_CHARS:
            if post.title:
                raise RejectedError(f"YouTube titles are limited to {MAX_TITLE_CHARS} characters.", platform=self.name)
            title = title[: MAX_TITLE_CHARS - 1].rstrip() + "…"
        # [Video resource]: no angle brackets in titles and descriptions (invalidTitle / invalidDescription).
        if any(ch in title + description for ch in "<>"):
            raise RejectedError("YouTube does not allow < or > in a video's title or description.", platform=self.name)
        if len(description.encode("utf-8")) > MAX_DESCRIPTION_BYTES:
            raise RejectedError(
                f"YouTube descriptions are limited to {MAX_DESCRIPTION_BYTES} bytes.", platform=self.name
            )
        options = post.options
        snippet: dict[str, Any] = {
            "title": title,
            "description": description,
            "categoryId": str(options.get("category_id") or DEFAULT_CATEGORY),
        }
        tags = options.get("tags")
        if isinstance(tags, (list, tuple)) and tags:
            snippet["tags"] = [str(tag) for tag in tags]
        status: dict[str, Any] = {
            "privacyStatus": str(options.get("privacy_status") or "public"),
            "selfDeclaredMadeForKids": bool(options.get("made_for_kids", False)),
        }
        return {"snippet": snippet, "status": status}

    def _video_bytes(self, item: MediaItem) -> tuple[bytes, str]:
        if item.data is not None:
            data, mime_type = item.data, item.mime_type or "video/mp4"
        else:
            data, fetched_type = self.http.download(item.url, max_bytes=MAX_UPLOAD_BYTES, classify=self.classify_error)
            mime_type = item.mime_type or fetched_type
        if len(data) > MAX_UPLOAD_BYTES:
            raise RejectedError("The video is larger than Stella can upload to YouTube (2 GB).", platform=self.name)
        if not data:
            raise RejectedError("The video file is empty.", platform=self.name)
        # [videos.insert]: any video/* type, and application/octet-stream.
        if not (mime_type.startswith("video/") or mime_type == "application/octet-stream"):
            mime_type = "application/octet-stream"
        return data, mime_type

    def _upload(self, account: Account, session_uri: str, data: bytes, mime_type: str) -> dict[str, Any]:
        """Send the bytes to the session; on an interruption, ask what arrived ([Resumable uploads]), send the rest."""
        total = len(data)
        offset = 0
        for _attempt in range(UPLOAD_ATTEMPTS):
            try:
                response = self._put_chunk(session_uri, data, offset, mime_type)
            except (UnknownOutcomeError, TransientError):
                response = self._probe(session_uri, total)
            if response.status_code in (200, 201):
                return self.json(response)
            offset = _next_offset(response)
            if offset >= total:
                # Every byte arrived but YouTube has not confirmed; a probe makes it answer with the video.
                response = self._probe(session_uri, total)
                if response.status_code in (200, 201):
                    return self.json(response)
                offset = _next_offset(response)
        raise UnknownOutcomeError(
            "The YouTube upload was interrupted several times; it will be checked again before any retry.",
            platform=self.name,
        )

    def _put_chunk(self, session_uri: str, data: bytes, offset: int, mime_type: str) -> requests.Response:
        total = len(data)
        headers = {"Content-Type": mime_type}
        if offset:
            headers["Content-Range"] = f"bytes {offset}-{total - 1}/{total}"
        # 308 Resume Incomplete is an expected answer, not an error ([Resumable uploads]).
        # The session URI comes from YouTube's answer (its Location header): guarded like any URL handed to Stella.
        return self.http.request(
            "PUT", session_uri, data=data[offset:], headers=headers, ok=(200, 201, 308), classify=self.classify_error,
            untrusted=True,
        )

    def _probe(self, session_uri: str, total: int) -> requests.Response:
        return self.http.request(
            "PUT",
            session_uri,
            data=b"",
            headers={"Content-Range": f"bytes */{total}", "Content-Length": "0"},
            ok=(200, 201, 308),
            classify=self.classify_error,
            untrusted=True,
        )

    def _processing_error(self, video: Mapping[str, Any]) -> RejectedError:
        status = video.get("status") or {}
        upload_status = status.get("uploadStatus") or "failed"
        reason = status.get("rejectionReason") or status.get("failureReason") or upload_status
        return RejectedError(f"YouTube did not publish the video ({upload_status}: {reason}).", platform=self.name,
                             code=str(reason))


def _next_offset(response: requests.Response) -> int:
    """Where to continue after a 308: one past the `Range: bytes=0-N` YouTube reports (0 when it has nothing)."""
    match = _RANGE.search(response.headers.get("Range", ""))
    return int(match.group(1)) + 1 if match else 0


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
