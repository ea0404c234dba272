"""Sandbox stand-in for X (API v2 with OAuth 2.0 user context).

Rules follow X's documentation (docs.x.com), cited below by the names in brackets:
- [OAuth 2.0 PKCE] https://docs.x.com/fundamentals/authentication/oauth-2-0/user-access-token: PKCE required
  (S256 or plain), confidential clients authenticate with HTTP Basic only, access tokens 2 h, refresh tokens only
  with offline.access (rotated on every use: observed, and noted in X's docs only in passing).
- [Authorization code] https://docs.x.com/fundamentals/authentication/oauth-2-0/authorization-code: codes live
  30 s and work once.
- [Errors] https://docs.x.com/x-api/fundamentals/response-codes-and-errors: problem-JSON errors.
- [Rate limits] https://docs.x.com/x-api/fundamentals/rate-limits
- [Counting characters] https://docs.x.com/fundamentals/counting-characters: 280 weighted characters.
- [Media best practices] https://docs.x.com/x-api/media/quickstart/best-practices: at most 4 photos or 1 video
  or 1 GIF.
- [Chunked upload] https://docs.x.com/x-api/media/quickstart/media-upload-chunked: asynchronous processing.
- [Metrics] https://docs.x.com/x-api/fundamentals/metrics: public and non-public metrics.
- [OpenAPI] https://api.x.com/2/openapi.json: request and response shapes.
Duplicate text is refused with a 403: observed, not documented.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, jsonify, request

from stella.providers.rules import count_x_weighted
from stella.sandbox import core, oauth
from stella.sandbox.store import Client, Token

NAME = "x"
ACCESS_TTL = timedelta(hours=2)  # [OAuth 2.0 PKCE]
REFRESH_TTL = timedelta(days=180)  # not documented by X; long enough never to matter in a demo
CODE_TTL = timedelta(seconds=30)  # [Authorization code]: the code expires 30 s after it is issued
MAX_WEIGHTED = 280
MAX_IMAGE_BYTES = 5 * 1024 * 1024  # [Media best practices]
MAX_GIF_BYTES = 15 * 1024 * 1024
MAX_VIDEO_BYTES = 512 * 1024 * 1024
KNOWN_SCOPES = frozenset({
    "tweet.read", "tweet.write", "tweet.moderate.write", "users.read", "follows.read", "follows.write",
    "offline.access", "space.read", "mute.read", "mute.write", "like.read", "like.write", "list.read",
    "list.write", "block.read", "block.write", "bookmark.read", "bookmark.write", "media.write",
})
# [OAuth 2.0 PKCE]: an empty or unknown scope sends the user back with invalid_scope.
INVALID_SCOPE = oauth.Refusal("Requested scope is invalid", "invalid_scope")
CREATE_FIELDS = frozenset({"text", "media", "reply", "reply_settings", "poll", "quote_tweet_id", "community_id",
                           "made_with_ai", "paid_partnership", "for_super_followers_only", "nullcast",
                           "direct_message_deep_link", "geo", "card_uri", "share_with_followers"})
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif", "image/bmp", "image/pjpeg",
                         "image/tiff"})
VIDEO_TYPES = frozenset({"video/mp4", "video/webm", "video/mp2t", "video/quicktime"})

DEMO = {
    "id": "1577345010193158144",
    "username": "harborvine",
    "name": "Harbor & Vine Realty",
    "verified": False,
    "verified_type": "none",
    "description": "Coastal homes and honest advice. Open houses every weekend.",
    "created_at": "2022-10-04T16:20:11.000Z",
}

bp = Blueprint("sandbox_x", __name__)


# -- error shapes ([Errors]) ---------------------------------------------------------------------------------------


def _problem(status: int, title: str, detail: str, kind: str = "about:blank",
             headers: dict[str, str] | None = None, **extra: Any) -> Response:
    body: dict[str, Any] = {"title": title, "detail": detail, "type": kind, "status": status, **extra}
    return core.json_error(status, body, {"Content-Type": "application/problem+json", **(headers or {})})


def _invalid_request(message: str, parameter: str | None = None) -> Response:
    error: dict[str, Any] = {"message": message}
    if parameter:
        error["parameters"] = {parameter: []}
    return core.json_error(400, {
        "errors": [error],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.x.com/2/problems/invalid-request",
    })


def expired_token() -> Response:
    return _problem(401, "Unauthorized", "Unauthorized")


def rate_limited(retry_after: int = 60) -> Response:
    reset = int(core.now().timestamp()) + retry_after
    return _problem(429, "Too Many Requests", "Too Many Requests", headers={
        "x-rate-limit-limit": "100", "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)})


def rejection(reason: str = "rejected") -> Response:
    if reason == "duplicate":
        return _problem(403, "Forbidden", "You are not allowed to create a Tweet with duplicate content.")
    return _problem(403, "Forbidden", f"You are not permitted to perform this action ({reason}).")


def server_error(status: int = 503) -> Response:
    return _problem(status, "Service Unavailable" if status == 503 else "Internal Server Error",
                    "Service Unavailable" if status == 503 else "Internal Server Error")


PLATFORM = core.SandboxPlatform(
    name=NAME, display_name="X", blueprint=bp, hosts=("x.com", "twitter.com", "api.x.com", "api.twitter.com"),
    color="#000000", expired_token=expired_token, rate_limited=rate_limited, rejection=rejection,
    server_error=server_error,
    demo_notes="Signs in as @harborvine. PKCE is required and the authorization code lives 30 seconds.",
)


# -- helpers ---------------------------------------------------------------------------------------------------------


def _rate_headers(response: Response, limit: int = 100) -> Response:
    # [Rate limits]: every answer carries the per-endpoint window (15 minutes).
    reset = int(core.now().timestamp()) + 900
    response.headers["x-rate-limit-limit"] = str(limit)
    response.headers["x-rate-limit-remaining"] = str(limit - 1)
    response.headers["x-rate-limit-reset"] = str(reset)
    return response


def _authorized(*scopes: str) -> Token | Response:
    """The live token behind the Bearer header holding `scopes`, or X's answer refusing the call."""
    value = core.bearer_token()
    token = core.store().token(NAME, value) if value else None
    if token is None or token.revoked_at is not None or token.access_expired(core.now()):
        return expired_token()
    missing = [s for s in scopes if s not in token.scopes]
    if missing:
        return _problem(
            403, "Forbidden", "You are not permitted to perform this action.",
            "https://api.x.com/2/problems/not-authorized-for-resource", resource_type="scope",
            section="data", value=",".join(missing),
        )
    return token


