"""Sandbox stand-in for Facebook Login and the Graph API (graph.facebook.com): Pages, and the Graph core
that the Instagram stand-in (Facebook Login variant) plugs its handlers into.

Rules follow Meta's documentation, cited below by the names in brackets:
- [Manual login flow] https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow: comma
  scopes, the secret in the query, exact redirect URI, single-use codes.
- [Long-lived tokens] https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived:
  short-lived, then ~60-day user tokens via fb_exchange_token.
- [Page tokens] https://developers.facebook.com/docs/business-sdk/common-scenarios/token-switch: Page tokens
  (non-expiring when made from a long-lived user token: reported by developers, not stated by Meta).
- [Pages posts] https://developers.facebook.com/docs/pages-api/posts: feed posts, photos, videos.
- [Photo] https://developers.facebook.com/docs/graph-api/reference/photo/: unpublished photos attached to a post.
- [Page insights] https://developers.facebook.com/docs/graph-api/reference/insights: per-post metrics.
- [Graph errors] https://developers.facebook.com/docs/graph-api/guides/error-handling: the envelope
  `{"error": {message, type, code, error_subcode, fbtrace_id}}`, HTTP 400 for OAuthException; 506 duplicates.
- [Graph rate limits] https://developers.facebook.com/docs/graph-api/overview/rate-limiting/
The 63,206-character message limit is what other clients (Postiz) apply; Meta's docs give no number.

graph.facebook.com is one API for both platforms, so node lookups go through one dispatcher: `HANDLERS` maps
(node type, edge, method) to a view; instagram.py registers its own entries.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, Response, jsonify, request

from stella.sandbox import core, oauth
from stella.sandbox.platforms._meta import (
    app_client,
    expired_token_error,
    graph_error,
    live_token,
    param,
    pick,
    redeem_code,
    requested_fields,
    server_error,
)
from stella.sandbox.store import Client, Token

NAME = "facebook"
GRAPH = "graph.facebook.com"
META_PLATFORMS = ("facebook", "instagram")  # the clients a Facebook Login can belong to
CODE_TTL = timedelta(minutes=10)
SHORT_TTL = timedelta(hours=1)  # [Long-lived tokens]: short-lived user tokens last about an hour
LONG_TTL = timedelta(seconds=5183944)  # [Long-lived tokens]: about 60 days
MAX_MESSAGE = 63206  # as other clients apply it; not in Meta's docs
DUPLICATE_WINDOW = timedelta(hours=24)
VIDEO_PROCESSING = timedelta(seconds=3)
PAGE_LIMIT_MAX = 100
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif")  # [Photo]: JPG/PNG (and GIF) photos
VIDEO_EXTENSIONS = (".mp4", ".mov")
KNOWN_SCOPES = frozenset({
    "public_profile", "email", "pages_show_list", "pages_manage_posts", "pages_read_engagement",
    "pages_manage_engagement", "pages_read_user_engagement", "pages_manage_metadata", "read_insights",
    "publish_video", "business_management", "instagram_basic", "instagram_content_publish",
    "instagram_manage_insights", "instagram_manage_comments", "ads_management", "ads_read",
})
# Facebook Login for Business configurations (STELLA_FACEBOOK_LOGIN_CONFIG_ID / STELLA_INSTAGRAM_LOGIN_CONFIG_ID,
# docs/platform-verification.md item 2): sent as `config_id` instead of `scope`, a configuration's permissions are
# granted all or nothing. The demo one holds what Stella asks for on Facebook and Instagram.
DEMO_LOGIN_CONFIG_ID = "918273645501234"
LOGIN_CONFIGURATIONS: dict[str, tuple[str, ...]] = {
    DEMO_LOGIN_CONFIG_ID: (
        "pages_show_list", "pages_manage_posts", "pages_read_engagement", "read_insights", "publish_video",
        "instagram_basic", "instagram_content_publish", "instagram_manage_insights",
    ),
}
ALL_TASKS = ["ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"]

DEMO_USER = {
    "id": "10229876543210",
    "name": "Maya Lindqvist",
}
DEMO_PAGES: list[dict[str, Any]] = [
    {
        "id": "104321987654321", "name": "Harbor & Vine Realty", "username": "harborvinerealty",
        "category": "Real Estate Agent", "tasks": ALL_TASKS, "fan_count": 2841,
        "instagram": {
            "id": "17841405822304914", "username": "harborvine.realty", "name": "Harbor & Vine Realty",
            "followers_count": 5120,
        },
    },
    {
        "id": "105987123456789", "name": "Harbor & Vine Property Management", "username": "harborvinepm",
        "category": "Property Management Company", "tasks": ALL_TASKS, "fan_count": 312,
        "instagram": None,
    },
    {
        # The user only analyses this Page: it is listed but cannot be published to.
        "id": "106555000111222", "name": "Seaside Listings Archive", "username": None,
        "category": "Real Estate", "tasks": ["ANALYZE"], "fan_count": 57,
        "instagram": None,
    },
]
PAGES_BY_ID = {page["id"]: page for page in DEMO_PAGES}
IG_BY_ID = {page["instagram"]["id"]: page for page in DEMO_PAGES if page["instagram"]}

bp = Blueprint("sandbox_facebook", __name__)


# -- the Graph error envelope ([Graph errors]) -----------------------------------------------------------------


def rate_limited_error(retry_after: int = 60, *, code: int = 4, business_type: str = "pages") -> Response:
    # [Graph rate limits]: no Retry-After; the usage headers say how long until access is regained (minutes).
    minutes = max(1, math.ceil(retry_after / 60))
    usage = {"call_count": 100, "total_cputime": 35, "total_time": 60}
    buc = {DEMO_PAGES[0]["id"]: [{"type": business_type, **usage, "estimated_time_to_regain_access": minutes}]}
    message = {4: "(#4) Application request limit reached", 32: "(#32) Page request limit reached"}.get(
        code, f"(#{code}) User request limit reached"
    )
    return graph_error(message, code, transient=True, headers={
        "X-App-Usage": json.dumps(usage), "X-Business-Use-Case-Usage": json.dumps(buc),
    })


def rejection_error(reason: str = "rejected") -> Response:
    if reason == "duplicate":
        return graph_error("(#506) Duplicate status message", 506, subcode=1455006)
    if reason == "media":
        return graph_error("(#100) Invalid parameter", 100, subcode=1366046,
                           user_title="Photo could not be uploaded",
                           user_msg="The photo is larger than 4 MB or not a JPG, PNG or GIF file.")
    return graph_error(
        "(#368) The action attempted has been deemed abusive or is otherwise disallowed", 368, subcode=1390008,
        user_title="You Can't Post Right Now", user_msg=f"This content was refused ({reason}).",
    )


# -- request helpers -------------------------------------------------------------------------------------------


def picture(label: str) -> dict[str, Any]:
    """`picture{data{url}}` for the user or a Page named `label` (real ones are on fbcdn; the sandbox draws its own)."""
    return {"data": {"height": 200, "width": 200, "is_silhouette": False, "url": core.avatar_url(NAME, label)}}


def check_version(version: str) -> Response | None:
    if not re.fullmatch(r"v\d+\.\d+", version):
        return graph_error(f"Unknown path components: /{version}", 2500)
    return None


@dataclass
class Caller:
    """Who is calling the Graph API, from the access token."""

    token: Token
    kind: str  # user_short, user_long, page
    user_id: str
    page_id: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_user(self) -> bool:
        return self.kind.startswith("user")


def authenticate() -> Caller | Response:
    value = request.values.get("access_token") or core.bearer_token()
    if not value:
        return graph_error("An active access token must be used to query information about the current user.",
                           2500)
    # A Facebook Login token can belong to a Facebook or an Instagram connection.
    token = live_token(next(filter(None, (core.store().token(p, value) for p in META_PLATFORMS)), None))
    if isinstance(token, Response):
        return token
    kind = str(token.extra.get("kind") or "user_long")
    return Caller(
        token=token, kind=kind, user_id=str(token.extra.get("user_id") or token.account_id),
        page_id=token.account_id if kind == "page" else None, scopes=frozenset(token.scopes),
    )


def missing_permission(caller: Caller, *needed: str) -> Response | None:
    absent = [scope for scope in needed if scope not in caller.scopes]
    if absent:
        return graph_error(f"(#200) Requires {' and '.join(absent)} permission to manage the object", 200)
    return None


# -- the node dispatcher ----------------------------------------------------------------------------------------

Handler = Callable[[Caller, str, dict[str, Any]], Response]
HANDLERS: dict[tuple[str, str | None, str], Handler] = {}


def handles(node_type: str, edge: str | None, method: str = "GET") -> Callable[[Handler], Handler]:
    def register(view: Handler) -> Handler:
        HANDLERS[(node_type, edge, method)] = view
        return view

    return register


def new_id(kind: str) -> str:
    """Graph-looking numeric ids, distinct per object kind."""
    bases = {"post": 122100000000000000, "photo": 810000000000000, "video": 920000000000000,
             "ig_container": 17890000000000000, "ig_media": 17920000000000000}
    return str(bases[kind] + core.store().next_number(NAME, "graph_id", start=101))


def put_node(node_id: str, data: dict[str, Any]) -> None:
    core.store().put_object(NAME, "node", node_id, data, now=core.now())


def get_node(node_id: str) -> dict[str, Any] | None:
    return core.store().get_object(NAME, "node", node_id)


def resolve(node_id: str) -> tuple[str, dict[str, Any]] | None:
    if node_id == DEMO_USER["id"]:
        return "user", DEMO_USER
    if node_id in PAGES_BY_ID:
        return "page", PAGES_BY_ID[node_id]
    if node_id in IG_BY_ID:
        return "ig_user", IG_BY_ID[node_id]
    stored = get_node(node_id)
    if stored is not None:
        return str(stored["type"]), stored
    return None


def dispatch(version: str, node_id: str, edge: str | None) -> Response:
    bad = check_version(version)
    if bad is not None:
        return bad
    caller = authenticate()
    if isinstance(caller, Response):
        return caller
    if node_id == "me":
        node_id = caller.page_id or caller.user_id
    found = resolve(node_id)
    if found is None:
        return graph_error(
            f"Unsupported {request.method.lower()} request. Object with ID '{node_id}' does not exist, cannot be "
            "loaded due to missing permissions, or does not support this operation.", 100, subcode=33,
        )
    node_type, data = found
    handler = HANDLERS.get((node_type, edge, request.method))
    if handler is None:
        if edge is None:
            return graph_error(f"Unsupported {request.method.lower()} request.", 100)
        return graph_error(f"(#100) Tried accessing nonexisting field ({edge}) on node type ({node_type})", 100)
    return handler(caller, node_id, data)


@bp.route(f"/{GRAPH}/<version>/<node_id>", methods=["GET", "POST", "DELETE"])
def graph_node(version: str, node_id: str) -> Response:
    return dispatch(version, node_id, None)


@bp.route(f"/{GRAPH}/<version>/<node_id>/<edge>", methods=["GET", "POST", "DELETE"])
def graph_edge(version: str, node_id: str, edge: str) -> Response:
    return dispatch(version, node_id, edge)


# -- Facebook Login ([Manual login flow], [Long-lived tokens]) ---------------------------------------------------


@bp.route("/www.facebook.com/<version>/dialog/oauth", methods=["GET", "POST"])
def dialog(version: str) -> Response:
    config_id = request.args.get("config_id")
    consent = oauth.check_consent_request(
        PLATFORM,
        lookup=lambda client_id: oauth.find_client(META_PLATFORMS, client_id),  # Facebook and Instagram alike
        error_pages=PLATFORM,  # Facebook Login's dialog, whichever platform the app connects
        unknown_client=oauth.Refusal("Invalid App ID: The provided app ID does not look like a valid app ID."),
        redirect_mismatch=oauth.Refusal(
            "URL Blocked: This redirect failed because the redirect URI is not whitelisted in the app's Client "
            "OAuth Settings. Make sure Client and Web OAuth Login are on and add all your app domains as Valid "
            "OAuth Redirect URIs."),
        bad_response_type=oauth.Refusal("Only the authorization code flow is enabled for this app."),
        default_response_type="code",
        # [Manual login flow]: a comma-separated list; a space-separated one arrives as one unknown scope.
        scope_separator=",",
        strip_scopes=True,
        # With a Login for Business configuration, `scope` is not used: the configuration holds the permissions.
        check_scopes=oauth.any_scopes if config_id is not None else oauth.known_scopes(
            KNOWN_SCOPES, unknown=oauth.Refusal("Invalid Scopes: {value}. This message is only shown to developers.")),
    )
    if isinstance(consent, Response):
        return consent
    scopes = consent.scopes
    if config_id is not None:
        configured = LOGIN_CONFIGURATIONS.get(config_id)
        if configured is None:
            # Meta's exact wording for an unknown configuration is not documented; this text is the sandbox's own.
            return core.oauth_error_page(PLATFORM, f"Invalid config_id: {config_id} is not a Facebook Login for "
                                                   "Business configuration of this app. This message is only shown "
                                                   "to developers.")
        scopes = list(configured)
    return consent.page(
        scopes=[*scopes, "public_profile"] if "public_profile" not in scopes else scopes,
        account_id=DEMO_USER["id"],
        account_label=f"{DEMO_USER['name']} (admin of Harbor & Vine Realty)",
        code_ttl=CODE_TTL,
        redirect_fragment="_=_",  # Facebook appends #_=_ to the redirect
    )


@bp.route(f"/{GRAPH}/<version>/oauth/access_token", methods=["GET", "POST"])
def access_token(version: str) -> Response:
    """Code exchange or fb_exchange_token; the client secret travels as a parameter, never HTTP Basic."""
    bad = check_version(version)
    if bad is not None:
        return bad
    values = request.values
    client = app_client(values, META_PLATFORMS)
    if isinstance(client, Response):
        return client
    platform = client.platform
    now = core.now()
    if values.get("grant_type") == "fb_exchange_token":
        return _exchange_long_lived(client, values.get("fb_exchange_token") or "")
    if values.get("grant_type") not in (None, "authorization_code"):
        return graph_error(f"Unsupported grant_type: {values.get('grant_type')}", 100)
    code_value = values.get("code")
    if not code_value:
        return graph_error("Missing authorization code", 100)
    code = redeem_code(client, code_value, values.get("redirect_uri"))
    if isinstance(code, Response):
        return code
    token = core.store().issue_token(
        platform, client_id=client.client_id, account_id=code.account_id, scopes=code.scopes, now=now,
        access_ttl=SHORT_TTL, with_refresh=False, prefix="EAAG",
        extra={"kind": "user_short", "user_id": code.account_id},
    )
    return jsonify({"access_token": token.access_token, "token_type": "bearer", "expires_in": token.expires_in})


def _exchange_long_lived(client: Client, value: str) -> Response:
    token = core.store().token(client.platform, value) if value else None
    if token is not None and (token.client_id != client.client_id or str(token.extra.get("kind", "")) == "page"):
        token = None  # another app's token, or a Page token: nothing this app can exchange
    live = live_token(token)  # [Long-lived tokens]: an expired token cannot be exchanged
    if isinstance(live, Response):
        return live
    fresh = core.store().issue_token(
        client.platform, client_id=client.client_id, account_id=live.account_id, scopes=live.scopes, now=core.now(),
        access_ttl=LONG_TTL, with_refresh=False, prefix="EAAG",
        extra={"kind": "user_long", "user_id": live.extra.get("user_id") or live.account_id},
    )
    return jsonify({"access_token": fresh.access_token, "token_type": "bearer", "expires_in": fresh.expires_in})


# -- the user and the Pages they manage ([Page tokens]) -------------------------------------------------------------


@handles("user", None)
def user_node(caller: Caller, node_id: str, data: dict[str, Any]) -> Response:
    node = {"id": DEMO_USER["id"], "name": DEMO_USER["name"], "picture": picture(DEMO_USER["name"])}
    return jsonify(pick(node, requested_fields(("id", "name"))))


@handles("user", "permissions")
def user_permissions(caller: Caller, node_id: str, data: dict[str, Any]) -> Response:
    return jsonify({"data": [{"permission": scope, "status": "granted"} for scope in sorted(caller.scopes)]})


@handles("user", "accounts")
def user_accounts(caller: Caller, node_id: str, data: dict[str, Any]) -> Response:
    if not caller.is_user:
        return graph_error("(#100) Tried accessing nonexisting field (accounts) on node type (Page)", 100)
    if "pages_show_list" not in caller.scopes:
        return jsonify({"data": []})  # Pages are only listed with pages_show_list
    try:
        limit = max(1, min(PAGE_LIMIT_MAX, int(request.args.get("limit", 25))))
        start = int(request.args.get("after") or 0) if (request.args.get("after") or "0").isdigit() else -1
    except ValueError:
        return graph_error("(#100) The parameter limit must be an integer", 100)
    if start < 0:
        return graph_error("(#100) Invalid cursor", 100)
    fields = requested_fields(("id", "name", "access_token", "category", "tasks"))
    chunk = DEMO_PAGES[start:start + limit]
    payload: dict[str, Any] = {"data": [page_view(caller, page, fields) for page in chunk]}
    after = start + len(chunk)
    payload["paging"] = {"cursors": {"before": str(start), "after": str(after)}}
    if after < len(DEMO_PAGES):
        payload["paging"]["next"] = request.base_url + f"?limit={limit}&after={after}"
    return jsonify(payload)


def page_view(caller: Caller, page: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    node: dict[str, Any] = {
        "id": page["id"], "name": page["name"], "username": page["username"], "category": page["category"],
        "tasks": page["tasks"], "fan_count": page["fan_count"], "picture": picture(page["name"]),
        "link": f"https://www.facebook.com/{page['username'] or page['id']}",
    }
    if page["instagram"]:
        node["instagram_business_account"] = {"id": page["instagram"]["id"]}
    if "access_token" in fields and caller.is_user:
        node["access_token"] = page_token(caller, page["id"])
    return pick(node, fields)


def page_token(caller: Caller, page_id: str) -> str:
    # [Page tokens]: from a short-lived user token it lasts 1 h; from a long-lived one it does not expire (reported).
    ttl = None if caller.kind == "user_long" else SHORT_TTL
    token = core.store().issue_token(
        NAME, client_id=caller.token.client_id, account_id=page_id, scopes=sorted(caller.scopes), now=core.now(),
        access_ttl=ttl, with_refresh=False, prefix="EAAG", extra={"kind": "page", "user_id": caller.user_id},
    )
    return token.access_token


@handles("page", None)
def page_node(caller: Caller, node_id: str, data: dict[str, Any]) -> Response:
    return jsonify(page_view(caller, data, requested_fields(("id", "name"))))


def page_publisher(caller: Caller, page_id: str) -> Response | None:
    """[Pages posts]: publishing needs that Page's token, pages_manage_posts and the CREATE_CONTENT task."""
    if caller.page_id != page_id:
        return graph_error(
            "(#200) If posting to a page, requires both pages_read_engagement and pages_manage_posts as an admin "
            "with sufficient administrative permission", 200,
        )
    denied = missing_permission(caller, "pages_manage_posts")
    if denied is not None:
        return denied
    if "CREATE_CONTENT" not in PAGES_BY_ID[page_id]["tasks"]:
        return graph_error("(#200) The user does not have the CREATE_CONTENT task on this Page", 200)
    return None


