"""Sandbox stand-in for Instagram API with Facebook Login: the IG professional account behind the
demo Page, and the container → status → media_publish flow on graph.facebook.com.

Rules follow Meta's documentation, cited below by the names in brackets:
- [IG publishing] https://developers.facebook.com/docs/instagram-platform/content-publishing/: no text-only posts,
  JPEG images, single videos as REELS, captionless carousel children.
- [IG Container] https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-container:
  containers must be FINISHED before publishing and expire after 24 h; media ids differ from container ids.
- [IG Media] https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media:
  2,200-character captions with at most 30 hashtags and 20 @-mentions.
- [IG Media Publish] https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media_publish:
  50 API posts per 24 h.
- [IG insights] https://developers.facebook.com/docs/instagram-platform/reference/instagram-media/insights: per-media
  insights with the current names.
- [IG error codes] https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/error-codes
Carousels of 2–10 children and shortcode permalinks are as other clients see them, not numbers from Meta's docs.

The Graph endpoints share facebook.py's dispatcher: this module registers handlers for its node types. Because
the API host is graph.facebook.com, host-based fault rules see these calls as "facebook"; target Instagram
calls with an endpoint glob (e.g. `*/media_publish`) instead.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, jsonify, request

from stella.sandbox import core
from stella.sandbox.platforms import facebook as graph
from stella.sandbox.platforms._meta import (
    container_status,
    expired_token_error,
    graph_error,
    param,
    pick,
    posts_last_day,
    requested_fields,
    server_error,
    shortcode,
)
from stella.sandbox.platforms.facebook import Caller, handles

NAME = "instagram"
MAX_CAPTION = 2200  # [IG Media]
MAX_HASHTAGS = 30
MAX_MENTIONS = 20
MAX_CHILDREN = 10  # as other clients apply it; not confirmed in Meta's docs
MIN_CHILDREN = 2
DAILY_POSTS = 50  # [IG Media Publish]: 50 API-published posts per rolling 24 h
VIDEO_PROCESSING = timedelta(seconds=5)
IMAGE_EXTENSIONS = (".jpg", ".jpeg")  # [IG Media]: JPEG only
VIDEO_EXTENSIONS = (".mp4", ".mov")
# [IG insights]: the current per-media metrics; impressions, plays and video_views are gone.
MEDIA_METRICS = ("views", "reach", "likes", "comments", "shares", "saved", "total_interactions")
DEPRECATED_METRICS = ("impressions", "plays", "video_views", "clips_replays_count",
                      "ig_reels_aggregated_all_plays_count")
HASHTAG = re.compile(r"(?<![\w&])#\w+")
MENTION = re.compile(r"(?<![\w.])@[\w.]+")

bp = Blueprint("sandbox_instagram", __name__)


# -- errors in Instagram's flavour of the Graph envelope ([IG error codes]) -------------------------------------


def rejection_error(reason: str = "rejected") -> Response:
    if reason == "media":
        return graph_error("Invalid parameter", 100, subcode=2207005, user_title="Unsupported format",
                           user_msg="The image format is not supported. Only JPEG images can be published.")
    return graph_error("Action is blocked", 100, subcode=2207001, user_title="Spam detected",
                       user_msg=f"Instagram has identified this content as spam ({reason}).")


def not_permitted() -> Response:
    return graph_error("(#10) Application does not have permission for this action", 10)


def ig_access(caller: Caller, ig_id: str, *, publish: bool = False) -> Response | None:
    """A user token with instagram_basic (the user manages the linked Page), or that Page's own token."""
    page = graph.IG_BY_ID[ig_id]
    if caller.kind == "page" and caller.page_id != page["id"]:
        return not_permitted()
    if "instagram_basic" not in caller.scopes:
        return not_permitted()
    if publish and "instagram_content_publish" not in caller.scopes:
        return not_permitted()
    return None


# -- the account ------------------------------------------------------------------------------------------------


