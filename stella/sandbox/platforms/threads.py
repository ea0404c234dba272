"""Sandbox stand-in for Threads (threads.com consent, graph.threads.net API).

Rules follow Meta's documentation, cited below by the names in brackets:
- [Threads tokens] https://developers.facebook.com/docs/threads/get-started/get-access-tokens-and-permissions:
  Threads app credentials in the POST form (never Basic), exact redirect URI, single-use codes, threads_basic.
- [Threads long-lived tokens] https://developers.facebook.com/docs/threads/get-started/long-lived-tokens/: 1-hour
  tokens swapped for 60-day ones (th_exchange_token); th_refresh_token for unexpired tokens at least 24 h old.
- [Threads posts] https://developers.facebook.com/docs/threads/posts: TEXT/IMAGE/VIDEO/CAROUSEL containers that
  must be FINISHED before threads_publish; 500-character texts where emoji count as their UTF-8 length; 5 links.
- [Threads overview] https://developers.facebook.com/docs/threads/overview: 250 posts per 24 h.
- [Threads insights] https://developers.facebook.com/docs/threads/insights: per-post insights.
- [Graph errors] https://developers.facebook.com/docs/graph-api/guides/error-handling: the error envelope.
Carousels of 2–20 items (20 per third parties, 10 in older docs) and shortcode permalinks are as clients see them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, jsonify, request

from stella.providers.rules import count_chars_emoji_utf8, find_urls
from stella.sandbox import core, oauth
from stella.sandbox.platforms._meta import (
    app_client,
    container_status,
    expired_token_error,
    graph_error,
    live_token,
    param,
    pick,
    posts_last_day,
    redeem_code,
    requested_fields,
    server_error,
    shortcode,
)
from stella.sandbox.platforms.facebook import rate_limited_error
from stella.sandbox.store import Client, Token

NAME = "threads"
GRAPH_HOSTS = ("graph.threads.net", "graph.threads.com")  # .com is an alias newer Threads doc pages use
CODE_TTL = timedelta(minutes=10)
SHORT_TTL = timedelta(hours=1)  # [Threads tokens]
LONG_TTL = timedelta(seconds=5183944)  # [Threads long-lived tokens]: ≈60 days
MIN_REFRESH_AGE = timedelta(hours=24)  # [Threads long-lived tokens]
MAX_TEXT = 500  # [Threads posts]
MAX_LINKS = 5
MIN_CHILDREN, MAX_CHILDREN = 2, 20  # 20 per third parties; unverified
DAILY_POSTS = 250  # [Threads overview]
VIDEO_PROCESSING = timedelta(seconds=5)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
VIDEO_EXTENSIONS = (".mp4", ".mov")
KNOWN_SCOPES = frozenset({"threads_basic", "threads_content_publish", "threads_manage_replies",
                          "threads_read_replies", "threads_manage_insights", "threads_keyword_search",
                          "threads_manage_mentions", "threads_delete", "threads_location_tagging",
                          "threads_profile_discovery"})
MEDIA_METRICS = ("views", "likes", "replies", "reposts", "quotes", "shares")

DEMO = {
    "id": "25811234567890123",
    "username": "harborvine.realty",
    "name": "Harbor & Vine Realty",
    "threads_biography": "Coastal homes and honest advice. Open houses every weekend.",
}

bp = Blueprint("sandbox_threads", __name__)


def text_length(text: str) -> int:
    """[Threads posts]: characters, but an emoji counts as its UTF-8 byte length (the counter Stella checks with)."""
    return count_chars_emoji_utf8(text)


def graph_routes(rule: str, **options: Any) -> Callable[[core.View], core.View]:
    """Register a view on graph.threads.net and its graph.threads.com alias."""
    return core.route_on_hosts(bp, GRAPH_HOSTS, rule, **options)


# -- authorization ([Threads tokens]) ------------------------------------------------------------------------


@bp.route("/threads.com/oauth/authorize", methods=["GET", "POST"])
@bp.route("/www.threads.net/oauth/authorize", methods=["GET", "POST"], endpoint="authorize_threads_net")
def authorize() -> Response:
    consent = oauth.check_consent_request(
        PLATFORM,
        unknown_client=oauth.Refusal("Invalid platform app: use the Threads app id, not the Facebook one."),
        redirect_mismatch=oauth.Refusal("Invalid redirect_uri: it does not match the app's Redirect Callback URLs "
                                        "exactly."),
        bad_response_type=oauth.Refusal("response_type must be code."),
        scope_separator=",",
        strip_scopes=True,
        check_scopes=_check_scopes,
    )
    if isinstance(consent, Response):
        return consent
    return consent.page(account_id=DEMO["id"], account_label=f"@{DEMO['username']}", code_ttl=CODE_TTL,
                        redirect_fragment="_")  # Meta appends #_ to the redirect (as for Instagram Login)


_KNOWN = oauth.known_scopes(KNOWN_SCOPES, unknown=oauth.Refusal("Invalid Scopes: {value}."))


def _check_scopes(scopes: list[str], client: Client) -> oauth.Refusal | None:
    unknown = _KNOWN(scopes, client)
    if unknown is None and "threads_basic" not in scopes:  # [Threads tokens]: threads_basic is always required
        return oauth.Refusal("The threads_basic permission is required.")
    return unknown


@graph_routes("/oauth/access_token", methods=["GET", "POST"])
def access_token() -> Response:
    if request.method != "POST":
        return graph_error("Unsupported get request. Please read the Graph API documentation", 100)
    form = request.form  # [Threads tokens]: form fields in the body; HTTP Basic is not read
    client = app_client(form, NAME)
    if isinstance(client, Response):
        return client
    if form.get("grant_type") != "authorization_code":
        return graph_error("Invalid grant_type: it must be authorization_code", 100)
    code = redeem_code(client, form.get("code") or "", form.get("redirect_uri"))
    if isinstance(code, Response):
        return code
    token = core.store().issue_token(NAME, client_id=client.client_id, account_id=code.account_id, scopes=code.scopes,
                                     now=core.now(), access_ttl=SHORT_TTL, with_refresh=False, prefix="TH",
                                     extra={"kind": "short"})
    return jsonify({"access_token": token.access_token, "user_id": int(code.account_id)})


def _live_token(value: str | None) -> Token | Response:
    return live_token(core.store().token(NAME, value) if value else None)


@graph_routes("/access_token", methods=["GET"])
def exchange_token() -> Response:
    """[Threads long-lived tokens]: th_exchange_token with client_secret and the short-lived token (no client_id)."""
    if request.args.get("grant_type") != "th_exchange_token":
        return graph_error("Invalid grant_type: it must be th_exchange_token", 100)
    token = _live_token(request.args.get("access_token"))
    if isinstance(token, Response):
        return token
    client = core.store().client(NAME, token.client_id)
    if client is None or request.args.get("client_secret") != client.client_secret:
        return graph_error("Error validating client secret.", 1)
    fresh = core.store().issue_token(NAME, client_id=token.client_id, account_id=token.account_id,
                                     scopes=token.scopes, now=core.now(), access_ttl=LONG_TTL, with_refresh=False,
                                     prefix="TH", extra={"kind": "long"})
    return jsonify({"access_token": fresh.access_token, "token_type": "bearer", "expires_in": fresh.expires_in})


@graph_routes("/refresh_access_token", methods=["GET"])
def refresh_token() -> Response:
    """[Threads long-lived tokens]: th_refresh_token, for an unexpired long-lived token at least 24 hours old."""
    if request.args.get("grant_type") != "th_refresh_token":
        return graph_error("Invalid grant_type: it must be th_refresh_token", 100)
    token = _live_token(request.args.get("access_token"))
    if isinstance(token, Response):
        return token
    if token.extra.get("kind") != "long":
        return graph_error("(#10) Only long-lived access tokens can be refreshed", 10)
    if core.now() - token.created_at < MIN_REFRESH_AGE:
        return graph_error("(#10) The access token must be at least 24 hours old to be refreshed", 10)
    if "threads_basic" not in token.scopes:
        return graph_error("(#10) Application does not have permission for this action", 10)
    fresh = core.store().issue_token(NAME, client_id=token.client_id, account_id=token.account_id,
                                     scopes=token.scopes, now=core.now(), access_ttl=LONG_TTL, with_refresh=False,
                                     prefix="TH", extra={"kind": "long"})
    return jsonify({"access_token": fresh.access_token, "token_type": "bearer", "expires_in": fresh.expires_in})


# -- the Graph API (v1.0) -------------------------------------------------------------------------------------------


def _authenticate() -> Token | Response:
    return _live_token(request.values.get("access_token") or core.bearer_token())


def _node(node_id: str) -> dict[str, Any] | None:
    return core.store().get_object(NAME, "node", node_id)


def _missing(node_id: str) -> Response:
    return graph_error(f"Unsupported {request.method.lower()} request. Object with ID '{node_id}' does not exist, "
                       "cannot be loaded due to missing permissions, or does not support this operation.", 100,
                       subcode=33)


def _needs(token: Token, scope: str) -> Response | None:
    if scope not in token.scopes:
        return graph_error("(#10) Application does not have permission for this action", 10)
    return None


@graph_routes("/<version>/<node_id>", methods=["GET"])
def node(version: str, node_id: str) -> Response:
    token = _authenticate()
    if isinstance(token, Response):
        return token
    if node_id in ("me", DEMO["id"]):
        if token.account_id != DEMO["id"]:
            return _missing(node_id)
        # The real picture lives on Instagram's CDN: the sandbox serves its own.
        profile = {**DEMO, "threads_profile_picture_url": core.avatar_url(NAME, DEMO["name"])}
        return jsonify(pick(profile, requested_fields(("id",))))
    data = _node(node_id)
    if data is None or data.get("user") != token.account_id:
        return _missing(node_id)
    if data["type"] == "container":
        status = container_status(data)
        view = {"id": node_id, "status": status,
                "error_message": data.get("error") if status == "ERROR" else None}
        return jsonify(pick(view, requested_fields(("id",))))
    return jsonify(pick(media_view(node_id, data), requested_fields(("id",))))


@graph_routes("/<version>/<node_id>/<edge>", methods=["GET", "POST"])
def edge(version: str, node_id: str, edge: str) -> Response:
    token = _authenticate()
    if isinstance(token, Response):
        return token
    user_id = DEMO["id"] if node_id == "me" else node_id
    if user_id == DEMO["id"]:
        if token.account_id != DEMO["id"]:
            return _missing(node_id)
        views: dict[tuple[str, str], Callable[[Token], Response]] = {
            ("threads", "POST"): create_container, ("threads", "GET"): list_threads,
            ("threads_publish", "POST"): publish, ("threads_publishing_limit", "GET"): publishing_limit,
        }
        view = views.get((edge, request.method))
        if view is None:
            return graph_error(f"(#100) Tried accessing nonexisting field ({edge}) on node type (User)", 100)
        return view(token)
    data = _node(node_id)
    if data is None or data.get("user") != token.account_id or data["type"] != "media":
        return _missing(node_id)
    if (edge, request.method) != ("insights", "GET"):
        return graph_error(f"(#100) Tried accessing nonexisting field ({edge}) on node type (ThreadsMedia)", 100)
    return insights(token, node_id)


# -- containers and publishing ([Threads posts]) -----------------------------------------------------------------


def _public_url(value: Any) -> bool:
    return isinstance(value, str) and bool(re.match(r"https?://[^/\s]+", value))


def _extension(url: str) -> str:
    last = url.split("?", 1)[0].rsplit("/", 1)[-1].lower()
    return "." + last.rsplit(".", 1)[-1] if "." in last else ""


def create_container(token: Token) -> Response:
    denied = _needs(token, "threads_content_publish")
    if denied is not None:
        return denied
    media_type = str(param("media_type") or "").upper()
    text = str(param("text") or "")
    carousel_item = str(param("is_carousel_item") or "").lower() == "true"
    if media_type not in ("TEXT", "IMAGE", "VIDEO", "CAROUSEL"):
        return graph_error("(#100) Param media_type must be one of {TEXT, IMAGE, VIDEO, CAROUSEL}", 100)
    if text_length(text) > MAX_TEXT:
        return graph_error("Invalid parameter", 100, subcode=4279009, user_title="Text is too long",
                           user_msg=f"The text must be at most {MAX_TEXT} characters long.")
    if len({text[a:b] for a, b in find_urls(text)}) > MAX_LINKS:
        return graph_error("THREADS_API__LINK_LIMIT_EXCEEDED: a post can contain at most 5 links", 100,
                           subcode=4279010)
    if carousel_item and (text or media_type not in ("IMAGE", "VIDEO")):
        return graph_error("(#100) A carousel item must be an IMAGE or VIDEO without text", 100)
    now = core.now()
    container: dict[str, Any] = {"type": "container", "user": token.account_id, "media_type": media_type,
                                 "text": text, "carousel_item": carousel_item, "created": now.isoformat(),
                                 "ready_at": now.isoformat(), "published_media_id": None, "children": [],
                                 "alt_text": param("alt_text"), "error": None}
    if media_type == "TEXT" and not text:
        return graph_error("(#100) The parameter text is required for a TEXT post", 100)
    if media_type == "IMAGE":
        url = param("image_url")
        if not _public_url(url):
            return graph_error("(#100) The parameter image_url is required.", 100)
        if _extension(str(url)) not in ("", *IMAGE_EXTENSIONS):
            return graph_error("Invalid parameter", 100, subcode=2207005,
                               user_msg="The media could not be fetched from this URI: unsupported image format.")
        container["url"] = url
    if media_type == "VIDEO":
        url = param("video_url")
        if not _public_url(url):
            return graph_error("(#100) The parameter video_url is required.", 100)
        container.update(url=url, ready_at=(now + VIDEO_PROCESSING).isoformat())
        if _extension(str(url)) not in ("", *VIDEO_EXTENSIONS):
            container["error"] = "FAILED_PROCESSING_VIDEO"  # accepted, then fails while processing
    if media_type == "CAROUSEL":
        children = [c.strip() for c in str(param("children") or "").split(",") if c.strip()]
        if not MIN_CHILDREN <= len(children) <= MAX_CHILDREN:
            return graph_error(f"(#100) A carousel needs between {MIN_CHILDREN} and {MAX_CHILDREN} items", 100)
        for child_id in children:
            child = _node(child_id)
            if not child or child.get("type") != "container" or child.get("user") != token.account_id \
                    or not child.get("carousel_item"):
                return graph_error(f"(#100) {child_id} is not a carousel item container", 100)
            if container_status(child) != "FINISHED":
                return graph_error("(#100) Every carousel item must have finished processing", 100, subcode=4279011)
        container["children"] = children
    container_id = str(17890000000000000 + core.store().next_number(NAME, "graph_id", start=101))
    core.store().put_object(NAME, "node", container_id, container, now=now)
    return jsonify({"id": container_id})


def publish(token: Token) -> Response:
    denied = _needs(token, "threads_content_publish")
    if denied is not None:
        return denied
    creation_id = str(param("creation_id") or "")
    container = _node(creation_id) if creation_id else None
    if container is None or container.get("type") != "container" or container.get("user") != token.account_id:
        return graph_error("(#100) The parameter creation_id must be a media container of this user", 100)
    if container.get("carousel_item"):
        return graph_error("(#100) A carousel item cannot be published on its own", 100)
    status = container_status(container)
    if status == "PUBLISHED":
        return graph_error("(#100) This media container has already been published", 100, subcode=4279012)
    if status == "EXPIRED":
        return graph_error("(#100) The media container has expired; create a new one", 100, subcode=4279013)
    if status == "ERROR":
        return graph_error(f"(#100) The media container failed: {container.get('error')}", 100)
    if status == "IN_PROGRESS":
        return graph_error("Media ID is not available", 9007, subcode=2207027,
                           user_msg="The media is not ready for publishing, please wait for a moment")
    if posts_last_day(NAME, token.account_id) >= DAILY_POSTS:
        return graph_error("Application request limit reached", 9, subcode=2207042,
                           user_msg=f"You have reached the limit of {DAILY_POSTS} posts published in 24 hours.")
    media_id = str(18050000000000000 + core.store().next_number(NAME, "graph_id", start=101))
    permalink = f"https://www.threads.net/@{DEMO['username']}/post/{shortcode(media_id)}"
    now = core.now()
    children = [_node(c) or {} for c in container.get("children") or []]
    media = [{"kind": "video" if c.get("media_type") == "VIDEO" else "image", "url": c.get("url")}
             for c in (children or ([container] if container.get("url") else []))]
    core.store().put_object(NAME, "node", media_id, {
        "type": "media", "user": token.account_id, "text": container["text"], "permalink": permalink,
        "media_type": "CAROUSEL_ALBUM" if children else f"{container['media_type']}",
        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S+0000"),
    }, now=now)
    core.store().put_object(NAME, "node", creation_id, {**container, "published_media_id": media_id}, now=now)
    core.store().record_post(NAME, account_id=token.account_id, platform_post_id=media_id, text=container["text"],
                             now=now, permalink=permalink, media=media, extra={"container_id": creation_id})
    core.after_create(NAME)
    return jsonify({"id": media_id})


def media_view(media_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"id": media_id, "text": data.get("text"), "permalink": data.get("permalink"),
            "shortcode": shortcode(media_id), "media_type": data.get("media_type"), "timestamp": data.get("timestamp"),
            "username": DEMO["username"], "is_quote_post": False, "media_product_type": "THREADS"}


def list_threads(token: Token) -> Response:
    limit = int(request.args["limit"]) if request.args.get("limit", "").isdigit() else 25
    posts = [p for p in reversed(core.store().posts(NAME)) if p.account_id == token.account_id][: min(limit, 100)]
    fields = requested_fields(("id",))
    return jsonify({"data": [pick(media_view(p.platform_post_id, _node(p.platform_post_id) or {}), fields)
                             for p in posts], "paging": {"cursors": {"before": "MA==", "after": "MA=="}}})


def publishing_limit(token: Token) -> Response:
    return jsonify({"data": [{"quota_usage": posts_last_day(NAME, token.account_id),
                              "config": {"quota_total": DAILY_POSTS, "quota_duration": 86400}}]})


def insights(token: Token, media_id: str) -> Response:
    denied = _needs(token, "threads_manage_insights")
    if denied is not None:
        return denied
    names = [m.strip() for m in (request.args.get("metric") or "").split(",") if m.strip()]
    if not names or any(m not in MEDIA_METRICS for m in names):
        return graph_error(f"(#100) metric must be one of the following values: {', '.join(MEDIA_METRICS)}", 100)
    post = core.store().post(NAME, media_id)
    values = core.metric_values(media_id, post.created_at if post else core.now())
    by_name = {"views": values["views"], "likes": values["likes"], "replies": values["comments"],
               "reposts": values["shares"], "quotes": values["quotes"], "shares": values["shares"] // 2}
    return jsonify({"data": [
        {"name": name, "period": "lifetime", "values": [{"value": by_name[name]}], "title": name.title(),
         "id": f"{media_id}/insights/{name}/lifetime"}
        for name in names
    ]})


PLATFORM = core.SandboxPlatform(
    name=NAME,
    display_name="Threads",
    blueprint=bp,
    hosts=("threads.com", "www.threads.net", *GRAPH_HOSTS),
    color="#101010",
    expired_token=expired_token_error,
    rate_limited=lambda retry_after=60: rate_limited_error(retry_after, code=4, business_type="threads"),
    rejection=lambda reason="rejected": graph_error(
        "Invalid parameter", 100, subcode=2207051, user_title="Action blocked",
        user_msg=f"We restrict certain activity to protect our community ({reason})."),
    server_error=server_error,
    demo_notes="Signed in as @harborvine.realty. Tokens must be a day old before they can be refreshed.",
)
