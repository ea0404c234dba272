"""Sandbox stand-in for YouTube, and for the Google sign-in both Google platforms share.

Rules follow Google's documentation, cited below by the names in brackets:
- [Google OAuth] https://developers.google.com/identity/protocols/oauth2/web-server
- [videos.insert] https://developers.google.com/youtube/v3/docs/videos/insert
- [Video resource] https://developers.google.com/youtube/v3/docs/videos
- [videos.list] https://developers.google.com/youtube/v3/docs/videos/list
- [Resumable uploads] https://developers.google.com/youtube/v3/guides/using_resumable_upload_protocol
- [YouTube errors] https://developers.google.com/youtube/v3/docs/errors
- [Analytics reports] https://developers.google.com/youtube/analytics/reference/reports/query
accounts.google.com and oauth2.googleapis.com serve YouTube *and* Google Business Profile: one host can only
belong to one sandbox platform, so Google's OAuth lives here and picks the platform from the client id
(`sandbox-youtube-id` or `sandbox-google_business-id`). The error envelope both share is in _google.py.

Google OAuth, checked strictly: registered redirect URI (exact), `response_type=code`, known scopes, optional
S256 PKCE verified when a challenge was sent, single-use codes that expire after 10 minutes, client secret in
the body or as HTTP Basic, refresh token only for `access_type=offline` (and again only with `prompt=consent`),
non-rotating refresh tokens, 1-hour access tokens, revoke. YouTube: channels.list, resumable videos.insert
(session URI, 308 Resume Incomplete, probing), videos.list with status/processingDetails/statistics, and the
Analytics reports.query per video — all with Google's error body.
"""

from __future__ import annotations

import re
import secrets
from datetime import date, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, jsonify, request

from stella.sandbox import core, oauth
from stella.sandbox.oauth import oauth_error
from stella.sandbox.platforms._google import GoogleFaults, google_access, google_error, invalid_credentials
from stella.sandbox.store import Client, Token

NAME = "youtube"
GOOGLE_PLATFORMS = ("youtube", "google_business")
ACCESS_TTL = timedelta(seconds=3599)  # [Google OAuth]: about an hour
CODE_TTL = timedelta(minutes=10)
SCOPE_PREFIX = "https://www.googleapis.com/auth/"
UPLOAD = f"{SCOPE_PREFIX}youtube.upload"
READONLY = f"{SCOPE_PREFIX}youtube.readonly"
YOUTUBE_FULL = (f"{SCOPE_PREFIX}youtube", f"{SCOPE_PREFIX}youtube.force-ssl")
ANALYTICS = f"{SCOPE_PREFIX}yt-analytics.readonly"
BUSINESS = f"{SCOPE_PREFIX}business.manage"
KNOWN_SCOPES = frozenset({
    UPLOAD, READONLY, *YOUTUBE_FULL, ANALYTICS, f"{SCOPE_PREFIX}yt-analytics-monetary.readonly", BUSINESS,
    f"{SCOPE_PREFIX}plus.business.manage", "openid", "email", "profile",
    f"{SCOPE_PREFIX}userinfo.email", f"{SCOPE_PREFIX}userinfo.profile",
})
MAX_TITLE_CHARS = 100  # [Video resource]
MAX_DESCRIPTION_BYTES = 5000
MAX_TAG_CHARS = 500
PROCESSING_TIME = timedelta(seconds=20)  # how long an uploaded video stays "uploaded" before "processed"
MAX_IDS = 50  # [videos.list] takes up to 50 ids
CATEGORIES = frozenset({"1", "2", "10", "15", "17", "19", "20", "22", "23", "24", "25", "26", "27", "28", "29"})
PRIVACY = frozenset({"public", "unlisted", "private"})
_VIDEO_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")
_PROBE = re.compile(r"^bytes \*/(\d+|\*)$")

# The demo Google account, and the channel picked on Google's consent screen (what `mine=true` returns).
GOOGLE_ACCOUNT = {"id": "108734562210987654321", "email": "social@harborvine.example", "name": "Maya Lindqvist"}
CHANNEL = {
    "id": "UCh4rb0rV1neR3alty0Bo5tn",
    "title": "Harbor & Vine Realty",
    "description": "Waterfront homes, open-house walkthroughs and neighborhood guides from Boston's harbor.",
    "customUrl": "@harborvinerealty",
    "publishedAt": "2019-04-11T15:02:37Z",
    "country": "US",
    "subscriberCount": "1840",
}