def _extension_ok(url: str, allowed: tuple[str, ...]) -> bool:
    path = url.split("?", 1)[0].lower()
    last = path.rsplit("/", 1)[-1]
    return "." not in last or last.endswith(allowed)


def _public_url(value: Any) -> bool:
    return isinstance(value, str) and bool(re.match(r"https?://[^/\s]+", value))


@handles("page", "photos", "POST")
def page_photos(caller: Caller, page_id: str, data: dict[str, Any]) -> Response:
    denied = page_publisher(caller, page_id)
    if denied is not None:
        return denied
    url = param("url")
    if not _public_url(url):
        return graph_error("(#324) Requires upload file", 324)
    if not _extension_ok(str(url), IMAGE_EXTENSIONS):
        return rejection_error("media")
    photo_id = new_id("photo")
    published = str(param("published") if param("published") is not None else "true").lower() != "false"
    put_node(photo_id, {"type": "photo", "page_id": page_id, "url": url, "attached": published,
                        "alt_text": param("alt_text_custom")})
    if not published:
        return jsonify({"id": photo_id})
    caption = str(param("caption") or param("message") or "")
    post_id = _create_post(page_id, caption, media=[{"kind": "image", "url": url, "id": photo_id}])
    return jsonify({"id": photo_id, "post_id": post_id})