@handles("ig_user", None)
def ig_user(caller: Caller, ig_id: str, page: dict[str, Any]) -> Response:
    denied = ig_access(caller, ig_id)
    if denied is not None:
        return denied
    account = page["instagram"]
    node = {
        "id": ig_id, "ig_id": int(ig_id[-10:]), "username": account["username"], "name": account["name"],
        "profile_picture_url": core.avatar_url(NAME, account["name"]), "followers_count": account["followers_count"],
        "media_count": len(core.store().posts(NAME)), "biography": "Coastal homes, honest advice.",
        "website": "https://harborvine.example",
    }
    return jsonify(pick(node, requested_fields(("id",))))


@handles("ig_user", "content_publishing_limit")
def publishing_limit(caller: Caller, ig_id: str, page: dict[str, Any]) -> Response:
    denied = ig_access(caller, ig_id)
    if denied is not None:
        return denied
    return jsonify({"data": [{"quota_usage": posts_last_day(NAME, ig_id),
                              "config": {"quota_total": DAILY_POSTS, "quota_duration": 86400}}]})


# -- containers ([IG Container]) ---------------------------------------------------------------------------------


def _extension(url: str) -> str:
    last = url.split("?", 1)[0].rsplit("/", 1)[-1].lower()
    return "." + last.rsplit(".", 1)[-1] if "." in last else ""


def _caption_problem(caption: str) -> Response | None:
    if len(caption) > MAX_CAPTION:
        return graph_error("Invalid parameter", 100, subcode=2207010, user_title="Caption too long",
                           user_msg=f"The caption can have at most {MAX_CAPTION} characters.")
    if len(HASHTAG.findall(caption)) > MAX_HASHTAGS:
        return graph_error("Invalid parameter", 100, subcode=2207010, user_title="Too many hashtags",
                           user_msg=f"The caption can have at most {MAX_HASHTAGS} hashtags.")
    if len(MENTION.findall(caption)) > MAX_MENTIONS:
        return graph_error("Invalid parameter", 100, subcode=2207010, user_title="Too many mentions",
                           user_msg=f"The caption can have at most {MAX_MENTIONS} @-mentions.")
    return None


@handles("ig_user", "media", "POST")
def create_container(caller: Caller, ig_id: str, page: dict[str, Any]) -> Response:
    denied = ig_access(caller, ig_id, publish=True)
    if denied is not None:
        return denied
    media_type = str(param("media_type") or "").upper()
    carousel_item = str(param("is_carousel_item") or "").lower() == "true"
    caption = str(param("caption") or "")
    image_url, video_url = param("image_url"), param("video_url")
    now = core.now()
    container: dict[str, Any] = {
        "type": "ig_container", "ig_user": ig_id, "caption": caption, "carousel_item": carousel_item,
        "created": now.isoformat(), "ready_at": now.isoformat(), "published_media_id": None, "children": [],
        "alt_text": param("alt_text"), "error": None,
    }
    if carousel_item and caption:
        return graph_error("(#100) Carousel items cannot have a caption; put it on the carousel", 100)
    problem = _caption_problem(caption)
    if problem is not None:
        return problem
    if media_type == "CAROUSEL":
        children = [c.strip() for c in str(param("children") or "").split(",") if c.strip()]
        if not MIN_CHILDREN <= len(children) <= MAX_CHILDREN:
            return graph_error(f"(#100) A carousel needs between {MIN_CHILDREN} and {MAX_CHILDREN} children", 100,
                               subcode=2207043)
        for child_id in children:
            child = graph.get_node(child_id)
            if not child or child.get("type") != "ig_container" or child.get("ig_user") != ig_id \
                    or not child.get("carousel_item"):
                return graph_error(f"(#100) The carousel child {child_id} is not a carousel item container", 100)
            if container_status(child) != "FINISHED":
                return graph_error("Media ID is not available", 9007, subcode=2207027,
                                   user_title="Media not ready",
                                   user_msg="A carousel item is not ready yet; wait until it has finished.")
        container.update(media_type="CAROUSEL", children=children)
    elif video_url or media_type in ("REELS", "VIDEO"):
        if not graph._public_url(video_url):
            return graph_error("(#100) The parameter video_url is required.", 100)
        if media_type == "VIDEO" and not carousel_item:
            # [IG publishing]: since July 2023 single feed videos are published as Reels.
            return graph_error("(#100) The media type VIDEO is no longer supported for feed posts; use REELS.", 100)
        if media_type not in ("REELS", "VIDEO", "STORIES"):
            return graph_error("(#100) media_type must be REELS, VIDEO (carousel items) or STORIES for a video",
                               100)
        container.update(media_type=media_type, url=video_url,
                         ready_at=(now + VIDEO_PROCESSING).isoformat())
        if _extension(str(video_url)) not in ("", *VIDEO_EXTENSIONS):
            # Meta accepts the URL, then fails while processing it ([IG error codes]: 2207026, video format).
            container["error"] = "Error: 2207026"
    else:
        if media_type not in ("", "IMAGE", "STORIES"):
            return graph_error(f"(#100) Unsupported media_type {media_type}", 100)
        if not image_url:
            # [IG publishing]: Instagram has no text-only posts.
            return graph_error("(#100) The parameter image_url is required.", 100)
        if not graph._public_url(image_url):
            return graph_error("Media download has failed.", 9004, subcode=2207052,
                               user_msg="The media could not be fetched from this URI.")
        if _extension(str(image_url)) not in ("", *IMAGE_EXTENSIONS):
            return rejection_error("media")
        container.update(media_type=media_type or "IMAGE", url=image_url)
    container_id = graph.new_id("ig_container")
    graph.put_node(container_id, container)
    return jsonify({"id": container_id})