bp = Blueprint("sandbox_youtube", __name__)


# -- faults in YouTube's words ([YouTube errors]) ----------------------------------------------------------

FAULTS = GoogleFaults(
    rate_message="The request cannot be completed because you have exceeded your rate limit.",
    rate_reason="rateLimitExceeded",
    rate_domain="youtube.quota",
    rejection_message="The request metadata is invalid: {reason}.",
    rejection_reason="invalidVideoMetadata",
    rejection_domain="youtube.video",
    backend_reason="backendError",
)


PLATFORM = core.SandboxPlatform(
    name=NAME,
    display_name="YouTube",
    blueprint=bp,
    hosts=("accounts.google.com", "oauth2.googleapis.com", "www.googleapis.com", "youtubeanalytics.googleapis.com"),
    color="#FF0000",
    expired_token=invalid_credentials,
    rate_limited=FAULTS.rate_limited,
    rejection=FAULTS.rejection,
    server_error=FAULTS.server_error,
    demo_notes=f"Signs in as {GOOGLE_ACCOUNT['email']}; channel {CHANNEL['customUrl']}. Google sign-in here also "
    "serves Google Business Profile.",
)


# -- Google OAuth (shared with Google Business Profile) ----------------------------------------------------


@bp.route("/accounts.google.com/o/oauth2/v2/auth", methods=["GET", "POST"])
def google_authorize() -> Response:
    """Google's consent screen. Client and redirect problems are shown on Google's page, never redirected."""
    consent = oauth.check_consent_request(
        PLATFORM,
        # The client id says which platform is signing in (`sandbox-youtube-id`, `sandbox-google_business-id`).
        lookup=lambda client_id: oauth.find_client(GOOGLE_PLATFORMS, client_id),
        unknown_client=oauth.Refusal("Error 401: invalid_client — The OAuth client was not found.", status=401),
        redirect_mismatch=oauth.Refusal("Error 400: redirect_uri_mismatch — The redirect URI in the request does "
                                        "not match the ones authorized for the OAuth client."),
        bad_response_type=oauth.Refusal("Error 400: invalid_request — Invalid response_type: {value}."),
        scope_separator=None,
        check_scopes=oauth.known_scopes(
            KNOWN_SCOPES,
            unknown=oauth.Refusal("Error 400: invalid_scope — Some requested scopes were invalid: {value}"),
            missing=oauth.Refusal("Error 400: invalid_request — Missing required parameter: scope"),
        ),
    )
    if isinstance(consent, Response):
        return consent
    args = request.args
    challenge = args.get("code_challenge")
    method = args.get("code_challenge_method") or ("plain" if challenge else None)
    if challenge and method not in ("S256", "plain"):
        return core.oauth_error_page(consent.platform, "Error 400: invalid_request — Invalid code_challenge_method.",
                                     400)
    offline = args.get("access_type") == "offline"
    prompts = set(args.get("prompt", "").split())
    return consent.page(
        account_id=GOOGLE_ACCOUNT["id"],
        account_label=f"{GOOGLE_ACCOUNT['name']} ({GOOGLE_ACCOUNT['email']})",
        code_challenge=challenge,
        code_challenge_method=method,
        extra={"offline": offline, "consent": "consent" in prompts},
        code_ttl=CODE_TTL,
    )


def _client_from_token_request() -> Client | Response:
    """Google accepts the secret in the body (client_secret_post) or as HTTP Basic (client_secret_basic)."""
    return oauth.authenticate_client(
        GOOGLE_PLATFORMS,
        lambda problem: oauth_error(401, "invalid_client",
                                    "Unauthorized" if problem == "secret" else "The OAuth client was not found."),
        styles=("basic", "body"),
    )


def _token_body(token: Token, *, include_refresh: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "access_token": token.access_token,
        "expires_in": token.expires_in,
        "scope": " ".join(token.scopes),
        "token_type": "Bearer",
    }
    if include_refresh and token.refresh_token:
        body["refresh_token"] = token.refresh_token
    return body