@handles("page", "feed", "POST")
def page_feed_create(caller: Caller, page_id: str, data: dict[str, Any]) -> Response:
    denied = page_publisher(caller, page_id)
    if denied is not None:
        return denied
    message = str(param("message") or "")
    link = param("link")
    attached = param("attached_media")
    if isinstance(attached, str):  # form encoding sends it as JSON text
        try:
            attached = json.loads(attached)
        except ValueError:
            return graph_error("(#100) param attached_media must be an array.", 100)
    attached = attached or []
    if not message and not link and not attached:
        return graph_error("(#100) Missing message or attachment", 100)
    if len(message) > MAX_MESSAGE:
        return graph_error("(#100) The message is too long", 100, user_title="Post too long",
                           user_msg=f"Posts can have at most {MAX_MESSAGE} characters.")
    if link is not None and not _public_url(link):
        return graph_error("(#100) The parameter link must be a valid URL", 100, subcode=2061006)
    media = []
    for index, entry in enumerate(attached if isinstance(attached, list) else [None]):
        photo_id = str(entry.get("media_fbid")) if isinstance(entry, dict) else ""
        photo = get_node(photo_id) if photo_id else None
        if photo is None or photo.get("type") != "photo" or photo.get("page_id") != page_id or photo.get("attached"):
            return graph_error(f"(#100) param attached_media[{index}] must be a valid unpublished media_fbid", 100)
        media.append({"kind": "image", "url": photo["url"], "id": photo_id})
    # [Graph errors]: an exact duplicate of a recent post is refused with 506.
    if message and not media and _recent_duplicate(page_id, message):
        return rejection_error("duplicate")
    for item in media:
        photo = get_node(item["id"]) or {}
        put_node(item["id"], {**photo, "attached": True})
    post_id = _create_post(page_id, message, media=media, link=link)
    return jsonify({"id": post_id})