def _snowflake() -> str:
    # x ids are 64-bit snowflakes: time in the high bits, a sequence below.
    millis = int(core.now().timestamp() * 1000) - 1288834974657
    return str((millis << 22) | (core.store().next_number(NAME, "snowflake") % 4096))


def _user_json(fields: set[str]) -> dict[str, Any]:
    data = {"id": DEMO["id"], "name": DEMO["name"], "username": DEMO["username"]}
    for field in fields & {"verified", "verified_type", "description", "created_at"}:
        data[field] = DEMO[field]
    if "profile_image_url" in fields:  # real ones live on pbs.twimg.com: the sandbox serves its own
        data["profile_image_url"] = core.avatar_url(NAME, str(DEMO["name"]))
    return data


def _token_json(token: Token) -> dict[str, Any]:
    body: dict[str, Any] = {
        "token_type": "bearer",
        "expires_in": token.expires_in,
        "access_token": token.access_token,
        "scope": " ".join(token.scopes),
    }
    if token.refresh_token:
        body["refresh_token"] = token.refresh_token
    return body


# -- OAuth 2.0 ([OAuth 2.0 PKCE]) -----------------------------------------------------------------------------------


@bp.route("/<any('x.com', 'twitter.com'):host>/i/oauth2/authorize", methods=["GET", "POST"])
def authorize(host: str) -> Response:
    consent = oauth.check_consent_request(
        PLATFORM,
        unknown_client=oauth.Refusal("Something went wrong. You weren't able to give access to the App."),
        redirect_mismatch=oauth.Refusal("Something went wrong. You weren't able to give access to the App. "
                                        "(redirect_uri does not match the registered callback URL)"),
        bad_response_type=None,  # reported below with the other problems, after the scopes
        check_scopes=oauth.known_scopes(KNOWN_SCOPES, unknown=INVALID_SCOPE, missing=INVALID_SCOPE),
    )
    if isinstance(consent, Response):
        return consent
    args, state = request.args, consent.state
    problems = []
    if args.get("response_type") != "code":
        problems.append("response_type must be code")
    if not state or len(state) > 500:
        problems.append("state is required (at most 500 characters)")
    if not args.get("code_challenge"):
        problems.append("code_challenge is required")
    if args.get("code_challenge_method", "plain") not in ("S256", "plain"):
        problems.append("code_challenge_method must be S256 or plain")
    if problems:
        return oauth.redirect_error(consent.redirect_uri, state, "invalid_request", "; ".join(problems))
    return consent.page(
        account_id=str(DEMO["id"]), account_label=f"{DEMO['name']} (@{DEMO['username']})",
        code_challenge=args.get("code_challenge"), code_challenge_method=args.get("code_challenge_method", "plain"),
        code_ttl=CODE_TTL,
    )