@bp.post("/oauth2.googleapis.com/token")
def google_token() -> Response:
    client = _client_from_token_request()
    if isinstance(client, Response):
        return client
    platform = client.platform
    grant = request.form.get("grant_type")
    if grant == "authorization_code":
        return _exchange_code(platform, client.client_id)
    if grant == "refresh_token":
        return _refresh(platform, client.client_id)
    if not grant:
        return oauth_error(400, "invalid_request", "Missing required parameter: grant_type")
    return oauth_error(400, "unsupported_grant_type", f"Invalid grant_type: {grant}")


def _exchange_code(platform: str, client_id: str) -> Response:
    form = request.form
    if not form.get("code"):
        return oauth_error(400, "invalid_request", "Missing required parameter: code")
    if not form.get("redirect_uri"):
        return oauth_error(400, "invalid_request", "Missing parameter: redirect_uri")
    store, now = core.store(), core.now()
    code, problem = store.consume_code(platform, form["code"], now=now)
    if code is None or problem is not None:
        return oauth_error(400, "invalid_grant", "Malformed auth code." if problem == "unknown" else "Bad Request")
    if code.client_id != client_id:
        return oauth_error(400, "invalid_grant", "Bad Request")
    if form["redirect_uri"] != code.redirect_uri:
        return oauth_error(400, "redirect_uri_mismatch", "Bad Request")
    if code.code_challenge:
        verifier = form.get("code_verifier")
        if not verifier:
            return oauth_error(400, "invalid_grant", "Missing code verifier.")
        if not core.verify_pkce(verifier, code.code_challenge, code.code_challenge_method):
            return oauth_error(400, "invalid_grant", "Invalid code verifier.")
    # Google sends a refresh token the first time offline access is granted, later only with prompt=consent.
    grant_key = f"{client_id}:{code.account_id}"
    first_offline = store.get_object(platform, "offline_grant", grant_key) is None
    with_refresh = bool(code.extra.get("offline")) and (first_offline or bool(code.extra.get("consent")))
    if with_refresh:
        store.put_object(platform, "offline_grant", grant_key, {"scopes": list(code.scopes)}, now=now)
    token = store.issue_token(
        platform, client_id=client_id, account_id=code.account_id, scopes=code.scopes, now=now,
        access_ttl=ACCESS_TTL, with_refresh=with_refresh, prefix="ya29.",
        refresh_token=("1//0" + secrets.token_urlsafe(40)) if with_refresh else None,
    )
    return jsonify(_token_body(token, include_refresh=True))


def _refresh(platform: str, client_id: str) -> Response:
    value = request.form.get("refresh_token")
    if not value:
        return oauth_error(400, "invalid_request", "Missing required parameter: refresh_token")
    store, now = core.store(), core.now()
    old = store.token_by_refresh(platform, value)
    if old is None or old.client_id != client_id or old.revoked_at is not None:
        return oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
    # [Google OAuth]: Google keeps the same refresh token and does not send it again.
    token = store.issue_token(
        platform, client_id=client_id, account_id=old.account_id, scopes=old.scopes, now=now,
        access_ttl=ACCESS_TTL, refresh_token=value, prefix="ya29.",
    )
    return jsonify(_token_body(token, include_refresh=False))


@bp.post("/oauth2.googleapis.com/revoke")
def google_revoke() -> Response:
    value = request.values.get("token")
    if not value:
        return oauth_error(400, "invalid_request", "Missing required parameter: token")
    now = core.now()
    for platform in GOOGLE_PLATFORMS:
        record = core.store().token(platform, value) or core.store().token_by_refresh(platform, value)
        if record is None or record.revoked_at is not None:
            continue
        # Revoking either token ends the whole grant: the refresh token and every access token made from it.
        core.store().revoke(platform, record.refresh_token or value, now=now)
        core.store().revoke(platform, value, now=now)
        return jsonify({})
    return oauth_error(400, "invalid_token", "Token expired or revoked")


# -- YouTube: channels ----------------------------------------------------------------------------------------


def _parts(allowed: set[str]) -> set[str] | Response:
    raw = request.args.get("part")
    if not raw:
        return google_error(400, "No filter selected. Expected one of: ...", reason="missingRequiredParameter",
                            domain="youtube.parameter")
    parts = {p.strip() for p in raw.split(",") if p.strip()}
    unknown = parts - allowed
    if unknown:
        return google_error(400, f"'{sorted(unknown)[0]}'", reason="unknownPart", domain="youtube.part")
    return parts