def _recent_duplicate(page_id: str, message: str) -> bool:
    cutoff = core.now() - DUPLICATE_WINDOW
    return any(
        post.account_id == page_id and post.text == message and post.created_at >= cutoff and not post.media
        for post in core.store().posts(NAME)
    )


def _create_post(page_id: str, message: str, *, media: list[dict[str, Any]], link: Any = None) -> str:
    number = new_id("post")
    post_id = f"{page_id}_{number}"
    permalink = f"https://www.facebook.com/{page_id}/posts/{number}/"
    put_node(post_id, {"type": "post", "page_id": page_id, "message": message, "link": link,
                       "created_time": core.now().isoformat(), "permalink_url": permalink})
    core.store().record_post(NAME, account_id=page_id, platform_post_id=post_id, text=message, now=core.now(),
                             permalink=permalink, media=media, extra={"link": link} if link else None)
    core.after_create(NAME)
    return post_id


@handles("page", "feed")
def page_feed_list(caller: Caller, page_id: str, data: dict[str, Any]) -> Response:
    if caller.page_id != page_id and "pages_read_engagement" not in caller.scopes:
        return graph_error("(#10) This endpoint requires the 'pages_read_engagement' permission", 10)
    limit = min(PAGE_LIMIT_MAX, int(request.args.get("limit", 25)) if request.args.get("limit", "").isdigit() else 25)
    posts = [p for p in reversed(core.store().posts(NAME)) if p.account_id == page_id][:limit]
    fields = requested_fields(("id", "message", "created_time"))
    return jsonify({"data": [pick(post_view(p.platform_post_id, p.created_at), fields) for p in posts]})