def _client() -> Client | Response:
    """[OAuth 2.0 PKCE]: a confidential client authenticates with HTTP Basic; secrets in the body are refused."""
    return oauth.authenticate_client(NAME, lambda problem: oauth.oauth_error(401, "unauthorized_client",
                                                                        "Missing valid authorization header"))


@bp.post("/<any('api.x.com', 'api.twitter.com'):host>/2/oauth2/token")
def token(host: str) -> Response:
    client = _client()
    if isinstance(client, Response):
        return client
    form = request.form
    grant = form.get("grant_type")
    now = core.now()
    if grant == "authorization_code":
        code, reason = core.store().consume_code(NAME, form.get("code", ""), now=now)
        if code is None or reason or code.client_id != client.client_id:
            return oauth.oauth_error(400, "invalid_request", "Value passed for the authorization code was invalid.")
        if form.get("redirect_uri") != code.redirect_uri:
            return oauth.oauth_error(400, "invalid_request", "Value passed for the redirect uri did not match the uri "
                                                        "of the authorization code.")
        if not core.verify_pkce(form.get("code_verifier"), code.code_challenge, code.code_challenge_method):
            return oauth.oauth_error(400, "invalid_request", "Value passed for the code verifier did not match the "
                                                        "code challenge.")
        issued = core.store().issue_token(
            NAME, client_id=client.client_id, account_id=code.account_id, scopes=code.scopes, now=now,
            access_ttl=ACCESS_TTL, refresh_ttl=REFRESH_TTL,
            with_refresh="offline.access" in code.scopes,  # [OAuth 2.0 PKCE]: refresh only with offline.access
        )
        return jsonify(_token_json(issued))
    if grant == "refresh_token":
        old = core.store().token_by_refresh(NAME, form.get("refresh_token", ""))
        if (old is None or old.client_id != client.client_id or old.revoked_at is not None
                or old.replaced_at is not None or old.refresh_expired(now)):
            return oauth.oauth_error(400, "invalid_request", "Value passed for the token was invalid.")
        # Refresh tokens rotate; the one just used stops working (observed; see the module docstring).
        core.store().mark_replaced(NAME, old.refresh_token or "", now=now)
        issued = core.store().issue_token(
            NAME, client_id=client.client_id, account_id=old.account_id, scopes=old.scopes, now=now,
            access_ttl=ACCESS_TTL, refresh_ttl=REFRESH_TTL,
        )
        return jsonify(_token_json(issued))
    return oauth.oauth_error(400, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token")


@bp.post("/<any('api.x.com', 'api.twitter.com'):host>/2/oauth2/revoke")
def revoke(host: str) -> Response:
    client = _client()
    if isinstance(client, Response):
        return client
    value = request.form.get("token", "")
    if not value:
        return oauth.oauth_error(400, "invalid_request", "Missing required parameter [token].")
    core.store().revoke(NAME, value, now=core.now())
    return jsonify({"revoked": True})


# -- users ---------------------------------------------------------------------------------------------------------


@bp.get("/api.x.com/2/users/me")
def users_me() -> Response:
    token = _authorized("users.read", "tweet.read")
    if isinstance(token, Response):
        return token
    fields = set(request.args.get("user.fields", "").split(","))
    return _rate_headers(jsonify({"data": _user_json(fields)}), limit=75)


@bp.get("/api.x.com/2/users/<user_id>/tweets")
def user_tweets(user_id: str) -> Response:
    token = _authorized("tweet.read", "users.read")
    if isinstance(token, Response):
        return token
    try:
        limit = int(request.args.get("max_results", "10"))
    except ValueError:
        return _invalid_request("The `max_results` query parameter value is not valid", "max_results")
    if not 5 <= limit <= 100:
        return _invalid_request(f"The `max_results` query parameter value [{limit}] is not between 5 and 100",
                                "max_results")
    posts = [p for p in core.store().posts(NAME) if p.account_id == user_id][::-1][:limit]
    data = [{"id": p.platform_post_id, "text": _stored_text(p.extra, p.text),
             "edit_history_tweet_ids": [p.platform_post_id]} for p in posts]
    meta: dict[str, Any] = {"result_count": len(data)}
    if data:
        meta.update(newest_id=data[0]["id"], oldest_id=data[-1]["id"])
    return _rate_headers(jsonify({"data": data, "meta": meta} if data else {"meta": meta}))


def _stored_text(extra: dict[str, Any], text: str) -> str:
    return str(extra.get("display_text") or text)


# -- posts ([OpenAPI] POST /2/tweets) ----------------------------------------------------------------------------------


@bp.post("/api.x.com/2/tweets")
def create_post() -> Response:
    token = _authorized("tweet.write", "tweet.read", "users.read")
    if isinstance(token, Response):
        return token
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _invalid_request("Request body must be a JSON object")
    unknown = sorted(set(body) - CREATE_FIELDS)
    if unknown:  # [OpenAPI]: additionalProperties false
        return _invalid_request(f"The request has unexpected fields: [{', '.join(unknown)}]", unknown[0])
    text = body.get("text")
    media = body.get("media") or {}
    media_ids = media.get("media_ids") if isinstance(media, dict) else None
    if text is not None and not isinstance(text, str):
        return _invalid_request("`text` must be a string", "text")
    if not text and not media_ids:
        return _invalid_request("Post text is required when no media is attached", "text")
    if text and count_x_weighted(text) > MAX_WEIGHTED:
        return _problem(403, "Forbidden", "Your Tweet text is too long. For more information on how Twitter "
                                          "determines text length see https://github.com/twitter/twitter-text.")
    attached: list[dict[str, Any]] = []
    if media_ids is not None:
        if not isinstance(media_ids, list) or not 1 <= len(media_ids) <= 4:
            return _invalid_request("Your media IDs are invalid: media_ids must hold 1 to 4 ids", "media.media_ids")
        for media_id in media_ids:
            item = core.store().get_object(NAME, "media", str(media_id))
            if item is None or item["owner"] != token.account_id:
                return _invalid_request(f"Your media IDs are invalid: [{media_id}]", "media.media_ids")
            if item["state"] != "succeeded":
                return _invalid_request(f"Media [{media_id}] is not ready: processing is not complete",
                                        "media.media_ids")
            attached.append({"id": str(media_id), "kind": item["kind"], "type": item["media_type"],
                             "size": item["size"]})
        kinds = {a["kind"] for a in attached}
        if len(kinds) > 1 or (kinds & {"video", "gif"} and len(attached) > 1):
            # [Media best practices]: up to 4 photos, or 1 GIF, or 1 video.
            return _invalid_request("Your media IDs are invalid: you can attach up to 4 photos, or 1 video or "
                                    "GIF, in one post", "media.media_ids")
    text = text or ""
    for earlier in core.store().posts(NAME):
        if earlier.account_id == token.account_id and text and earlier.text == text:
            return rejection("duplicate")
    post_id = _snowflake()
    core.store().record_post(
        NAME, account_id=token.account_id, platform_post_id=post_id, text=text, now=core.now(),
        permalink=f"https://x.com/{DEMO['username']}/status/{post_id}", media=attached,
        extra={"display_text": _tco(text)},
    )
    core.after_create(NAME)
    response = jsonify({"data": {"id": post_id, "text": _tco(text), "edit_history_tweet_ids": [post_id]}})
    response.status_code = 201
    return _rate_headers(response)


def _tco(text: str) -> str:
    """X shows links as t.co links: reproduce that so clients never rely on their text coming back intact."""
    from stella.providers.rules import find_urls

    out, last = [], 0
    for start, end in find_urls(text):
        out.append(text[last:start])
        out.append("https://t.co/" + secrets.token_urlsafe(7)[:10])
        last = end
    out.append(text[last:])
    return "".join(out)


@bp.get("/api.x.com/2/tweets/<post_id>")
def get_post(post_id: str) -> Response:
    token = _authorized("tweet.read", "users.read")
    if isinstance(token, Response):
        return token
    post = core.store().post(NAME, post_id)
    if post is None:
        return _problem(404, "Not Found Error", f"Could not find tweet with id: [{post_id}].",
                        "https://api.x.com/2/problems/resource-not-found", resource_type="tweet",
                        resource_id=post_id, parameter="id", value=post_id)
    fields = set(request.args.get("tweet.fields", "").split(","))
    return _rate_headers(jsonify({"data": _post_json(post, token, fields)}))


@bp.get("/api.x.com/2/tweets")
def get_posts() -> Response:
    token = _authorized("tweet.read", "users.read")
    if isinstance(token, Response):
        return token
    ids = [i for i in request.args.get("ids", "").split(",") if i]
    if not 1 <= len(ids) <= 100:
        return _invalid_request("The `ids` query parameter value must hold 1 to 100 ids", "ids")
    fields = set(request.args.get("tweet.fields", "").split(","))
    data, errors = [], []
    for post_id in ids:
        post = core.store().post(NAME, post_id)
        if post is None:
            errors.append({"value": post_id, "detail": f"Could not find tweet with ids: [{post_id}].",
                           "title": "Not Found Error", "resource_type": "tweet", "parameter": "ids",
                           "resource_id": post_id, "type": "https://api.x.com/2/problems/resource-not-found"})
        else:
            data.append(_post_json(post, token, fields))
    body: dict[str, Any] = {}
    if data:
        body["data"] = data
    if errors:  # [Errors]: a 200 can carry data and errors together
        body["errors"] = errors
    return _rate_headers(jsonify(body))


def _post_json(post: Any, token: Token, fields: set[str]) -> dict[str, Any]:
    """[Metrics]: public metrics for anyone; non-public and organic only for the author, within 30 days."""
    values = core.metric_values(post.platform_post_id, post.created_at)
    data: dict[str, Any] = {"id": post.platform_post_id, "text": _stored_text(post.extra, post.text),
                            "edit_history_tweet_ids": [post.platform_post_id]}
    if "created_at" in fields:
        data["created_at"] = post.created_at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if "public_metrics" in fields:
        data["public_metrics"] = {
            "retweet_count": values["shares"], "reply_count": values["comments"], "like_count": values["likes"],
            "quote_count": values["quotes"], "bookmark_count": values["saves"],
            "impression_count": values["impressions"],
        }
    own = post.account_id == token.account_id and core.now() - post.created_at <= timedelta(days=30)
    if own and "non_public_metrics" in fields:
        data["non_public_metrics"] = {
            "impression_count": values["impressions"], "url_link_clicks": values["clicks"],
            "user_profile_clicks": values["clicks"] // 4, "engagements": values["engagement"] + values["clicks"],
        }
    if own and "organic_metrics" in fields:
        data["organic_metrics"] = {
            "impression_count": values["impressions"], "like_count": values["likes"],
            "reply_count": values["comments"], "retweet_count": values["shares"],
            "url_link_clicks": values["clicks"], "user_profile_clicks": values["clicks"] // 4,
        }
    return data


# -- media upload ([Chunked upload], [OpenAPI]) ------------------------------------------------------------------------


def _media_kind(media_type: str, category: str) -> str:
    if category.endswith("gif") or (media_type == "image/gif" and category != "tweet_image"):
        return "gif"
    return "video" if media_type.startswith("video/") else "image"


@bp.post("/api.x.com/2/media/upload")
def upload_one_shot() -> Response:
    token = _authorized("media.write")
    if isinstance(token, Response):
        return token
    unknown = sorted((set(request.form) | set(request.files)) - {"media", "media_category", "additional_owners"})
    if unknown:  # [OpenAPI] MediaUploadRequest: additionalProperties false
        return _invalid_request(f"The request has unexpected fields: [{', '.join(unknown)}]", unknown[0])
    upload = request.files.get("media")
    category = request.form.get("media_category", "")
    if upload is None:
        return _invalid_request("The `media` field is required", "media")
    if category not in ("tweet_image", "tweet_gif", "dm_image", "dm_gif", "subtitles"):
        return _invalid_request("The `media_category` field must be tweet_image for a one-shot upload",
                                "media_category")
    data = upload.read()
    media_type = upload.mimetype or "application/octet-stream"
    if media_type not in IMAGE_TYPES and media_type != "application/octet-stream":
        return _invalid_request(f"Unsupported media type {media_type}", "media")
    if len(data) > (MAX_GIF_BYTES if category.endswith("gif") else MAX_IMAGE_BYTES):
        return _invalid_request("File size exceeds 5242880 bytes.", "media")
    media_id = _snowflake()
    core.store().put_object(NAME, "media", media_id, {
        "owner": token.account_id, "kind": _media_kind(media_type, category), "media_type": media_type,
        "size": len(data), "total_bytes": len(data), "state": "succeeded", "segments": {}, "polls": 0,
    }, now=core.now())
    return jsonify({"data": {"id": media_id, "media_key": f"3_{media_id}", "size": len(data),
                             "expires_after_secs": 86400, "image": {"image_type": media_type, "w": 1200, "h": 800}}})


@bp.post("/api.x.com/2/media/upload/initialize")
def upload_initialize() -> Response:
    token = _authorized("media.write")
    if isinstance(token, Response):
        return token
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _invalid_request("Request body must be a JSON object")
    media_type = str(body.get("media_type") or "")
    category = str(body.get("media_category") or "")
    total = body.get("total_bytes")
    if media_type not in IMAGE_TYPES | VIDEO_TYPES:
        return _invalid_request(f"Unsupported media_type [{media_type}]", "media_type")
    if not isinstance(total, int) or total <= 0:
        return _invalid_request("`total_bytes` is required", "total_bytes")
    kind = _media_kind(media_type, category)
    limit = {"video": MAX_VIDEO_BYTES, "gif": MAX_GIF_BYTES, "image": MAX_IMAGE_BYTES}[kind]
    if total > limit:
        return _invalid_request(f"File size exceeds {limit} bytes.", "total_bytes")
    media_id = _snowflake()
    core.store().put_object(NAME, "media", media_id, {
        "owner": token.account_id, "kind": kind, "media_type": media_type, "size": 0, "total_bytes": total,
        "state": "uploading", "segments": {}, "polls": 0,
    }, now=core.now())
    return jsonify({"data": {"id": media_id, "media_key": f"7_{media_id}", "expires_after_secs": 86400}})


def _owned_media(media_id: str, token: Token) -> dict[str, Any] | Response:
    item = core.store().get_object(NAME, "media", media_id)
    if item is None or item["owner"] != token.account_id:
        return _invalid_request(f"Invalid media id [{media_id}]", "media_id")
    return item


@bp.post("/api.x.com/2/media/upload/<media_id>/append")
def upload_append(media_id: str) -> Response:
    token = _authorized("media.write")
    if isinstance(token, Response):
        return token
    item = _owned_media(media_id, token)
    if isinstance(item, Response):
        return item
    if item["state"] != "uploading":
        return _invalid_request("This upload was already finalized", "media_id")
    try:
        index = int(request.form.get("segment_index", ""))
    except ValueError:
        return _invalid_request("`segment_index` is required", "segment_index")
    chunk = request.files.get("media")
    if chunk is None or not 0 <= index <= 999:
        return _invalid_request("`media` and a `segment_index` between 0 and 999 are required", "segment_index")
    item["segments"][str(index)] = len(chunk.read())
    core.store().put_object(NAME, "media", media_id, item, now=core.now())
    return jsonify({"data": {"expires_at": int(core.now().timestamp()) + 86400}})


@bp.post("/api.x.com/2/media/upload/<media_id>/finalize")
def upload_finalize(media_id: str) -> Response:
    token = _authorized("media.write")
    if isinstance(token, Response):
        return token
    item = _owned_media(media_id, token)
    if isinstance(item, Response):
        return item
    received = sum(item["segments"].values())
    if item["state"] == "uploading":
        if received != item["total_bytes"]:
            return _invalid_request(
                f"Segments do not add up to provided total file size ({received} of {item['total_bytes']}).",
                "media_id")
        item.update(size=received, state="pending" if item["kind"] in ("video", "gif") else "succeeded")
        core.store().put_object(NAME, "media", media_id, item, now=core.now())
    return jsonify({"data": _media_status(media_id, item)})


@bp.get("/api.x.com/2/media/upload")
def upload_status() -> Response:
    token = _authorized("media.write")
    if isinstance(token, Response):
        return token
    if request.args.get("command", "STATUS") != "STATUS":
        return _invalid_request("`command` must be STATUS", "command")
    media_id = request.args.get("media_id", "")
    item = _owned_media(media_id, token)
    if isinstance(item, Response):
        return item
    # Processing advances one step per status call: pending -> in_progress -> succeeded.
    if item["state"] in ("pending", "in_progress"):
        item["polls"] += 1
        item["state"] = "in_progress" if item["polls"] < 2 else "succeeded"
        core.store().put_object(NAME, "media", media_id, item, now=core.now())
    return jsonify({"data": _media_status(media_id, item)})


def _media_status(media_id: str, item: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {"id": media_id, "media_key": f"7_{media_id}", "size": item["size"],
                            "expires_after_secs": 86400}
    if item["kind"] in ("video", "gif"):
        info: dict[str, Any] = {"state": item["state"]}
        if item["state"] in ("pending", "in_progress"):
            info.update(check_after_secs=1, progress_percent=50 if item["state"] == "in_progress" else 0)
        elif item["state"] == "succeeded":
            info["progress_percent"] = 100
        data["processing_info"] = info
        data["video"] = {"video_type": item["media_type"]}
    return data