@handles("ig_container", None)
def container_node(caller: Caller, container_id: str, container: dict[str, Any]) -> Response:
    denied = ig_access(caller, container["ig_user"])
    if denied is not None:
        return denied
    status = container_status(container)
    node = {"id": container_id, "status_code": status,
            "status": container.get("error") if status == "ERROR" else status.capitalize().replace("_", " ")}
    return jsonify(pick(node, requested_fields(("id",))))


# -- publishing -------------------------------------------------------------------------------------------------


@handles("ig_user", "media_publish", "POST")
def media_publish(caller: Caller, ig_id: str, page: dict[str, Any]) -> Response:
    denied = ig_access(caller, ig_id, publish=True)
    if denied is not None:
        return denied
    creation_id = str(param("creation_id") or "")
    if not creation_id:
        return graph_error("(#100) The parameter creation_id is required.", 100)
    container = graph.get_node(creation_id)
    if not container or container.get("type") != "ig_container" or container.get("ig_user") != ig_id:
        return graph_error(f"(#100) creation_id {creation_id} is not a media container of this account", 100,
                           subcode=2207006)
    if container.get("carousel_item"):
        return graph_error("(#100) A carousel item cannot be published on its own", 100)
    status = container_status(container)
    if status == "PUBLISHED":
        return graph_error("(#100) This media container has already been published", 100, subcode=2207008)
    if status == "EXPIRED":
        return graph_error("Media expired", 100, subcode=2207020,
                           user_msg="The media container expired; create a new one.")
    if status == "ERROR":
        return graph_error("Media upload has failed with error code 2207026", 9004, subcode=2207026)
    if status == "IN_PROGRESS":
        return graph_error("Media ID is not available", 9007, subcode=2207027, user_title="Media not ready",
                           user_msg="The media is not ready for publishing, please wait for a moment")
    if posts_last_day(NAME, ig_id) >= DAILY_POSTS:
        return graph_error("Application request limit reached", 9, subcode=2207042,
                           user_title="Reached maximum posts",
                           user_msg="You have reached the maximum number of posts that can be published in 24 hours.")
    media_id = graph.new_id("ig_media")
    permalink = f"https://www.instagram.com/p/{shortcode(media_id)}/"
    now = core.now()
    children = [graph.get_node(c) or {} for c in container.get("children") or []]
    single_kind = "video" if container["media_type"] in ("REELS", "VIDEO") else "image"
    media = [{"kind": "video" if c.get("media_type") == "VIDEO" else "image", "url": c.get("url")} for c in children] \
        or [{"kind": single_kind, "url": container.get("url")}]
    graph.put_node(media_id, {
        "type": "ig_media", "ig_user": ig_id, "caption": container["caption"], "permalink": permalink,
        "media_type": "CAROUSEL_ALBUM" if children else ("VIDEO" if container["media_type"] == "REELS" else "IMAGE"),
        "media_product_type": "REELS" if container["media_type"] == "REELS" else "FEED",
        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S+0000"), "container_id": creation_id,
    })
    graph.put_node(creation_id, {**container, "published_media_id": media_id})
    core.store().record_post(NAME, account_id=ig_id, platform_post_id=media_id, text=container["caption"], now=now,
                             permalink=permalink, media=media, extra={"container_id": creation_id})
    core.after_create(NAME)
    return jsonify({"id": media_id})