def _channel_resource(parts: set[str]) -> dict[str, Any]:
    resource: dict[str, Any] = {"kind": "youtube#channel", "etag": "sbx-" + CHANNEL["id"][-8:], "id": CHANNEL["id"]}
    if "snippet" in parts:
        resource["snippet"] = {
            "title": CHANNEL["title"],
            "description": CHANNEL["description"],
            "customUrl": CHANNEL["customUrl"],
            "publishedAt": CHANNEL["publishedAt"],
            "thumbnails": {
                # Real ones live on yt3.ggpht.com: the sandbox serves its own.
                name: {"url": core.avatar_url(NAME, CHANNEL["title"]), "width": size, "height": size}
                for name, size in (("default", 88), ("medium", 240), ("high", 800))
            },
            "localized": {"title": CHANNEL["title"], "description": CHANNEL["description"]},
            "country": CHANNEL["country"],
        }
    if "statistics" in parts:
        videos = core.store().posts(NAME)
        views = sum(core.metric_values(p.platform_post_id, p.created_at)["views"] for p in videos)
        resource["statistics"] = {"viewCount": str(views), "subscriberCount": CHANNEL["subscriberCount"],
                                  "hiddenSubscriberCount": False, "videoCount": str(len(videos))}
    if "contentDetails" in parts:
        resource["contentDetails"] = {"relatedPlaylists": {"likes": "", "uploads": "UU" + CHANNEL["id"][2:]}}
    return resource


@bp.get("/www.googleapis.com/youtube/v3/channels")
def channels_list() -> Response:
    token = google_access(NAME, any_of=(READONLY, UPLOAD, *YOUTUBE_FULL))
    if isinstance(token, Response):
        return token
    parts = _parts({"id", "snippet", "statistics", "contentDetails", "brandingSettings", "status"})
    if isinstance(parts, Response):
        return parts
    filters = [f for f in ("mine", "id", "forHandle", "forUsername", "managedByMe") if request.args.get(f)]
    if len(filters) != 1:
        return google_error(400, "Incompatible parameters specified in the request: exactly one filter is required.",
                            reason="incompatibleParameters", domain="youtube.parameter")
    match = (
        request.args.get("mine") == "true"
        or CHANNEL["id"] in request.args.get("id", "").split(",")
        or request.args.get("forHandle", "").lower() in (CHANNEL["customUrl"], CHANNEL["customUrl"][1:])
    )
    items = [_channel_resource(parts)] if match else []
    return jsonify({"kind": "youtube#channelListResponse", "etag": "sbx",
                    "pageInfo": {"totalResults": len(items), "resultsPerPage": 5}, "items": items})


# -- YouTube: resumable upload ([Resumable uploads], [videos.insert]) ----------------------------------------


def _check_video_resource(body: Any) -> Response | None:
    if not isinstance(body, dict):
        return google_error(400, "The request metadata is missing or invalid.", reason="invalidVideoMetadata",
                            domain="youtube.video")
    snippet = body.get("snippet") or {}
    status = body.get("status") or {}
    title = snippet.get("title")
    if not isinstance(title, str) or not title.strip():
        return google_error(400, "The request metadata must specify a video title.", reason="invalidTitle",
                            domain="youtube.video")
    if len(title) > MAX_TITLE_CHARS or any(ch in title for ch in "<>"):
        return google_error(400, "The request metadata specifies an invalid video title.", reason="invalidTitle",
                            domain="youtube.video")
    description = snippet.get("description") or ""
    if not isinstance(description, str) or len(description.encode("utf-8")) > MAX_DESCRIPTION_BYTES or any(
        ch in description for ch in "<>"
    ):
        return google_error(400, "The request metadata specifies an invalid video description.",
                            reason="invalidDescription", domain="youtube.video")
    tags = snippet.get("tags") or []
    if not isinstance(tags, list) or sum(len(str(t)) for t in tags) > MAX_TAG_CHARS:
        return google_error(400, "The request metadata specifies invalid video keywords.", reason="invalidTags",
                            domain="youtube.video")
    category = snippet.get("categoryId")
    if category is not None and str(category) not in CATEGORIES:
        return google_error(400, "The video category specified in the request is not valid.",
                            reason="invalidCategoryId", domain="youtube.video")
    privacy = status.get("privacyStatus", "public")
    if privacy not in PRIVACY:
        return google_error(400, "The request metadata specifies an invalid privacy status.",
                            reason="invalidVideoMetadata", domain="youtube.video")
    # [Video resource] status.publishAt works only on private videos.
    if status.get("publishAt") and privacy != "private":
        return google_error(400, "The request metadata specifies an invalid scheduled publishing time.",
                            reason="invalidPublishAt", domain="youtube.video")
    return None


