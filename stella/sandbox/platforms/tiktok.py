"""Sandbox stand-in for TikTok (Login Kit v2 and the Content Posting API).

Rules follow TikTok's documentation (developers.tiktok.com), cited below by the names in brackets:
- [Login Kit for Web] https://developers.tiktok.com/doc/login-kit-web: `client_key` instead of client_id,
  comma-separated scopes.
- [Token management] https://developers.tiktok.com/doc/oauth-user-access-token-management: client_key and
  client_secret in the form body, single-use codes.
- [Refresh a token] https://developers.tiktok.com/docs/en/oauth-refresh-a-user-access-token: 2-hour access tokens
  and 180-day refresh tokens that rotate (the newer page; an older one said 24 hours and 365 days).
- [Error handling] https://developers.tiktok.com/doc/tiktok-api-v2-error-handling:
  `{"data","error":{"code","message","log_id"}}` bodies; [OAuth errors] https://developers.tiktok.com/doc/oauth-error-handling
- [Creator info] https://developers.tiktok.com/doc/content-posting-api-reference-query-creator-info/: required
  before a direct post. [Direct Post] https://developers.tiktok.com/doc/content-posting-api-reference-direct-post
- [Media transfer] https://developers.tiktok.com/doc/content-posting-api-media-transfer-guide: FILE_UPLOAD chunk
  rules and in-order Content-Range uploads.
- [Photo post] https://developers.tiktok.com/doc/content-posting-api-reference-photo-post: photos pulled only
  from verified URL prefixes; no text-only posts.
- [Post status] https://developers.tiktok.com/doc/content-posting-api-reference-get-video-status: asynchronous
  status with the misspelt `publicaly_available_post_id`.
- [Video query] https://developers.tiktok.com/doc/tiktok-api-v2-video-query: per-video metrics.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, jsonify, request

from stella.providers.rules import count_utf16
from stella.sandbox import core, oauth
from stella.sandbox.store import Client, Token

NAME = "tiktok"
ACCESS_TTL = timedelta(hours=2)  # [Refresh a token], newer page
REFRESH_TTL = timedelta(days=180)
CODE_TTL = timedelta(minutes=5)
MAX_CAPTION = 2200  # [Direct Post], UTF-16 units
MAX_PHOTO_TITLE, MAX_PHOTO_DESCRIPTION, MAX_PHOTOS = 90, 4000, 35
MIN_CHUNK, MAX_CHUNK, MAX_LAST_CHUNK = 5 * 1024 * 1024, 64 * 1024 * 1024, 128 * 1024 * 1024
KNOWN_SCOPES = frozenset({"user.info.basic", "user.info.profile", "user.info.stats", "video.publish",
                          "video.upload", "video.list"})
PRIVACY_OPTIONS = ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY"]
# Photo URLs must be on a prefix verified in the developer portal ([Photo post]).
VERIFIED_PREFIXES = ("https://media.harborvine.example/",)
VIDEO_TYPES = frozenset({"video/mp4", "video/quicktime", "video/webm"})
USER_FIELDS = frozenset({"open_id", "union_id", "avatar_url", "avatar_url_100", "avatar_large_url", "display_name",
                         "bio_description", "profile_deep_link", "is_verified", "username", "follower_count",
                         "following_count", "likes_count", "video_count"})
PROFILE_FIELDS = frozenset({"bio_description", "profile_deep_link", "is_verified", "username"})
STATS_FIELDS = frozenset({"follower_count", "following_count", "likes_count", "video_count"})

DEMO = {
    "open_id": "723f24d7-e717-40f8-a2b6-cb8464cd23b4",
    "union_id": "c9c60f44-a68e-4f5d-84dd-ce22faeb0ba1",
    "display_name": "Harbor & Vine Realty",
    "bio_description": "Coastal homes 🏡 Tours every Friday",
    "profile_deep_link": "https://vm.tiktok.com/ZMharborvine/",
    "is_verified": False,
    "username": "harborvinerealty",
    "follower_count": 4821,
    "following_count": 112,
    "likes_count": 60213,
    "video_count": 87,
}

AVATAR_FIELDS = ("avatar_url", "avatar_url_100", "avatar_large_url")


def _avatar() -> str:
    # Real ones live on tiktokcdn: the sandbox serves its own.
    return core.avatar_url(NAME, str(DEMO["display_name"]))


def _user() -> dict[str, Any]:
    """The demo user with its pictures, one per size field."""
    return {**DEMO, **dict.fromkeys(AVATAR_FIELDS, _avatar())}


bp = Blueprint("sandbox_tiktok", __name__)


# -- error shapes ([Error handling], [OAuth errors]) -------------------------------------------------------


def _log_id() -> str:
    return core.now().strftime("%Y%m%d%H%M%S") + secrets.token_hex(10).upper()


def api_error(status: int, code: str, message: str) -> Response:
    return core.json_error(status, {"data": {}, "error": {"code": code, "message": message, "log_id": _log_id()}})


def _ok(data: dict[str, Any], status: int = 200) -> Response:
    return core.json_error(status, {"data": data, "error": {"code": "ok", "message": "", "log_id": _log_id()}})


def _oauth_error(status: int, error: str, description: str) -> Response:
    # [OAuth errors]: the OAuth endpoints' RFC 6749 body carries a log_id too.
    return oauth.oauth_error(status, error, description, log_id=_log_id())


def expired_token() -> Response:
    return api_error(401, "access_token_invalid", "The access token is invalid or not found in the request.")


def rate_limited(retry_after: int = 60) -> Response:
    return api_error(429, "rate_limit_exceeded", "The API rate limit was exceeded. Please try again later.")


def rejection(reason: str = "rejected") -> Response:
    if reason in ("duplicate", "spam"):
        return api_error(403, "spam_risk_too_many_posts",
                         "The daily post cap from the API is reached for the current user.")
    return api_error(400, "invalid_params", f"The request was refused: {reason}")


def server_error(status: int = 503) -> Response:
    return api_error(500 if status == 500 else status, "internal_error",
                     "Something went wrong. Please try again later.")


PLATFORM = core.SandboxPlatform(
    name=NAME, display_name="TikTok", blueprint=bp,
    hosts=("www.tiktok.com", "open.tiktokapis.com", "open-upload.tiktokapis.com"),
    color="#010101", expired_token=expired_token, rate_limited=rate_limited, rejection=rejection,
    server_error=server_error,
    demo_notes="Signs in as @harborvinerealty. Videos only (or photos from media.harborvine.example).",
)


# -- helpers ---------------------------------------------------------------------------------------------------------


def _authorized(*scopes: str) -> Token | Response:
    value = core.bearer_token()
    token = core.store().token(NAME, value) if value else None
    if token is None or token.revoked_at is not None or token.access_expired(core.now()):
        return expired_token()
    if any(s not in token.scopes for s in scopes):
        return api_error(401, "scope_not_authorized",
                         "The user did not authorize the scope required for completing this request.")
    return token


def _token_json(token: Token) -> dict[str, Any]:
    return {
        "access_token": token.access_token,
        "expires_in": token.expires_in,
        "open_id": token.account_id,
        "refresh_expires_in": token.refresh_expires_in,
        "refresh_token": token.refresh_token,
        "scope": ",".join(token.scopes),
        "token_type": "Bearer",
    }


def _json_body() -> dict[str, Any] | Response:
    if not request.content_type or not request.content_type.startswith("application/json"):
        return api_error(400, "invalid_params", "Content-Type must be application/json; charset=UTF-8")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return api_error(400, "invalid_params", "The request body is not valid JSON.")
    return body


def _publish_id(prefix: str) -> str:
    return f"{prefix}~v2-1.{7_300_000_000_000_000_000 + core.store().next_number(NAME, 'publish')}"


def _video_id() -> str:
    return str(7_310_000_000_000_000_000 + int(core.now().timestamp()) * 1000 + core.store().next_number(NAME, "video"))


# -- OAuth ([Login Kit for Web], [Token management]) ---------------------------------------------------------------


@bp.route("/www.tiktok.com/v2/auth/authorize/", methods=["GET", "POST"])
def authorize() -> Response:
    if "client_id" in request.args and "client_key" not in request.args:
        return core.oauth_error_page(PLATFORM, "client_key is missing (TikTok calls the client id client_key).")
    invalid_scope = oauth.Refusal("The requested scope is invalid, unknown, or malformed (scopes are "
                                  "comma-separated).", "invalid_scope")
    consent = oauth.check_consent_request(
        PLATFORM,
        client_param="client_key",
        unknown_client=oauth.Refusal("Something went wrong: the client_key is not valid."),
        redirect_mismatch=oauth.Refusal("Something went wrong: redirect_uri does not match the registered "
                                        "redirect URI."),
        bad_response_type=oauth.Refusal("response_type must be code", "invalid_request"),
        scope_separator=",",  # [Login Kit for Web]: comma-separated
        check_scopes=oauth.known_scopes(KNOWN_SCOPES, unknown=invalid_scope, missing=invalid_scope),
    )
    if isinstance(consent, Response):
        return consent
    return consent.page(account_id=str(DEMO["open_id"]), code_ttl=CODE_TTL,
                        account_label=f"{DEMO['display_name']} (@{DEMO['username']})")


def _client() -> Client | Response:
    """[Token management]: client_key and client_secret travel in the form body."""
    return oauth.authenticate_client(
        NAME, lambda problem: _oauth_error(401, "invalid_client", "Client key or secret is incorrect."),
        styles=("body",), id_field="client_key",
    )


@bp.post("/open.tiktokapis.com/v2/oauth/token/")
def token() -> Response:
    if not (request.content_type or "").startswith("application/x-www-form-urlencoded"):
        return _oauth_error(400, "invalid_request", "The request parameters are malformed.")
    client = _client()
    if isinstance(client, Response):
        return client
    form = request.form
    now = core.now()
    grant = form.get("grant_type")
    if grant == "authorization_code":
        code, reason = core.store().consume_code(NAME, form.get("code", ""), now=now)
        if code is None or code.client_id != client.client_id:
            return _oauth_error(400, "invalid_grant", "Authorization code is invalid.")
        if reason == "used":
            return _oauth_error(400, "invalid_grant", "Authorization code has been used.")
        if reason == "expired":
            return _oauth_error(400, "invalid_grant", "Authorization code is expired.")
        if form.get("redirect_uri") != code.redirect_uri:
            return _oauth_error(400, "invalid_grant", "redirect_uri does not match the authorization request.")
        issued = core.store().issue_token(NAME, client_id=client.client_id, account_id=code.account_id,
                                          scopes=code.scopes, now=now, access_ttl=ACCESS_TTL, refresh_ttl=REFRESH_TTL,
                                          prefix="act.")
        return jsonify(_token_json(issued))
    if grant == "refresh_token":
        old = core.store().token_by_refresh(NAME, form.get("refresh_token", ""))
        if (old is None or old.client_id != client.client_id or old.revoked_at is not None
                or old.replaced_at is not None or old.refresh_expired(now)):
            return _oauth_error(400, "invalid_grant", "Refresh token is invalid or expired.")
        # [Refresh a token] (newer page): the refresh token rotates and the old one stops working.
        core.store().mark_replaced(NAME, old.refresh_token or "", now=now)
        issued = core.store().issue_token(NAME, client_id=client.client_id, account_id=old.account_id,
                                          scopes=old.scopes, now=now, access_ttl=ACCESS_TTL, refresh_ttl=REFRESH_TTL,
                                          prefix="act.")
        return jsonify(_token_json(issued))
    return _oauth_error(400, "unsupported_grant_type", "The authorization grant type is not supported.")


@bp.post("/open.tiktokapis.com/v2/oauth/revoke/")
def revoke() -> Response:
    client = _client()
    if isinstance(client, Response):
        return client
    value = request.form.get("token", "")
    if not value:
        return _oauth_error(400, "invalid_request", "The request parameters are malformed.")
    core.store().revoke(NAME, value, now=core.now())
    return Response(status=200)


# -- user info -------------------------------------------------------------------------------------------------------


@bp.get("/open.tiktokapis.com/v2/user/info/")
def user_info() -> Response:
    token = _authorized("user.info.basic")
    if isinstance(token, Response):
        return token
    fields = [f for f in request.args.get("fields", "").split(",") if f]
    unknown = [f for f in fields if f not in USER_FIELDS]
    if not fields or unknown:
        return api_error(400, "invalid_params", f"Invalid fields: {','.join(unknown) or '(none requested)'}")
    if (set(fields) & PROFILE_FIELDS and "user.info.profile" not in token.scopes) or (
            set(fields) & STATS_FIELDS and "user.info.stats" not in token.scopes):
        return api_error(401, "scope_not_authorized",
                         "The user did not authorize the scope required for completing this request.")
    user = _user()
    return _ok({"user": {f: user[f] for f in fields}})


# -- publishing ([Creator info], [Direct Post], [Media transfer], [Photo post]) ----------------------------------


@bp.post("/open.tiktokapis.com/v2/post/publish/creator_info/query/")
def creator_info() -> Response:
    token = _authorized("video.publish")
    if isinstance(token, Response):
        return token
    return _ok({
        "creator_avatar_url": _avatar(), "creator_username": DEMO["username"],
        "creator_nickname": DEMO["display_name"], "privacy_level_options": PRIVACY_OPTIONS,
        "comment_disabled": False, "duet_disabled": False, "stitch_disabled": False,
        "max_video_post_duration_sec": 600,
    })


def _check_post_info(info: Any, *, photo: bool) -> str | None:
    if not isinstance(info, dict):
        return "post_info is required"
    if info.get("privacy_level") not in PRIVACY_OPTIONS:
        return "privacy_level_option_mismatch"
    title = str(info.get("title") or "")
    if photo:
        if len(title) > MAX_PHOTO_TITLE:
            return f"title is longer than {MAX_PHOTO_TITLE} characters"
        if count_utf16(str(info.get("description") or "")) > MAX_PHOTO_DESCRIPTION:
            return f"description is longer than {MAX_PHOTO_DESCRIPTION} characters"
    elif count_utf16(title) > MAX_CAPTION:
        return f"title is longer than {MAX_CAPTION} UTF-16 runes"
    return None


def _post_info_error(problem: str) -> Response:
    if problem == "privacy_level_option_mismatch":
        return api_error(400, "privacy_level_option_mismatch",
                         "privacy_level is not one of the privacy_level_options returned by creator_info.")
    return api_error(400, "invalid_params", problem)


@bp.post("/open.tiktokapis.com/v2/post/publish/video/init/")
def video_init() -> Response:
    token = _authorized("video.publish")
    if isinstance(token, Response):
        return token
    body = _json_body()
    if isinstance(body, Response):
        return body
    problem = _check_post_info(body.get("post_info"), photo=False)
    if problem:
        return _post_info_error(problem)
    source = body.get("source_info") or {}
    kind = source.get("source")
    publish_id = _publish_id("v_pub_file" if kind == "FILE_UPLOAD" else "v_pub_url")
    job: dict[str, Any] = {"owner": token.account_id, "kind": "video", "post_info": body["post_info"],
                           "status": "PROCESSING_UPLOAD", "polls": 0, "uploaded_bytes": 0, "next_byte": 0}
    if kind == "FILE_UPLOAD":
        plan = _check_chunks(source)
        if isinstance(plan, Response):
            return plan
        job.update(video_size=source["video_size"], chunk_size=source["chunk_size"],
                   total_chunk_count=source["total_chunk_count"], upload_token=secrets.token_urlsafe(12))
        upload_id = str(core.store().next_number(NAME, "upload", start=67890))
        core.store().put_object(NAME, "upload", upload_id, {"publish_id": publish_id}, now=core.now())
        core.store().put_object(NAME, "publish", publish_id, job, now=core.now())
        url = (f"https://open-upload.tiktokapis.com/video/?upload_id={upload_id}"
               f"&upload_token={job['upload_token']}")
        return _ok({"publish_id": publish_id, "upload_url": url})
    if kind == "PULL_FROM_URL":
        url = str(source.get("video_url") or "")
        if not url.startswith(VERIFIED_PREFIXES):
            return api_error(403, "url_ownership_unverified",
                             "The domain or URL prefix of video_url is not verified for this app.")
        job.update(status="PROCESSING_DOWNLOAD", video_size=0)
        core.store().put_object(NAME, "publish", publish_id, job, now=core.now())
        _record(publish_id, job, media=[{"kind": "video", "url": url}])
        return _ok({"publish_id": publish_id})
    return api_error(400, "invalid_params", "source_info.source must be FILE_UPLOAD or PULL_FROM_URL")


def _check_chunks(source: dict[str, Any]) -> Response | None:
    """[Media transfer]: 5–64 MB chunks (a file under 5 MB is one chunk), count = floor(size / chunk_size)."""
    size, chunk, count = source.get("video_size"), source.get("chunk_size"), source.get("total_chunk_count")
    if not all(isinstance(v, int) and v > 0 for v in (size, chunk, count)):
        return api_error(400, "invalid_params", "video_size, chunk_size and total_chunk_count are required")
    size, chunk, count = int(str(size)), int(str(chunk)), int(str(count))
    if size < MIN_CHUNK:
        if chunk != size or count != 1:
            return api_error(400, "invalid_params", "A video under 5 MB must be uploaded as one chunk")
        return None
    if not MIN_CHUNK <= chunk <= MAX_CHUNK:
        return api_error(400, "invalid_params", "chunk_size must be between 5 MB and 64 MB")
    if count != size // chunk or not 1 <= count <= 1000:
        return api_error(400, "invalid_params", "total_chunk_count must be floor(video_size / chunk_size)")
    if size - chunk * (count - 1) > MAX_LAST_CHUNK:
        return api_error(400, "invalid_params", "The last chunk may be at most 128 MB")
    return None


@bp.put("/open-upload.tiktokapis.com/video/")
def upload_chunk() -> Response:
    upload = core.store().get_object(NAME, "upload", request.args.get("upload_id", ""))
    job = core.store().get_object(NAME, "publish", upload["publish_id"]) if upload else None
    if upload is None or job is None or request.args.get("upload_token") != job.get("upload_token"):
        return api_error(404, "invalid_params", "The upload URL is invalid or has expired.")
    if (request.content_type or "") not in VIDEO_TYPES:
        return api_error(400, "invalid_file_upload", "Content-Type must be video/mp4, video/quicktime or video/webm")
    match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", request.headers.get("Content-Range", ""))
    data = request.get_data()
    if not match:
        return api_error(400, "invalid_file_upload", "Content-Range is required: bytes {first}-{last}/{total}")
    first, last, total = (int(g) for g in match.groups())
    index = first // job["chunk_size"] if job["chunk_size"] else 0
    expected_last = job["video_size"] - 1 if index == job["total_chunk_count"] - 1 else first + job["chunk_size"] - 1
    if (total != job["video_size"] or first != job["next_byte"] or last != expected_last
            or len(data) != last - first + 1):
        return api_error(400, "invalid_file_upload",
                         f"Chunks must be uploaded in order with the declared sizes; expected bytes "
                         f"{job['next_byte']}-{expected_last}/{job['video_size']}")
    job.update(next_byte=last + 1, uploaded_bytes=last + 1)
    done = job["next_byte"] == job["video_size"]
    core.store().put_object(NAME, "publish", upload["publish_id"], job, now=core.now())
    if not done:
        return Response(status=206)
    _record(upload["publish_id"], job, media=[{"kind": "video", "size": job["video_size"],
                                               "type": request.content_type}])
    return Response(status=201)


@bp.post("/open.tiktokapis.com/v2/post/publish/content/init/")
def content_init() -> Response:
    token = _authorized("video.publish")
    if isinstance(token, Response):
        return token
    body = _json_body()
    if isinstance(body, Response):
        return body
    if body.get("media_type") != "PHOTO":
        return api_error(400, "invalid_params", "media_type must be PHOTO")
    if body.get("post_mode") not in ("DIRECT_POST", "MEDIA_UPLOAD"):
        return api_error(400, "invalid_params", "post_mode must be DIRECT_POST or MEDIA_UPLOAD")
    problem = _check_post_info(body.get("post_info"), photo=True)
    if problem:
        return _post_info_error(problem)
    source = body.get("source_info") or {}
    if source.get("source") != "PULL_FROM_URL":
        return api_error(400, "invalid_params", "Photos can only be posted with source PULL_FROM_URL")
    images = source.get("photo_images")
    if not isinstance(images, list) or not 1 <= len(images) <= MAX_PHOTOS:
        return api_error(400, "invalid_params", f"photo_images must hold 1 to {MAX_PHOTOS} URLs")
    if any(not str(url).startswith(VERIFIED_PREFIXES) for url in images):
        return api_error(403, "url_ownership_unverified",
                         "The domain or URL prefix of photo_images is not verified for this app.")
    cover = source.get("photo_cover_index", 0)
    if not isinstance(cover, int) or not 0 <= cover < len(images):
        return api_error(400, "invalid_params", "photo_cover_index is out of range")
    publish_id = _publish_id("p_pub_url")
    job = {"owner": token.account_id, "kind": "photo", "post_info": body["post_info"],
           "status": "PROCESSING_DOWNLOAD", "polls": 0, "uploaded_bytes": 0}
    core.store().put_object(NAME, "publish", publish_id, job, now=core.now())
    _record(publish_id, job, media=[{"kind": "image", "url": url} for url in images])
    return _ok({"publish_id": publish_id})


def _record(publish_id: str, job: dict[str, Any], media: list[dict[str, Any]]) -> None:
    """The post now exists at TikTok: store it (the ground truth) with its future public id."""
    video_id = _video_id()
    private = job["post_info"].get("privacy_level") == "SELF_ONLY"
    path = "photo" if job["kind"] == "photo" else "video"
    info = job["post_info"]
    core.store().record_post(
        NAME, account_id=job["owner"], platform_post_id=video_id, now=core.now(),
        text=str(info.get("description") if job["kind"] == "photo" else info.get("title") or ""),
        permalink=f"https://www.tiktok.com/@{DEMO['username']}/{path}/{video_id}", media=media,
        extra={"publish_id": publish_id, "privacy_level": info.get("privacy_level"), "private": private},
    )
    job.update(video_id=video_id, status="PROCESSING_UPLOAD" if job["kind"] == "video" else job["status"],
               complete=True)
    core.store().put_object(NAME, "publish", publish_id, job, now=core.now())
    core.after_create(NAME)


@bp.post("/open.tiktokapis.com/v2/post/publish/status/fetch/")
def status_fetch() -> Response:
    token = _authorized("video.publish")
    if isinstance(token, Response):
        return token
    body = _json_body()
    if isinstance(body, Response):
        return body
    publish_id = str(body.get("publish_id") or "")
    job = core.store().get_object(NAME, "publish", publish_id)
    if job is None or job["owner"] != token.account_id:
        return api_error(400, "invalid_params", "publish_id is invalid")
    data: dict[str, Any] = {"status": job["status"]}
    if job.get("complete"):
        # Moderation takes one more status call; a private post never gets a public id ([Post status]).
        job["polls"] += 1
        if job["polls"] >= 2:
            job["status"] = "PUBLISH_COMPLETE"
        core.store().put_object(NAME, "publish", publish_id, job, now=core.now())
        data["status"] = job["status"]
        public = job["status"] == "PUBLISH_COMPLETE" and job["post_info"].get("privacy_level") != "SELF_ONLY"
        data["publicaly_available_post_id"] = [int(job["video_id"])] if public else []
    if job["kind"] == "video":
        data["uploaded_bytes"] = job["uploaded_bytes"]
    else:
        data["downloaded_bytes"] = 0
    return _ok(data)


# -- metrics ([Video query]) ---------------------------------------------------------------------------------------

VIDEO_FIELDS = frozenset({"id", "create_time", "cover_image_url", "share_url", "video_description", "duration",
                          "height", "width", "title", "embed_html", "embed_link", "like_count", "comment_count",
                          "share_count", "view_count"})


@bp.post("/open.tiktokapis.com/v2/video/query/")
def video_query() -> Response:
    token = _authorized("video.list")
    if isinstance(token, Response):
        return token
    fields = [f for f in request.args.get("fields", "").split(",") if f]
    if not fields or any(f not in VIDEO_FIELDS for f in fields):
        return api_error(400, "invalid_params", "fields is missing or holds an unknown field")
    body = _json_body()
    if isinstance(body, Response):
        return body
    ids = ((body.get("filters") or {}).get("video_ids")) or []
    if not isinstance(ids, list) or not 1 <= len(ids) <= 20:
        return api_error(400, "invalid_params", "filters.video_ids must hold 1 to 20 ids")
    videos = []
    for video_id in ids:
        post = core.store().post(NAME, str(video_id))
        if post is None or post.account_id != token.account_id:
            continue
        values = core.metric_values(post.platform_post_id, post.created_at)
        full = {
            "id": post.platform_post_id, "create_time": int(post.created_at.timestamp()),
            "share_url": post.permalink, "video_description": post.text, "title": post.text[:150],
            "duration": 42, "height": 1920, "width": 1080, "cover_image_url": _avatar(),
            "embed_link": f"https://www.tiktok.com/player/v1/{post.platform_post_id}",
            "embed_html": f'<blockquote class="tiktok-embed" data-video-id="{post.platform_post_id}"></blockquote>',
            "view_count": values["views"], "like_count": values["likes"], "comment_count": values["comments"],
            "share_count": values["shares"],
        }
        videos.append({f: full[f] for f in fields})
    return _ok({"videos": videos, "cursor": 0, "has_more": False})