def media_view(media_id: str, node: dict[str, Any]) -> dict[str, Any]:
    post = core.store().post(NAME, media_id)
    values = core.metric_values(media_id, post.created_at if post else core.now())
    return {
        "id": media_id, "caption": node.get("caption"), "permalink": node.get("permalink"),
        "shortcode": shortcode(media_id), "media_type": node.get("media_type"),
        "media_product_type": node.get("media_product_type"), "timestamp": node.get("timestamp"),
        "like_count": values["likes"], "comments_count": values["comments"],
        "username": graph.IG_BY_ID[node["ig_user"]]["instagram"]["username"],
    }


@handles("ig_user", "media")
def list_media(caller: Caller, ig_id: str, page: dict[str, Any]) -> Response:
    denied = ig_access(caller, ig_id)
    if denied is not None:
        return denied
    limit = int(request.args["limit"]) if request.args.get("limit", "").isdigit() else 25
    posts = [p for p in reversed(core.store().posts(NAME)) if p.account_id == ig_id][: min(limit, 100)]
    fields = requested_fields(("id",))
    data = [pick(media_view(p.platform_post_id, graph.get_node(p.platform_post_id) or {"ig_user": ig_id}), fields)
            for p in posts]
    return jsonify({"data": data, "paging": {"cursors": {"before": "MA==", "after": "MA=="}}})


@handles("ig_media", None)
def media_node(caller: Caller, media_id: str, node: dict[str, Any]) -> Response:
    denied = ig_access(caller, node["ig_user"])
    if denied is not None:
        return denied
    return jsonify(pick(media_view(media_id, node), requested_fields(("id",))))


@handles("ig_media", "insights")
def media_insights(caller: Caller, media_id: str, node: dict[str, Any]) -> Response:
    denied = ig_access(caller, node["ig_user"])
    if denied is not None:
        return denied
    if "instagram_manage_insights" not in caller.scopes:
        return not_permitted()
    names = [m.strip() for m in (request.args.get("metric") or "").split(",") if m.strip()]
    bad = [m for m in names if m not in MEDIA_METRICS]
    if not names or bad:
        deprecated = [m for m in bad if m in DEPRECATED_METRICS]
        detail = (f" ({', '.join(deprecated)} is no longer supported; use views)" if deprecated else "")
        return graph_error(f"(#100) metric[0] must be one of the following values: {', '.join(MEDIA_METRICS)}"
                           + detail, 100)
    post = core.store().post(NAME, media_id)
    values = core.metric_values(media_id, post.created_at if post else core.now())
    by_name = {
        "views": values["views"], "reach": values["reach"], "likes": values["likes"],
        "comments": values["comments"], "shares": values["shares"], "saved": values["saves"],
        "total_interactions": values["likes"] + values["comments"] + values["shares"] + values["saves"],
    }
    return jsonify({"data": [
        {"name": name, "period": "lifetime", "values": [{"value": by_name[name]}],
         "title": name.replace("_", " ").title(), "id": f"{media_id}/insights/{name}/lifetime"}
        for name in names
    ]})


PLATFORM = core.SandboxPlatform(
    name=NAME,
    display_name="Instagram",
    blueprint=bp,
    # Variant A: every call goes to Facebook's hosts (served by facebook.py); listing them lets faults aimed at
    # Instagram fire there.
    hosts=("www.facebook.com", "graph.facebook.com"),
    color="#E1306C",
    expired_token=expired_token_error,
    rate_limited=lambda retry_after=60: graph.rate_limited_error(retry_after, code=4, business_type="instagram"),
    rejection=rejection_error,
    server_error=server_error,
    demo_notes="Connect through Facebook Login; the account is @harborvine.realty, linked to the Harbor & Vine "
               "Realty Page.",
)