@bp.route("/www.googleapis.com/upload/youtube/v3/videos", methods=["POST", "PUT"])
def videos_upload() -> Response:
    if request.method == "PUT" or request.args.get("upload_id"):
        return _upload_bytes(request.args.get("upload_id", ""))
    return _open_session()


def _open_session() -> Response:
    token = google_access(NAME, any_of=(UPLOAD, *YOUTUBE_FULL))
    if isinstance(token, Response):
        return token
    upload_type = request.args.get("uploadType")
    if upload_type != "resumable":
        # Only the resumable protocol is served here; a media upload without bytes is Google's mediaBodyRequired.
        return google_error(400, "The request does not include the video content.", reason="mediaBodyRequired",
                            domain="youtube.video")
    parts = _parts({"snippet", "status", "recordingDetails", "localizations", "id"})
    if isinstance(parts, Response):
        return parts
    body = request.get_json(silent=True)
    problem = _check_video_resource(body)
    if problem is not None:
        return problem
    mime = request.headers.get("X-Upload-Content-Type", "application/octet-stream")
    if not (mime.startswith("video/") or mime == "application/octet-stream"):
        return google_error(400, f"Media type '{mime}' is not supported. Valid media types: [video/*, "
                            "application/octet-stream]", reason="badContent")
    length = request.headers.get("X-Upload-Content-Length")
    if length is not None and (not length.isdigit() or int(length) <= 0):
        return google_error(400, "The request does not include the video content.", reason="mediaBodyRequired",
                            domain="youtube.video")
    upload_id = "ADPycd" + secrets.token_urlsafe(24)
    core.store().put_object(NAME, "upload", upload_id, {
        "account": token.account_id, "resource": body, "mime": mime,
        "total": int(length) if length else None, "received": 0, "video_id": None,
    }, now=core.now())
    response = Response(status=200)
    response.headers["Location"] = (
        f"https://www.googleapis.com/upload/youtube/v3/videos?uploadType=resumable&upload_id={upload_id}"
    )
    response.headers["X-GUploader-UploadID"] = upload_id
    return response


def _upload_bytes(upload_id: str) -> Response:
    store, now = core.store(), core.now()
    session = store.get_object(NAME, "upload", upload_id) if upload_id else None
    if session is None:
        return google_error(404, "Not Found", reason="notFound")
    if session["video_id"]:
        # A finished session answers every later request (probe or resend) with the same video.
        return _video_json(session["video_id"], status=200)
    data = request.get_data()
    content_range = request.headers.get("Content-Range", "")
    probe = _PROBE.match(content_range)
    if probe:
        if data:
            return google_error(400, "Invalid Content-Range for a status request.", reason="badRequest")
        return _resume_incomplete(session["received"])
    ranged = _RANGE.match(content_range)
    if content_range and not ranged:
        return google_error(400, "Invalid Content-Range header.", reason="badRequest")
    total = session["total"]
    if ranged:
        start, end, declared = int(ranged.group(1)), int(ranged.group(2)), ranged.group(3)
        if start != session["received"] or end - start + 1 != len(data):
            # Bytes that do not continue what arrived are refused; the client must probe and resume.
            return _resume_incomplete(session["received"])
        if declared != "*":
            total = int(declared)
    else:
        session["received"] = 0  # a plain PUT sends the whole file from the start
        total = total if total is not None else len(data)
    session["received"] += len(data)
    session["total"] = total
    if total is None or session["received"] < total:
        store.put_object(NAME, "upload", upload_id, session, now=now)
        return _resume_incomplete(session["received"])
    if session["received"] > total or total == 0:
        return google_error(400, "The request does not include the video content.", reason="mediaBodyRequired",
                            domain="youtube.video")
    video_id = _new_video_id()
    session["video_id"] = video_id
    store.put_object(NAME, "upload", upload_id, session, now=now)
    resource = session["resource"]
    snippet, status = resource.get("snippet") or {}, resource.get("status") or {}
    store.put_object(NAME, "video", video_id, {
        "title": snippet["title"], "description": snippet.get("description") or "",
        "tags": snippet.get("tags") or [], "categoryId": str(snippet.get("categoryId") or "22"),
        "privacyStatus": status.get("privacyStatus", "public"), "publishAt": status.get("publishAt"),
        "madeForKids": bool(status.get("selfDeclaredMadeForKids", False)), "mime": session["mime"],
        "bytes": total, "uploaded_at": now.isoformat(), "account": session["account"],
    }, now=now)
    store.record_post(
        NAME, account_id=CHANNEL["id"], platform_post_id=video_id, text=snippet.get("description") or "", now=now,
        permalink=f"https://www.youtube.com/watch?v={video_id}",
        media=[{"kind": "video", "mime_type": session["mime"], "bytes": total}],
        extra={"title": snippet["title"], "privacyStatus": status.get("privacyStatus", "public")},
    )
    core.after_create(NAME)
    return _video_json(video_id, status=200)


