"""Sandbox stand-in for Pinterest (API v5): OAuth, the account, boards, image/carousel/video pins, pin analytics.

Rules follow Pinterest's documentation (developers.pinterest.com), cited below by the names in brackets:
- [OAuth token] https://developers.pinterest.com/docs/api/v5/oauth-token: HTTP Basic client authentication only,
  refresh tokens that rotate on every refresh (continuous refresh: 60 days, renewed), 30-day access tokens.
- [Authentication guide] https://developers.pinterest.com/docs/getting-started/set-up-authentication-and-authorization/:
  exact redirect URI, single-use codes, comma-separated scopes, the sandbox's own token endpoint.
- [Access tiers] https://developers.pinterest.com/docs/key-concepts/access-tiers/ and
  [API Sandbox] https://developers.pinterest.com/docs/developer-tools/sandbox/
- [Create pin] https://developers.pinterest.com/docs/api/v5/pins-create: a numeric board and a media source;
  title 100, description 800, alt text 500, link 2048; carousels of 2–5 images; video pins with a cover.
- [Register media] https://developers.pinterest.com/docs/api/v5/media-create: register → multipart upload to the
  storage bucket (no bearer token allowed there) → processing.
- [Pin analytics] https://developers.pinterest.com/docs/api/v5/pins-analytics
- [OpenAPI] https://github.com/pinterest/api-description: scopes per endpoint, the `{"code", "message"}` error body.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import Blueprint, Response, jsonify, request

from stella.sandbox import core, oauth
from stella.sandbox.store import Token

NAME = "pinterest"
API = "api.pinterest.com"
# Pinterest's API Sandbox (STELLA_PINTEREST_API_URL): the same API on its own host, for Trial apps ([Access
# tiers]); its tokens come from its own token endpoint and work only there, and it cannot create video pins.
SANDBOX_API = "api-sandbox.pinterest.com"
UPLOAD_HOST = "pinterest-media-upload.s3-accelerate.amazonaws.com"
ACCESS_TTL = timedelta(seconds=2592000)  # [OAuth token]: 30 days
REFRESH_TTL = timedelta(seconds=5184000)  # [OAuth token]: continuous refresh, 60 days from each refresh
CODE_TTL = timedelta(minutes=10)
KNOWN_SCOPES = frozenset({
    "ads:read", "ads:write", "boards:read", "boards:read_secret", "boards:write", "boards:write_secret",
    "catalogs:read", "catalogs:write", "pins:read", "pins:read_secret", "pins:write", "pins:write_secret",
    "user_accounts:read", "user_accounts:write",
})
MAX_TITLE, MAX_DESCRIPTION, MAX_ALT_TEXT, MAX_LINK = 100, 800, 500, 2048  # [Create pin]
MIN_CAROUSEL, MAX_CAROUSEL = 2, 5
MAX_IMAGE_BYTES = 20 * 1024 * 1024
IMAGE_TYPES = frozenset({"image/jpeg", "image/png"})
VIDEO_PROCESSING = timedelta(seconds=10)
MAX_ANALYTICS_DAYS = 90  # [Pin analytics]

USER = {
    "id": "1125968642187254183",
    "username": "harborvinerealty",
    "account_type": "BUSINESS",
    "business_name": "Harbor & Vine Realty",
    "about": "Boston waterfront homes, staging ideas and neighborhood guides.",
    "website_url": "https://harborvine.example",
}
BOARDS = [
    {"id": "1125968573467820341", "name": "Waterfront Listings", "privacy": "PUBLIC",
     "description": "Homes for sale on Boston's harbor."},
    {"id": "1125968573467820342", "name": "Home Staging Ideas", "privacy": "PUBLIC",
     "description": "Before-and-after staging from our listings."},
    {"id": "1125968573467820343", "name": "Neighborhood Guides", "privacy": "PUBLIC",
     "description": "Coffee, parks and schools near our listings."},
    {"id": "1125968573467820344", "name": "Client Shortlists", "privacy": "SECRET",
     "description": "Private picks for buyers."},
]

bp = Blueprint("sandbox_pinterest", __name__)


# -- Pinterest's error shape ([OpenAPI]) ---------------------------------------------------------------------


def pinterest_error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return core.json_error(status, {"code": code, "message": message}, headers)


def _expired_token() -> Response:
    return core.json_error(401, {"code": 2, "message": "Authentication failed.", "status": "failure"})


def _rate_limited(retry_after: int = 60) -> Response:
    return pinterest_error(429, 8, "You have exceeded your rate limit. Try again later.",
                           {"Retry-After": str(retry_after)})


def _rejection(reason: str = "rejected") -> Response:
    return pinterest_error(400, 1, f"Invalid request: {reason}")


def _server_error(status: int = 503) -> Response:
    return pinterest_error(status, 3 if status == 500 else 4, "Something went wrong on our end. Sorry about that.")


PLATFORM = core.SandboxPlatform(
    name=NAME,
    display_name="Pinterest",
    blueprint=bp,
    hosts=("www.pinterest.com", API, SANDBOX_API, UPLOAD_HOST),
    color="#E60023",
    expired_token=_expired_token,
    rate_limited=_rate_limited,
    rejection=_rejection,
    server_error=_server_error,
    demo_notes=f"Signs in as @{USER['username']} with {len(BOARDS)} boards (one secret). The API Sandbox host "
    f"({SANDBOX_API}) works too, without video pins.",
)


def api_route(rule: str, **options: Any) -> Callable[[core.View], core.View]:
    """A view of the v5 API, served on the production host and on the API Sandbox host alike."""
    return core.route_on_hosts(bp, (API, SANDBOX_API), rule, **options)


def _environment() -> str:
    """Which Pinterest API this request reached: tokens of one are refused by the other."""
    return "sandbox" if core.request_host() == SANDBOX_API else "production"


def _no_video_in_sandbox() -> Response | None:
    # [API Sandbox] (docs/platform-verification.md item 4): the API Sandbox
    # cannot create video pins. Its exact error body is not documented; this follows the {code, message} shape.
    if _environment() == "sandbox":
        return pinterest_error(400, 1, "Invalid request: video Pins cannot be created in the API Sandbox.")
    return None


# -- OAuth ([OAuth token], [Authentication guide]) --------------------------------------------------------------


@bp.route("/www.pinterest.com/oauth/", methods=["GET", "POST"])
def authorize() -> Response:
    """One consent page for both APIs: the code it issues is exchanged at either token endpoint."""
    consent = oauth.check_consent_request(
        PLATFORM,
        unknown_client=oauth.Refusal("Invalid client_id: this app does not exist."),
        redirect_mismatch=oauth.Refusal("The redirect_uri does not match any registered for this app."),
        bad_response_type=oauth.Refusal("response_type must be code."),
        scope_separator=",",  # [Authentication guide]: comma-separated
        check_scopes=oauth.known_scopes(KNOWN_SCOPES, unknown=oauth.Refusal("Invalid scope: {value}"),
                                        missing=oauth.Refusal("The scope parameter is required.")),
    )
    if isinstance(consent, Response):
        return consent
    return consent.page(account_id=USER["id"], account_label=f"{USER['business_name']} (@{USER['username']})",
                        code_ttl=CODE_TTL)


def _token_body(token: Token, response_type: str) -> dict[str, Any]:
    refresh_at = token.refresh_expires_at
    return {
        "access_token": token.access_token,
        "refresh_token": token.refresh_token,
        "response_type": response_type,
        "token_type": "bearer",
        "expires_in": token.expires_in,
        "refresh_token_expires_in": token.refresh_expires_in,
        "refresh_token_expires_at": int(refresh_at.timestamp()) if refresh_at else None,
        "scope": " ".join(token.scopes),
    }


@api_route("/v5/oauth/token", methods=["POST"])
def token_endpoint() -> Response:
    # [OAuth token]: HTTP Basic only; credentials in the body are not client authentication here.
    client = oauth.authenticate_client(NAME, _refuse_client)
    if isinstance(client, Response):
        return client
    grant = request.form.get("grant_type")
    if grant == "authorization_code":
        return _exchange(client.client_id)
    if grant == "refresh_token":
        return _refresh(client.client_id)
    return pinterest_error(400, 1, "Invalid request: grant_type must be authorization_code or refresh_token.")


def _refuse_client(problem: oauth.ClientProblem) -> Response:
    if problem == "missing":
        return pinterest_error(401, 2, "Authentication failed: the token endpoint requires HTTP Basic client "
                               "authentication.")
    return pinterest_error(401, 2, "Authentication failed.")


def _exchange(client_id: str) -> Response:
    form = request.form
    if not form.get("code") or not form.get("redirect_uri"):
        return pinterest_error(400, 1, "Invalid request: code and redirect_uri are required.")
    store, now = core.store(), core.now()
    code, problem = store.consume_code(NAME, form["code"], now=now)
    if code is None or problem is not None or code.client_id != client_id:
        return pinterest_error(400, 283, "Invalid request: the authorization code is invalid, used or expired.")
    if form["redirect_uri"] != code.redirect_uri:
        return pinterest_error(400, 1, "Invalid request: redirect_uri does not match the authorization request.")
    token = store.issue_token(
        NAME, client_id=client_id, account_id=code.account_id, scopes=code.scopes, now=now, access_ttl=ACCESS_TTL,
        refresh_ttl=REFRESH_TTL, prefix="pina_", refresh_token="pinr_" + secrets.token_urlsafe(40),
        extra={"environment": _environment()},
    )
    return jsonify(_token_body(token, "authorization_code"))


def _refresh(client_id: str) -> Response:
    value = request.form.get("refresh_token")
    if not value:
        return pinterest_error(400, 1, "Invalid request: refresh_token is required.")
    store, now = core.store(), core.now()
    old = store.token_by_refresh(NAME, value)
    if (old is None or old.client_id != client_id or old.revoked_at is not None or old.replaced_at is not None
            or old.refresh_expired(now) or not _same_environment(old)):
        return pinterest_error(400, 283, "Invalid request: the refresh token is invalid or expired.")
    scopes = old.scopes
    if request.form.get("scope"):
        narrowed = tuple(s for s in request.form["scope"].replace(",", " ").split() if s)
        if not set(narrowed) <= set(old.scopes):
            return pinterest_error(400, 1, "Invalid request: scope exceeds the scopes originally granted.")
        scopes = narrowed
    # [OAuth token]: continuous refresh — a new refresh token every time; the old one stops working.
    store.mark_replaced(NAME, value, now=now)
    token = store.issue_token(
        NAME, client_id=client_id, account_id=old.account_id, scopes=scopes, now=now, access_ttl=ACCESS_TTL,
        refresh_ttl=REFRESH_TTL, prefix="pina_", refresh_token="pinr_" + secrets.token_urlsafe(40),
        extra={"environment": _environment()},
    )
    return jsonify(_token_body(token, "refresh_token"))


def _same_environment(token: Token) -> bool:
    return str(token.extra.get("environment", "production")) == _environment()


def _access(*required: str) -> Token | Response:
    value = core.bearer_token()
    if not value:
        return _expired_token()
    token = core.store().token(NAME, value)
    if (token is None or token.revoked_at is not None or token.access_expired(core.now())
            or not _same_environment(token)):
        return _expired_token()
    missing = [s for s in required if s not in token.scopes]
    if missing:
        # The exact body for a missing scope is not documented; this follows the {code, message} shape.
        return pinterest_error(403, 3, f"Authorization failed. Missing scope: {', '.join(missing)}")
    return token


# -- account and boards -------------------------------------------------------------------------------------------


def _user_posts() -> list[Any]:
    return core.store().posts(NAME)


@api_route("/v5/user_account", methods=["GET"])
def user_account() -> Response:
    token = _access("user_accounts:read")
    if isinstance(token, Response):
        return token
    posts = _user_posts()
    views = sum(core.metric_values(p.platform_post_id, p.created_at)["impressions"] for p in posts)
    return jsonify({**USER, "profile_image": core.avatar_url(NAME, USER["business_name"]),  # not on i.pinimg.com
                    "board_count": len(BOARDS), "pin_count": len(posts), "follower_count": 2317,
                    "following_count": 184, "monthly_views": 40210 + views})


def _board_view(board: dict[str, Any]) -> dict[str, Any]:
    pins = [p for p in _user_posts() if p.extra.get("board_id") == board["id"]]
    return {
        "id": board["id"], "name": board["name"], "description": board["description"], "privacy": board["privacy"],
        "created_at": "2023-02-14T16:20:11", "board_pins_modified_at": "2026-01-05T09:12:44",
        "owner": {"username": USER["username"]}, "collaborator_count": 0, "follower_count": 412,
        "pin_count": len(pins),
        "media": {"image_cover_url": core.avatar_url(NAME, board["name"]), "pin_thumbnail_urls": []},
    }


@api_route("/v5/boards", methods=["GET"])
def list_boards() -> Response:
    token = _access("boards:read")
    if isinstance(token, Response):
        return token
    try:
        page_size = int(request.args.get("page_size", "25"))
        start = int(request.args.get("bookmark") or 0)
    except ValueError:
        return pinterest_error(400, 1, "Invalid request: page_size and bookmark must be valid.")
    if not 1 <= page_size <= 250:
        return pinterest_error(400, 1, "Invalid request: page_size must be between 1 and 250.")
    # Secret boards are listed only with boards:read_secret.
    boards = [b for b in BOARDS if b["privacy"] != "SECRET" or "boards:read_secret" in token.scopes]
    page = boards[start:start + page_size]
    bookmark = str(start + page_size) if start + page_size < len(boards) else None
    return jsonify({"items": [_board_view(b) for b in page], "bookmark": bookmark})


def _board(board_id: str) -> dict[str, Any] | None:
    return next((b for b in BOARDS if b["id"] == board_id), None)


@api_route("/v5/boards/<board_id>/pins", methods=["GET"])
def board_pins(board_id: str) -> Response:
    token = _access("boards:read", "pins:read")
    if isinstance(token, Response):
        return token
    if _board(board_id) is None:
        return pinterest_error(404, 40, "Board not found.")
    page_size = request.args.get("page_size", "25")
    if not page_size.isdigit() or not 1 <= int(page_size) <= 250:
        return pinterest_error(400, 1, "Invalid request: page_size must be between 1 and 250.")
    pins = [core.store().get_object(NAME, "pin", p.platform_post_id) for p in reversed(_user_posts())
            if p.extra.get("board_id") == board_id]
    return jsonify({"items": [p for p in pins if p][: int(page_size)], "bookmark": None})


# -- pins ([Create pin]) ---------------------------------------------------------------------------------------


def _check_text(body: dict[str, Any]) -> Response | None:
    for field, limit in (("title", MAX_TITLE), ("description", MAX_DESCRIPTION), ("alt_text", MAX_ALT_TEXT),
                         ("link", MAX_LINK)):
        value = body.get(field)
        if value is None:
            continue
        if not isinstance(value, str):
            return pinterest_error(400, 1, f"Invalid request: {field} must be a string.")
        if len(value) > limit:
            return pinterest_error(400, 1, f"Invalid request: {field} is too long (constraint: maxLength={limit}).")
    link = body.get("link")
    if link and not link.startswith(("http://", "https://")):
        return pinterest_error(400, 1, "Invalid request: link must be a valid URL.")
    return None


def _decode_image(item: dict[str, Any]) -> tuple[bytes, str] | Response:
    content_type = item.get("content_type")
    if content_type not in IMAGE_TYPES:
        return pinterest_error(400, 1, "Invalid request: content_type must be image/jpeg or image/png.")
    try:
        data = base64.b64decode(str(item.get("data") or ""), validate=True)
    except (binascii.Error, ValueError):
        return pinterest_error(400, 1, "Invalid request: data is not valid base64.")
    if not data:
        return pinterest_error(400, 1, "Invalid request: data is empty.")
    if len(data) > MAX_IMAGE_BYTES:
        return pinterest_error(400, 1, "Invalid request: the image is larger than 20 MB.")
    return data, content_type


def _reachable(url: Any) -> bool:
    # Pinterest downloads the image itself ([Create pin] image_url): only a public http(s) URL can be reached.
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return False
    host = url.split("://", 1)[1].split("/", 1)[0].split(":")[0].lower()
    return host not in ("localhost", "127.0.0.1", "0.0.0.0") and not host.endswith(".local")


def _media_for(source: Any, token: Token) -> tuple[dict[str, Any], list[dict[str, Any]]] | Response:
    """(the pin's `media` view, the media recorded as ground truth) or Pinterest's error."""
    if not isinstance(source, dict) or not source.get("source_type"):
        return pinterest_error(400, 1, "Invalid request: media_source is required.")
    kind = source["source_type"]
    if kind == "image_url":
        if not _reachable(source.get("url")):
            return pinterest_error(400, 1, "Unable to reach the URL")
        return _image_media(1), [{"kind": "image", "url": source["url"]}]
    if kind == "image_base64":
        decoded = _decode_image(source)
        if isinstance(decoded, Response):
            return decoded
        return _image_media(1), [{"kind": "image", "mime_type": decoded[1], "bytes": len(decoded[0])}]
    if kind in ("multiple_image_urls", "multiple_image_base64"):
        items = source.get("items")
        if not isinstance(items, list) or len(items) < MIN_CAROUSEL:
            return pinterest_error(400, 1, f"Invalid request: items (constraint: minItems={MIN_CAROUSEL})")
        if len(items) > MAX_CAROUSEL:
            return pinterest_error(400, 1, f"Invalid request: items (constraint: maxItems={MAX_CAROUSEL})")
        recorded = []
        for item in items:
            if not isinstance(item, dict):
                return pinterest_error(400, 1, "Invalid request: items must be objects.")
            if kind == "multiple_image_urls":
                if not _reachable(item.get("url")):
                    return pinterest_error(400, 1, "Unable to reach the URL")
                recorded.append({"kind": "image", "url": item["url"]})
            else:
                decoded = _decode_image(item)
                if isinstance(decoded, Response):
                    return decoded
                recorded.append({"kind": "image", "mime_type": decoded[1], "bytes": len(decoded[0])})
        return {"media_type": "multiple_images", "items": [_image_media(i)["images"] for i in range(len(items))]}, \
            recorded
    if kind == "video_id":
        refused = _no_video_in_sandbox()
        if refused is not None:
            return refused
        media_id = str(source.get("media_id") or "")
        media = core.store().get_object(NAME, "media", media_id) if media_id else None
        if media is None or media["owner"] != token.account_id:
            return pinterest_error(400, 1, "Invalid request: media_id was not found.")
        if _media_status(media) != "succeeded":
            return pinterest_error(400, 1, f"Invalid request: the video is not ready (status {_media_status(media)}).")
        has_cover = source.get("cover_image_url") or (
            source.get("cover_image_content_type") and source.get("cover_image_data")
        ) or source.get("cover_image_key_frame_time") is not None
        if not has_cover:
            return pinterest_error(400, 1, "Invalid request: cover_image_url or cover_image_content_type and "
                                   "cover_image_data, or cover_image_key_frame_time is required.")
        if media.get("used_by"):
            return pinterest_error(400, 1, "Invalid request: this media_id was already used for a Pin.")
        return ({"media_type": "video", "cover_image_url": f"https://i.pinimg.com/videos/thumbnails/originals/"
                 f"sandbox/{media_id}.0000000.jpg", "duration": 31000, "width": 1080, "height": 1920},
                [{"kind": "video", "media_id": media_id, "mime_type": media.get("mime_type"),
                  "bytes": media.get("bytes")}])
    return pinterest_error(400, 1, f"Invalid request: unsupported source_type {kind}.")


def _image_media(index: int) -> dict[str, Any]:
    suffix = secrets.token_hex(8)
    return {"media_type": "image", "images": {
        size: {"width": w, "height": h, "url": f"https://i.pinimg.com/{size}/sandbox/{suffix}.jpg"}
        for size, w, h in (("150x150", 150, 150), ("400x300", 400, 300), ("600x", 600, 900), ("1200x", 1200, 1800))
    }}


@api_route("/v5/pins", methods=["POST"])
def create_pin() -> Response:
    token = _access("boards:read", "pins:write")
    if isinstance(token, Response):
        return token
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return pinterest_error(400, 1, "Invalid request: the body must be JSON.")
    board_id = body.get("board_id")
    if not isinstance(board_id, str) or not board_id.isdigit():
        return pinterest_error(400, 1, f"Invalid request: board_id {board_id!r} does not match '^\\d+$'")
    board = _board(board_id)
    if board is None:
        return pinterest_error(404, 40, "Board not found.")
    if board["privacy"] == "SECRET" and "pins:write_secret" not in token.scopes:
        return pinterest_error(403, 3, "Authorization failed. Missing scope: pins:write_secret")
    problem = _check_text(body)
    if problem is not None:
        return problem
    media = _media_for(body.get("media_source"), token)
    if isinstance(media, Response):
        return media
    media_view, recorded = media
    store, now = core.store(), core.now()
    pin_id = str(store.next_number(NAME, "pin", start=1125968642301456201))
    pin = {
        "id": pin_id,
        "created_at": now.replace(tzinfo=None, microsecond=0).isoformat(),
        "link": body.get("link"),
        "title": body.get("title"),
        "description": body.get("description"),
        "dominant_color": body.get("dominant_color") or "#6E7874",
        "alt_text": body.get("alt_text"),
        "creative_type": {"video": "VIDEO", "multiple_images": "CAROUSEL"}.get(media_view["media_type"], "REGULAR"),
        "board_id": board_id,
        "board_section_id": body.get("board_section_id"),
        "board_owner": {"username": USER["username"]},
        "is_owner": True,
        "media": media_view,
        "parent_pin_id": None,
        "is_standard": True,
        "has_been_promoted": False,
        "note": body.get("note") or "",
        "pin_metrics": None,
    }
    store.put_object(NAME, "pin", pin_id, pin, now=now)
    for item in recorded:
        if item.get("media_id"):
            media_record = store.get_object(NAME, "media", item["media_id"]) or {}
            store.put_object(NAME, "media", item["media_id"], {**media_record, "used_by": pin_id}, now=now)
    store.record_post(
        NAME, account_id=token.account_id, platform_post_id=pin_id, text=body.get("description") or "", now=now,
        permalink=f"https://www.pinterest.com/pin/{pin_id}/", media=recorded,
        extra={"board_id": board_id, "title": body.get("title"), "link": body.get("link")},
    )
    core.after_create(NAME)
    response = jsonify(pin)
    response.status_code = 201
    return response


@api_route("/v5/pins/<pin_id>", methods=["GET"])
def get_pin(pin_id: str) -> Response:
    token = _access("boards:read", "pins:read")
    if isinstance(token, Response):
        return token
    pin = core.store().get_object(NAME, "pin", pin_id)
    post = core.store().post(NAME, pin_id)
    if pin is None or post is None:
        return pinterest_error(404, 50, "Pin not found.")
    if request.args.get("pin_metrics") == "true":
        values = core.metric_values(pin_id, post.created_at)
        # A sandbox pin is younger than 90 days, so its 90-day numbers are its lifetime numbers.
        pin = {**pin, "pin_metrics": {
            "90d": {"pin_click": values["clicks"], "impression": values["impressions"],
                    "clickthrough": values["clicks"] // 2},
            "lifetime_metrics": {"pin_click": values["clicks"], "impression": values["impressions"],
                                 "clickthrough": values["clicks"] // 2, "reaction": values["likes"],
                                 "comment": values["comments"]},
        }}
    return jsonify(pin)


ANALYTICS_METRICS = {
    "IMPRESSION": "impressions", "SAVE": "saves", "PIN_CLICK": "clicks", "OUTBOUND_CLICK": "clicks",
    "TOTAL_COMMENTS": "comments", "TOTAL_REACTIONS": "likes", "VIDEO_MRC_VIEW": "views", "VIDEO_START": "views",
    "VIDEO_10S_VIEW": "views", "QUARTILE_95_PERCENT_VIEW": "views", "VIDEO_V50_WATCH_TIME": "views",
    "VIDEO_AVG_WATCH_TIME": "views", "USER_FOLLOW": "shares", "PROFILE_VISIT": "shares", "SAVE_RATE": "saves",
}


def _metric(metric: str, values: dict[str, int]) -> float | int:
    if metric == "OUTBOUND_CLICK":
        return values["clicks"] // 2
    if metric == "SAVE_RATE":
        return round(values["saves"] / values["impressions"], 4) if values["impressions"] else 0
    if metric == "VIDEO_AVG_WATCH_TIME":
        return 7400 if values["views"] else 0
    return values[ANALYTICS_METRICS[metric]]


@api_route("/v5/pins/<pin_id>/analytics", methods=["GET"])
def pin_analytics(pin_id: str) -> Response:
    """[Pin analytics]: daily_metrics with data_status, summary_metrics, lifetime_metrics under the app type."""
    token = _access("boards:read", "pins:read")
    if isinstance(token, Response):
        return token
    post = core.store().post(NAME, pin_id)
    if post is None:
        return pinterest_error(404, 50, "Pin not found.")
    try:
        start = date.fromisoformat(request.args["start_date"])
        end = date.fromisoformat(request.args["end_date"])
    except (KeyError, ValueError):
        return pinterest_error(400, 1, "Invalid request: start_date and end_date (YYYY-MM-DD) are required.")
    today = core.now().date()
    if end < start or (today - start).days > MAX_ANALYTICS_DAYS or (end - start).days > MAX_ANALYTICS_DAYS:
        return pinterest_error(400, 1, "Invalid request: start_date must be within the last 90 days and the range "
                               "at most 90 days.")
    metrics = [m for m in request.args.get("metric_types", "").split(",") if m]
    if not metrics:
        return pinterest_error(400, 1, "Invalid request: metric_types is required.")
    unknown = [m for m in metrics if m not in ANALYTICS_METRICS]
    if unknown:
        return pinterest_error(400, 1, f"Invalid request: unknown metric type {unknown[0]}.")
    tz = post.created_at.tzinfo
    daily = []
    summary: dict[str, float | int] = {m: 0 for m in metrics}
    day = start
    while day <= end:
        day_start = datetime.combine(day, time.min, tzinfo=tz)
        day_end = min(day_start + timedelta(days=1), core.now())
        before = core.metric_values(pin_id, post.created_at, at=day_start)
        after = core.metric_values(pin_id, post.created_at, at=max(day_end, day_start))
        numbers = {m: max(0, _metric(m, after) - _metric(m, before)) if m != "SAVE_RATE" else _metric(m, after)
                   for m in metrics}
        # Today's numbers are still being counted; Pinterest marks them as not final.
        status = "READY" if day < today else ("ESTIMATE" if day == today else "PROCESSING")
        daily.append({"date": day.isoformat(), "data_status": status, "metrics": numbers})
        for m in metrics:
            if m != "SAVE_RATE":
                summary[m] += numbers[m]
        day += timedelta(days=1)
    lifetime = core.metric_values(pin_id, post.created_at)
    return jsonify({"all": {
        "daily_metrics": daily,
        "summary_metrics": summary,
        "lifetime_metrics": {"TOTAL_COMMENTS": lifetime["comments"], "TOTAL_REACTIONS": lifetime["likes"]},
    }})


# -- video upload ([Register media]) ---------------------------------------------------------------------------


def _media_status(media: dict[str, Any]) -> str:
    if media["status"] == "processing":
        ready_at = datetime.fromisoformat(media["uploaded_at"]) + VIDEO_PROCESSING
        return "succeeded" if core.now() >= ready_at else "processing"
    return str(media["status"])


@api_route("/v5/media", methods=["POST"])
def register_media() -> Response:
    token = _access("pins:write")
    if isinstance(token, Response):
        return token
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or body.get("media_type") != "video":
        return pinterest_error(400, 1, "Invalid request: media_type must be video.")
    refused = _no_video_in_sandbox()
    if refused is not None:
        return refused
    store, now = core.store(), core.now()
    media_id = str(store.next_number(NAME, "media", start=5071139472003489001))
    key = f"uploads/{USER['id'][-6:]}/{media_id}"
    parameters = {
        "x-amz-date": now.strftime("%Y%m%dT%H%M%SZ"),
        "x-amz-signature": secrets.token_hex(32),
        "x-amz-security-token": secrets.token_urlsafe(48),
        "x-amz-algorithm": "AWS4-HMAC-SHA256",
        "key": key,
        "policy": base64.b64encode(f'{{"expiration":"{(now + timedelta(hours=1)).isoformat()}"}}'.encode()).decode(),
        "x-amz-credential": f"ASIASANDBOX/{now:%Y%m%d}/us-east-1/s3/aws4_request",
        "Content-Type": "multipart/form-data",
    }
    store.put_object(NAME, "media", media_id, {"owner": token.account_id, "status": "registered",
                                               "parameters": parameters}, now=now)
    store.put_object(NAME, "upload_key", key, {"media_id": media_id}, now=now)
    response = jsonify({"media_id": media_id, "media_type": "video", "upload_url": f"https://{UPLOAD_HOST}/",
                        "upload_parameters": parameters})
    response.status_code = 201
    return response


def _s3_error(status: int, code: str, message: str) -> Response:
    xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
           f"<RequestId>{secrets.token_hex(8).upper()}</RequestId></Error>")
    return Response(xml, status=status, mimetype="application/xml")


@bp.post(f"/{UPLOAD_HOST}/")
def s3_upload() -> Response:
    """The storage bucket: a browser-style POST policy upload. A bearer token here is refused ([Register media])."""
    if request.headers.get("Authorization"):
        return _s3_error(400, "InvalidArgument", "Only one auth mechanism allowed; only the X-Amz-Algorithm "
                         "form field or the Authorization header is supported")
    key = request.form.get("key", "")
    mapping = core.store().get_object(NAME, "upload_key", key) if key else None
    media = core.store().get_object(NAME, "media", mapping["media_id"]) if mapping else None
    if mapping is None or media is None:
        return _s3_error(403, "AccessDenied", "Invalid according to Policy: Policy Condition failed: key")
    for field, expected in media["parameters"].items():
        if request.form.get(field) != expected:
            return _s3_error(403, "AccessDenied", f"Invalid according to Policy: Policy Condition failed: {field}")
    upload = request.files.get("file")
    if upload is None:
        return _s3_error(400, "InvalidArgument", "POST requires exactly one file upload per request.")
    data = upload.read()
    if not data:
        return _s3_error(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size")
    if media["status"] != "registered":
        return _s3_error(403, "AccessDenied", "Request has expired")
    mime = upload.mimetype or "application/octet-stream"
    now = core.now()
    # A file that is not a video fails Pinterest's processing, as the real service reports it.
    status = "processing" if mime.startswith("video/") else "failed"
    core.store().put_object(NAME, "media", mapping["media_id"], {
        **media, "status": status, "uploaded_at": now.isoformat(), "bytes": len(data), "mime_type": mime,
    }, now=now)
    return Response(status=204)


@api_route("/v5/media/<media_id>", methods=["GET"])
def media_status(media_id: str) -> Response:
    token = _access("pins:read")
    if isinstance(token, Response):
        return token
    media = core.store().get_object(NAME, "media", media_id)
    if media is None or media["owner"] != token.account_id:
        return pinterest_error(404, 50, "Media not found.")
    return jsonify({"media_id": media_id, "media_type": "video", "status": _media_status(media)})