def post_view(post_id: str, created_at: datetime) -> dict[str, Any]:
    node = get_node(post_id) or {}
    metrics = core.metric_values(post_id, created_at)
    return {
        "id": post_id, "message": node.get("message"), "created_time": node.get("created_time"),
        "permalink_url": node.get("permalink_url"),
        "reactions": {"data": [], "summary": {"total_count": metrics["likes"], "viewer_reaction": "NONE"}},
        "comments": {"data": [], "summary": {"order": "ranked", "total_count": metrics["comments"],
                                             "can_comment": True}},
        "shares": {"count": metrics["shares"]},
    }


def _post_created_at(post_id: str) -> datetime:
    post = core.store().post(NAME, post_id)
    return post.created_at if post else core.now()


@handles("post", None)
def post_node(caller: Caller, post_id: str, data: dict[str, Any]) -> Response:
    return jsonify(pick(post_view(post_id, _post_created_at(post_id)), requested_fields(("id", "message",
                                                                                        "created_time"))))


# [Page insights]: per-post metrics under their current names (the set other clients read; older names deprecated).
POST_METRICS = ("post_total_media_view_unique", "post_reactions_by_type_total", "post_clicks", "post_clicks_by_type")


@handles("post", "insights")
@handles("video", "insights")
def post_insights(caller: Caller, post_id: str, data: dict[str, Any]) -> Response:
    denied = missing_permission(caller, "read_insights")
    if denied is not None:
        return denied
    names = [m.strip() for m in (request.args.get("metric") or "").split(",") if m.strip()]
    unknown = [m for m in names if m not in POST_METRICS]
    if not names or unknown:
        return graph_error(f"(#100) The value must be a valid insights metric: {', '.join(unknown) or '(none)'}",
                           100)
    created = _post_created_at(post_id) if data.get("type") == "post" else _video_created_at(data)
    values = core.metric_values(post_id, created)
    by_name: dict[str, Any] = {
        "post_total_media_view_unique": values["reach"],
        "post_reactions_by_type_total": {"like": values["likes"] - values["likes"] // 5, "love": values["likes"] // 5},
        "post_clicks": values["clicks"],
        "post_clicks_by_type": {"link clicks": values["clicks"] // 2,
                                "other clicks": values["clicks"] - values["clicks"] // 2},
    }
    return jsonify({"data": [
        {"name": name, "period": "lifetime", "values": [{"value": by_name[name]}], "title": name,
         "id": f"{post_id}/insights/{name}/lifetime"}
        for name in names
    ]})


# -- videos ([Pages posts]): accepted at once, processed for a few seconds -------------------------------------


@handles("page", "videos", "POST")
def page_videos(caller: Caller, page_id: str, data: dict[str, Any]) -> Response:
    denied = page_publisher(caller, page_id)
    if denied is not None:
        return denied
    file_url = param("file_url")
    if not _public_url(file_url):
        return graph_error("(#100) No file_url or source was provided", 100, subcode=1363024)
    if not _extension_ok(str(file_url), VIDEO_EXTENSIONS):
        return graph_error("(#352) Sorry, the video file you selected is in a format that we don't support.", 352)
    description = str(param("description") or "")
    if len(description) > MAX_MESSAGE:
        return graph_error("(#100) The description is too long", 100)
    video_id = new_id("video")
    now = core.now()
    page = PAGES_BY_ID[page_id]
    permalink = f"/{page['username'] or page_id}/videos/{video_id}/"
    put_node(video_id, {"type": "video", "page_id": page_id, "description": description, "file_url": file_url,
                        "title": param("title"), "created": now.isoformat(),
                        "ready_at": (now + VIDEO_PROCESSING).isoformat(), "permalink_url": permalink})
    core.store().record_post(NAME, account_id=page_id, platform_post_id=video_id, text=description, now=now,
                             permalink=f"https://www.facebook.com{permalink}",
                             media=[{"kind": "video", "url": file_url}])
    core.after_create(NAME)
    return jsonify({"id": video_id})


def _video_created_at(data: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(data.get("created"))) if data.get("created") else core.now()


@handles("video", None)
def video_node(caller: Caller, video_id: str, data: dict[str, Any]) -> Response:
    ready = core.now() >= datetime.fromisoformat(str(data["ready_at"]))
    status = {
        "video_status": "ready" if ready else "processing",
        "processing_progress": 100 if ready else 50,
        "uploading_phase": {"status": "complete"},
        "processing_phase": {"status": "complete" if ready else "in_progress"},
        "publishing_phase": {"status": "complete" if ready else "not_started",
                             **({"publish_status": "published"} if ready else {})},
    }
    node = {"id": video_id, "description": data.get("description"), "title": data.get("title"), "status": status,
            "permalink_url": data.get("permalink_url"), "created_time": data.get("created")}
    return jsonify(pick(node, requested_fields(("id", "description", "created_time"))))


@handles("photo", None)
def photo_node(caller: Caller, photo_id: str, data: dict[str, Any]) -> Response:
    node = {"id": photo_id, "link": f"https://www.facebook.com/photo/?fbid={photo_id}", "images": [
        {"height": 1080, "width": 1440, "source": data.get("url")}], "alt_text_custom": data.get("alt_text")}
    return jsonify(pick(node, requested_fields(("id",))))


PLATFORM = core.SandboxPlatform(
    name=NAME,
    display_name="Facebook",
    blueprint=bp,
    hosts=("www.facebook.com", GRAPH),
    color="#1877F2",
    expired_token=expired_token_error,
    rate_limited=lambda retry_after=60: rate_limited_error(retry_after, code=32),
    rejection=rejection_error,
    server_error=server_error,
    demo_notes="Signed in as Maya Lindqvist, who manages Harbor & Vine Realty (with Instagram) and two more Pages.",
)