def _resume_incomplete(received: int) -> Response:
    response = Response(status=308)
    if received:
        response.headers["Range"] = f"bytes=0-{received - 1}"
    return response


def _new_video_id() -> str:
    while True:
        candidate = "".join(secrets.choice(_VIDEO_ID_ALPHABET) for _ in range(11))
        if core.store().get_object(NAME, "video", candidate) is None:
            return candidate


def _video_resource(video_id: str, video: dict[str, Any], parts: set[str]) -> dict[str, Any]:
    uploaded_at = datetime.fromisoformat(video["uploaded_at"])
    processed = core.now() >= uploaded_at + PROCESSING_TIME
    resource: dict[str, Any] = {"kind": "youtube#video", "etag": "sbx-" + video_id, "id": video_id}
    if "snippet" in parts:
        resource["snippet"] = {
            "publishedAt": video["uploaded_at"].replace("+00:00", "Z"),
            "channelId": CHANNEL["id"],
            "title": video["title"],
            "description": video["description"],
            "thumbnails": {"default": {"url": f"https://i.ytimg.com/vi/{video_id}/default.jpg", "width": 120,
                                       "height": 90}},
            "channelTitle": CHANNEL["title"],
            "tags": video["tags"],
            "categoryId": video["categoryId"],
            "liveBroadcastContent": "none",
        }
    if "status" in parts:
        resource["status"] = {
            "uploadStatus": "processed" if processed else "uploaded",
            "privacyStatus": video["privacyStatus"],
            "license": "youtube",
            "embeddable": True,
            "publicStatsViewable": True,
            "madeForKids": video["madeForKids"],
            "selfDeclaredMadeForKids": video["madeForKids"],
        }
        if video.get("publishAt"):
            resource["status"]["publishAt"] = video["publishAt"]
    if "processingDetails" in parts:
        resource["processingDetails"] = {"processingStatus": "succeeded" if processed else "processing"}
        if not processed:
            resource["processingDetails"]["processingProgress"] = {"partsTotal": "1000", "partsProcessed": "400"}
    if "statistics" in parts:
        post = core.store().post(NAME, video_id)
        values = core.metric_values(video_id, post.created_at if post else uploaded_at)
        # [Video resource] statistics: counts are strings; favoriteCount is deprecated and always 0.
        resource["statistics"] = {"viewCount": str(values["views"]), "likeCount": str(values["likes"]),
                                  "favoriteCount": "0", "commentCount": str(values["comments"])}
    return resource


def _video_json(video_id: str, *, status: int) -> Response:
    video = core.store().get_object(NAME, "video", video_id) or {}
    response = jsonify(_video_resource(video_id, video, {"snippet", "status"}))
    response.status_code = status
    return response


@bp.get("/www.googleapis.com/youtube/v3/videos")
def videos_list() -> Response:
    token = google_access(NAME, any_of=(READONLY, UPLOAD, *YOUTUBE_FULL))
    if isinstance(token, Response):
        return token
    parts = _parts({"id", "snippet", "status", "statistics", "processingDetails", "contentDetails"})
    if isinstance(parts, Response):
        return parts
    ids = [i for i in request.args.get("id", "").split(",") if i]
    if not ids:
        return google_error(400, "No filter selected. Expected one of: id, myRating, chart.",
                            reason="missingRequiredParameter", domain="youtube.parameter")
    if len(ids) > MAX_IDS:
        return google_error(400, "The request specifies too many video ids.", reason="invalidParameter",
                            domain="youtube.parameter")
    items = []
    for video_id in ids:
        video = core.store().get_object(NAME, "video", video_id)
        if video is not None:
            # processingDetails is visible to the owner only.
            visible = parts if video["account"] == token.account_id else parts - {"processingDetails"}
            items.append(_video_resource(video_id, video, visible))
    return jsonify({"kind": "youtube#videoListResponse", "etag": "sbx",
                    "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)}, "items": items})


# -- YouTube Analytics: reports.query per video ([Analytics reports]) --------------------------------------------

ANALYTICS_METRICS = {
    "views": "views", "likes": "likes", "comments": "comments", "shares": "shares",
    "subscribersGained": None, "estimatedMinutesWatched": None, "averageViewDuration": None,
}


def _analytics_value(metric: str, values: dict[str, int]) -> int:
    source = ANALYTICS_METRICS.get(metric)
    if source:
        return values[source]
    if metric == "estimatedMinutesWatched":
        return values["views"] * 2
    if metric == "averageViewDuration":
        return 95 if values["views"] else 0
    return values["likes"] // 10  # subscribersGained


@bp.get("/youtubeanalytics.googleapis.com/v2/reports")
def analytics_reports() -> Response:
    token = google_access(NAME, any_of=(ANALYTICS, f"{SCOPE_PREFIX}yt-analytics-monetary.readonly"))
    if isinstance(token, Response):
        return token
    args = request.args
    for required in ("ids", "startDate", "endDate", "metrics"):
        if not args.get(required):
            return google_error(400, f"Required parameter: {required}", reason="required")
    if args["ids"] not in ("channel==MINE", f"channel=={CHANNEL['id']}"):
        return google_error(403, "Forbidden", reason="forbidden")
    try:
        start, end = date.fromisoformat(args["startDate"]), date.fromisoformat(args["endDate"])
    except ValueError:
        return google_error(400, "Invalid value for startDate or endDate.", reason="badRequest")
    if end < start:
        return google_error(400, "The end date must not precede the start date.", reason="badRequest")
    metrics = [m for m in args["metrics"].split(",") if m]
    unknown = [m for m in metrics if m not in ANALYTICS_METRICS]
    if unknown:
        return google_error(400, f"Unknown identifier ({unknown[0]}) given in field parameters.metrics.",
                            reason="badRequest")
    dimensions = [d for d in args.get("dimensions", "").split(",") if d]
    if dimensions not in ([], ["video"]):
        return google_error(400, "The query is not supported.", reason="badRequest")
    videos = core.store().posts(NAME)
    wanted = _video_filter(args.get("filters", ""))
    if wanted is not None:
        videos = [v for v in videos if v.platform_post_id in wanted]
    until = min(core.now(), datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=core.now().tzinfo))
    headers = [{"name": "video", "columnType": "DIMENSION", "dataType": "STRING"}] if dimensions else []
    headers += [{"name": m, "columnType": "METRIC", "dataType": "INTEGER"} for m in metrics]
    rows: list[list[Any]] = []
    totals = [0] * len(metrics)
    for video in videos:
        values = core.metric_values(video.platform_post_id, video.created_at, at=until)
        numbers = [_analytics_value(m, values) for m in metrics]
        if dimensions:
            rows.append([video.platform_post_id, *numbers])
        totals = [a + b for a, b in zip(totals, numbers, strict=True)]
    if not dimensions:
        rows = [totals]
    return jsonify({"kind": "youtubeAnalytics#resultTable", "columnHeaders": headers, "rows": rows})


def _video_filter(filters: str) -> set[str] | None:
    for clause in filters.split(";"):
        key, _, value = clause.partition("==")
        if key == "video" and value:
            return set(value.split(","))
    return None
