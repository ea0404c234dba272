"""Sandbox stand-in for Bluesky: the entryway (bsky.social), one PDS, the video service and the public AppView.

Rules follow Bluesky's documentation and AT Protocol specs, cited below by the names in brackets:
- [Create session] https://docs.bsky.app/docs/api/com-atproto-server-create-session and [Refresh session]
  https://docs.bsky.app/docs/api/com-atproto-server-refresh-session: app-password sessions, the refreshJwt as
  Bearer, rotating tokens.
- [Reference PDS] https://github.com/bluesky-social/atproto/tree/main/packages/pds (Bluesky's own server code):
  token lifetimes, the 2 h refresh grace, an expired access token as HTTP 400 ExpiredToken, a record key that
  can never be written twice.
- [XRPC spec] https://atproto.com/specs/xrpc: errors `{error, message}`.
- [Post lexicon] https://github.com/bluesky-social/atproto/blob/main/lexicons/app/bsky/feed/post.json: 300
  graphemes and 3000 bytes (checked: docs/platform-verification.md).
- [Images lexicon] https://github.com/bluesky-social/atproto/blob/main/lexicons/app/bsky/embed/images.json
- [Posts guide] https://docs.bsky.app/docs/advanced-guides/posts: ≤ 4 images with `alt`, one embed.
- [Rich text] https://docs.bsky.app/docs/advanced-guides/post-richtext: UTF-8 byte facets.
- [Create record] https://docs.bsky.app/docs/api/com-atproto-repo-create-record: client-chosen TID record keys.
- [Video tutorial] https://docs.bsky.app/docs/tutorials/video: the video job flow.
- [Get posts] https://docs.bsky.app/docs/api/app-bsky-feed-get-posts: the counts.
- [Rate limits] https://docs.bsky.app/docs/advanced-guides/rate-limits
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

import regex
from flask import Blueprint, Response, jsonify, request

from stella.sandbox import core
from stella.sandbox.store import Token

NAME = "bluesky"
ENTRYWAY = "bsky.social"
PDS_HOST = "morel.us-east.host.bsky.network"
VIDEO_HOST = "video.bsky.app"
APPVIEW_HOST = "public.api.bsky.app"
PDS_URL = f"https://{PDS_HOST}"
SESSION_CLIENT = "app-password"
SERVICE_CLIENT = "service-auth"
# [Reference PDS] defaults; after a refresh the old refresh token works for 2 h more.
ACCESS_TTL = timedelta(minutes=120)
REFRESH_TTL = timedelta(days=90)
REFRESH_GRACE = timedelta(hours=2)
LOGIN_LIMIT, LOGIN_WINDOW = 30, timedelta(minutes=5)  # [Rate limits]: createSession 30 per 5 min per account
MAX_GRAPHEMES, MAX_TEXT_BYTES = 300, 3000  # [Post lexicon]
MAX_IMAGES, MAX_IMAGE_BYTES = 4, 2_000_000  # [Images lexicon] (2 MB since 2026-04)
MAX_BLOB_BYTES = 52_428_800  # [Rate limits]: the PDS generic blob cap
MAX_VIDEO_BYTES = 100 * 1024 * 1024
MAX_GET_POSTS = 25  # [Get posts]
TID_RE = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"


# A plausible demo account: a did:plc (24 base32 characters), hosted on one of Bluesky's PDS hosts.
DEMO = {
    "did": "did:plc:hvrealty7k2m4q6s3u2w4y6z",
    "handle": "harborvine.bsky.social",
    "email": "social@harborvine.example",
    "display_name": "Harbor & Vine Realty",
    "description": "Coastal homes, honest advice. Open houses every weekend 🏡",
    "app_password": "hvr2-sbx7-demo-k4q9",
    # A main password triggers the email 2FA challenge ([Create session] AuthFactorTokenRequired), as the real one does.
    "main_password": "HarborVine-main-2026",
}
ACCOUNTS = {DEMO["did"]: DEMO}

bp = Blueprint("sandbox_bluesky", __name__)
_SESSION_HOSTS = f"<any({ENTRYWAY!r}, {PDS_HOST!r}):host>"
_APPVIEW_HOSTS = f"<any({PDS_HOST!r}, {APPVIEW_HOST!r}):host>"


# -- error shapes ([XRPC spec]) -------------------------------------------------------------------------


def xrpc_error(status: int, error: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return core.json_error(status, {"error": error, "message": message}, headers)


def _expired_token() -> Response:
    return xrpc_error(400, "ExpiredToken", "Token has expired")


def _rate_limited(retry_after: int = 60) -> Response:
    reset = int(core.now().timestamp()) + retry_after
    return xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded", {
        "RateLimit-Limit": "5000", "RateLimit-Remaining": "0", "RateLimit-Reset": str(reset),
        "RateLimit-Policy": "5000;w=3600",
    })


def _rejection(reason: str = "rejected") -> Response:
    return xrpc_error(400, "InvalidRequest", f"Invalid app.bsky.feed.post record: {reason}")


def _server_error(status: int = 503) -> Response:
    if status == 500:
        return xrpc_error(500, "InternalServerError", "Internal Server Error")
    return xrpc_error(status, "UpstreamFailure", "Upstream service unreachable")


PLATFORM = core.SandboxPlatform(
    name=NAME,
    display_name="Bluesky",
    blueprint=bp,
    hosts=(ENTRYWAY, PDS_HOST, VIDEO_HOST, APPVIEW_HOST),
    color="#1185FE",
    expired_token=_expired_token,
    rate_limited=_rate_limited,
    rejection=_rejection,
    server_error=_server_error,
    demo_notes=f"Sign in as {DEMO['handle']} with the app password {DEMO['app_password']}.",
)


# -- sessions ([Create session], [Refresh session]) --------------------------------------------------------


def did_doc(account: dict[str, str]) -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": account["did"],
        "alsoKnownAs": [f"at://{account['handle']}"],
        "verificationMethod": [{
            "id": f"{account['did']}#atproto",
            "type": "Multikey",
            "controller": account["did"],
            "publicKeyMultibase": "zQ3shXjHeiBuRCKmM36cuYnm7YEMzhGnCmCyW92sRJ9pribSF",
        }],
        "service": [{"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": PDS_URL}],
    }


def _session_body(token: Token, account: dict[str, str]) -> dict[str, Any]:
    return {
        "accessJwt": token.access_token,
        "refreshJwt": token.refresh_token,
        "handle": account["handle"],
        "did": account["did"],
        "didDoc": did_doc(account),
        "email": account["email"],
        "emailConfirmed": True,
        "emailAuthFactor": False,
        "active": True,
    }


def _find_account(identifier: str) -> dict[str, str] | None:
    wanted = identifier.strip().lower().lstrip("@")
    for account in ACCOUNTS.values():
        if wanted in (account["did"], account["handle"], account["email"]):
            return account
    return None


def _new_session(account: dict[str, str]) -> Token:
    return core.store().issue_token(
        NAME, client_id=SESSION_CLIENT, account_id=account["did"], scopes=("com.atproto.appPass",), now=core.now(),
        access_ttl=ACCESS_TTL, refresh_ttl=REFRESH_TTL, prefix="eyJ",
    )


@bp.post(f"/{_SESSION_HOSTS}/xrpc/com.atproto.server.createSession")
def create_session(host: str) -> Response:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return xrpc_error(400, "InvalidRequest", "Request body must be JSON")
    for field in ("identifier", "password"):
        if not isinstance(body.get(field), str) or not body[field]:
            return xrpc_error(400, "InvalidRequest", f'Input must have the property "{field}"')
    account = _find_account(body["identifier"])
    if account is None:
        return xrpc_error(401, "AuthenticationRequired", "Invalid identifier or password")
    limited = _count_login(account["did"])
    if limited:
        return limited
    if body["password"] == account["main_password"] and not body.get("authFactorToken"):
        return xrpc_error(401, "AuthFactorTokenRequired", "A sign in code has been sent to your email address")
    if body["password"] != account["app_password"]:
        return xrpc_error(401, "AuthenticationRequired", "Invalid identifier or password")
    return jsonify(_session_body(_new_session(account), account))


def _count_login(did: str) -> Response | None:
    store, now = core.store(), core.now()
    state = store.get_object(NAME, "logins", did) or {"times": []}
    recent = [t for t in state["times"] if datetime.fromisoformat(t) > now - LOGIN_WINDOW]
    if len(recent) >= LOGIN_LIMIT:
        oldest = min(datetime.fromisoformat(t) for t in recent)
        return _rate_limited(int((oldest + LOGIN_WINDOW - now).total_seconds()) + 1)
    store.put_object(NAME, "logins", did, {"times": [*recent, now.isoformat()]}, now=now)
    return None


@bp.post(f"/{_SESSION_HOSTS}/xrpc/com.atproto.server.refreshSession")
def refresh_session(host: str) -> Response:
    """[Refresh session]: Bearer <refreshJwt>, no body; both tokens rotate; the old one has a 2 h grace."""
    value = core.bearer_token()
    if not value:
        return xrpc_error(401, "AuthMissing", "Authentication Required")
    store, now = core.store(), core.now()
    old = store.token_by_refresh(NAME, value)
    if old is None or old.client_id != SESSION_CLIENT:
        return xrpc_error(400, "InvalidToken", "Token could not be verified")
    if old.revoked_at is not None:
        return xrpc_error(400, "ExpiredToken", "Token has been revoked")
    if old.refresh_expired(now) or (old.replaced_at is not None and now > old.replaced_at + REFRESH_GRACE):
        return xrpc_error(400, "ExpiredToken", "Token has expired")
    account = ACCOUNTS[old.account_id]
    store.mark_replaced(NAME, value, now=now)
    return jsonify(_session_body(_new_session(account), account))


@bp.post(f"/{_SESSION_HOSTS}/xrpc/com.atproto.server.deleteSession")
def delete_session(host: str) -> Response:
    value = core.bearer_token()
    if not value:
        return xrpc_error(401, "AuthMissing", "Authentication Required")
    token = core.store().token_by_refresh(NAME, value)
    if token is None or token.client_id != SESSION_CLIENT:
        return xrpc_error(400, "InvalidToken", "Token could not be verified")
    core.store().revoke(NAME, value, now=core.now())
    return Response(status=200)


def _session() -> Token | Response:
    """The access token's session, or the PDS's error ([Reference PDS]: expired → 400 ExpiredToken)."""
    value = core.bearer_token()
    if not value:
        return xrpc_error(401, "AuthMissing", "Authentication Required")
    token = core.store().token(NAME, value)
    if token is None or token.client_id != SESSION_CLIENT:
        return xrpc_error(400, "InvalidToken", "Token could not be verified")
    if token.revoked_at is not None:
        return xrpc_error(400, "ExpiredToken", "Token has been revoked")
    if token.access_expired(core.now()):
        return _expired_token()
    return token


# -- profile --------------------------------------------------------------------------------------------


@bp.get(f"/{_APPVIEW_HOSTS}/xrpc/app.bsky.actor.getProfile")
def get_profile(host: str) -> Response:
    if host == PDS_HOST:
        session = _session()
        if isinstance(session, Response):
            return session
    actor = request.args.get("actor")
    if not actor:
        return xrpc_error(400, "InvalidRequest", 'Params must have the property "actor"')
    account = _find_account(actor)
    if account is None:
        return xrpc_error(400, "InvalidRequest", "Profile not found")
    return jsonify({
        "did": account["did"],
        "handle": account["handle"],
        "displayName": account["display_name"],
        "description": account["description"],
        "avatar": core.avatar_url(NAME, account["display_name"]),  # real ones live on cdn.bsky.app
        "followersCount": 1284,
        "followsCount": 311,
        "postsCount": len(core.store().posts(NAME)),
        "indexedAt": "2025-03-02T09:15:00.000Z",
        "createdAt": "2024-11-18T16:40:00.000Z",
    })


# -- blobs and records ([Create record], [Posts guide]) -----------------------------------------------------


@bp.post(f"/{PDS_HOST}/xrpc/com.atproto.repo.uploadBlob")
def upload_blob() -> Response:
    session = _session()
    if isinstance(session, Response):
        return session
    mime = (request.content_type or "").split(";")[0].strip()
    data = request.get_data()
    if not mime or mime == "application/x-www-form-urlencoded":
        return xrpc_error(400, "InvalidRequest", "Request encoding (Content-Type) required but not provided")
    if not data:
        return xrpc_error(400, "InvalidRequest", "Request body is empty")
    if len(data) > MAX_BLOB_BYTES:
        return xrpc_error(413, "PayloadTooLarge", "request entity too large")
    return jsonify({"blob": _store_blob(session.account_id, data, mime)})


def _store_blob(did: str, data: bytes, mime: str) -> dict[str, Any]:
    cid = _cid(data)
    core.store().put_object(NAME, "blob", cid, {"did": did, "mimeType": mime, "size": len(data)}, now=core.now())
    return {"$type": "blob", "ref": {"$link": cid}, "mimeType": mime, "size": len(data)}


@bp.get(f"/{PDS_HOST}/xrpc/com.atproto.repo.getRecord")
def get_record() -> Response:
    repo, collection, rkey = (request.args.get(k) for k in ("repo", "collection", "rkey"))
    if not repo or not collection or not rkey:
        return xrpc_error(400, "InvalidRequest", "Params must have the properties repo, collection and rkey")
    account = _find_account(repo)
    uri = f"at://{account['did'] if account else repo}/{collection}/{rkey}"
    post = core.store().post(NAME, uri)
    if post is None:
        return xrpc_error(400, "RecordNotFound", f"Could not locate record: {uri}")
    return jsonify({"uri": uri, "cid": post.extra["cid"], "value": post.extra["record"]})


@bp.post(f"/{PDS_HOST}/xrpc/com.atproto.repo.createRecord")
def create_record() -> Response:
    session = _session()
    if isinstance(session, Response):
        return session
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return xrpc_error(400, "InvalidRequest", "Request body must be JSON")
    for field in ("repo", "collection", "record"):
        if field not in body:
            return xrpc_error(400, "InvalidRequest", f'Input must have the property "{field}"')
    account = _find_account(str(body["repo"]))
    if account is None or account["did"] != session.account_id:
        return xrpc_error(401, "AuthenticationRequired", "Authentication Required")
    if body["collection"] != "app.bsky.feed.post":
        return xrpc_error(400, "InvalidRequest", "This sandbox PDS only stores app.bsky.feed.post records")
    rkey = body.get("rkey") or _tid_now()
    if not isinstance(rkey, str) or not TID_RE.match(rkey):
        return xrpc_error(400, "InvalidRequest", "Invalid record key: must be a TID for app.bsky.feed.post")
    record = body["record"]
    if not isinstance(record, dict):
        return _rejection("Record must be an object")
    problem = validate_post_record(record, session.account_id)
    if problem:
        return _rejection(problem)
    uri = f"at://{session.account_id}/app.bsky.feed.post/{rkey}"
    store = core.store()
    if store.post(NAME, uri) is not None:
        # [Reference PDS]: the repo refuses a second value at a key; the status is undocumented (500 seen).
        return _server_error(500)
    cid = _cid(repr(sorted(record.items())).encode() + rkey.encode())
    media = _embedded_media(record)
    store.record_post(
        NAME, account_id=session.account_id, platform_post_id=uri, text=record["text"], now=core.now(),
        permalink=f"https://bsky.app/profile/{session.account_id}/post/{rkey}", media=media,
        idempotency_key=rkey, extra={"cid": cid, "record": record},
    )
    core.after_create(NAME)
    return jsonify({
        "uri": uri,
        "cid": cid,
        "commit": {"cid": _cid(cid.encode()), "rev": _tid_now()},
        "validationStatus": "valid",
    })


def validate_post_record(record: dict[str, Any], did: str) -> str | None:
    """The lexicon checks of app.bsky.feed.post that matter for publishing; a message or None."""
    if record.get("$type") != "app.bsky.feed.post":
        return f"Invalid $type: must be app.bsky.feed.post, got {record.get('$type')!r}"
    text = record.get("text")
    if not isinstance(text, str):
        return 'Record must have the property "text"'
    if count_graphemes(text) > MAX_GRAPHEMES:
        return f"Record/text must not be longer than {MAX_GRAPHEMES} graphemes"
    if len(text.encode("utf-8")) > MAX_TEXT_BYTES:
        return f"Record/text must not be longer than {MAX_TEXT_BYTES} characters"
    created = record.get("createdAt")
    if not isinstance(created, str) or not DATETIME_RE.match(created):
        return "Record/createdAt must be an valid atproto datetime (both RFC-3339 and ISO-8601)"
    size = len(text.encode("utf-8"))
    for i, facet in enumerate(record.get("facets") or []):
        index = facet.get("index") if isinstance(facet, dict) else None
        start = index.get("byteStart") if isinstance(index, dict) else None
        end = index.get("byteEnd") if isinstance(index, dict) else None
        if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start < end <= size:
            return f"Record/facets/{i}/index must have byteStart < byteEnd within the text's UTF-8 bytes"
        if not facet.get("features"):
            return f'Record/facets/{i} must have the property "features"'
    langs = record.get("langs")
    if langs is not None and (not isinstance(langs, list) or len(langs) > 3):
        return "Record/langs must not have more than 3 elements"
    embed = record.get("embed")
    if embed is None:
        return None
    if not isinstance(embed, dict):
        return "Record/embed must be an object"
    kind = embed.get("$type")
    if kind == "app.bsky.embed.images":
        images = embed.get("images")
        if not isinstance(images, list) or not images:
            return 'Record/embed must have the property "images"'
        if len(images) > MAX_IMAGES:
            return f"Record/embed/images must not have more than {MAX_IMAGES} elements"
        for i, image in enumerate(images):
            if not isinstance(image, dict) or "alt" not in image:
                return f'Record/embed/images/{i} must have the property "alt"'
            problem = _check_blob(image.get("image"), did, "image/", MAX_IMAGE_BYTES, f"Record/embed/images/{i}/image")
            if problem:
                return problem
        return None
    if kind == "app.bsky.embed.video":
        return _check_blob(embed.get("video"), did, "video/mp4", MAX_VIDEO_BYTES, "Record/embed/video")
    if kind == "app.bsky.embed.external":
        external = embed.get("external")
        if not isinstance(external, dict) or not external.get("uri") or "title" not in external:
            return 'Record/embed/external must have the properties "uri", "title" and "description"'
        return None
    return f"Record/embed has an unsupported $type {kind!r}"


def _check_blob(blob: Any, did: str, accept: str, max_bytes: int, path: str) -> str | None:
    link = blob.get("ref", {}).get("$link") if isinstance(blob, dict) and isinstance(blob.get("ref"), dict) else None
    stored = core.store().get_object(NAME, "blob", str(link)) if link else None
    if stored is None or stored["did"] != did:
        return f"{path} could not find blob: {link}"
    if not str(stored["mimeType"]).startswith(accept):
        return f"{path} has the wrong mimeType {stored['mimeType']}"
    if int(stored["size"]) > max_bytes:
        return f"{path} file too big (max {max_bytes} bytes)"
    return None


def _embedded_media(record: dict[str, Any]) -> list[dict[str, Any]]:
    embed = record.get("embed") or {}
    if embed.get("$type") == "app.bsky.embed.images":
        return [{"kind": "image", "cid": i["image"]["ref"]["$link"], "alt": i.get("alt", "")} for i in embed["images"]]
    if embed.get("$type") == "app.bsky.embed.video":
        return [{"kind": "video", "cid": embed["video"]["ref"]["$link"], "alt": embed.get("alt", "")}]
    return []


# -- video ([Video tutorial]) ------------------------------------------------------------------------------


@bp.get(f"/{PDS_HOST}/xrpc/com.atproto.server.getServiceAuth")
def get_service_auth() -> Response:
    session = _session()
    if isinstance(session, Response):
        return session
    aud, lxm = request.args.get("aud"), request.args.get("lxm")
    if not aud:
        return xrpc_error(400, "InvalidRequest", 'Params must have the property "aud"')
    now = core.now()
    try:
        exp = int(request.args.get("exp") or now.timestamp() + 60)
    except ValueError:
        return xrpc_error(400, "InvalidRequest", "exp must be an integer")
    # Reference PDS: at most an hour for a method-bound token, a minute otherwise.
    max_ttl = 3600 if lxm else 60
    if exp <= now.timestamp():
        return xrpc_error(400, "BadExpiration", "expiration is in past")
    if exp - now.timestamp() > max_ttl:
        return xrpc_error(
            400, "BadExpiration", "cannot request a token with an expiration more than an hour in the future"
        )
    token = core.store().issue_token(
        NAME, client_id=SERVICE_CLIENT, account_id=session.account_id, scopes=(), now=now,
        access_ttl=timedelta(seconds=exp - now.timestamp()), with_refresh=False, prefix="eyJ",
        extra={"aud": aud, "lxm": lxm},
    )
    return jsonify({"token": token.access_token})


@bp.post(f"/{VIDEO_HOST}/xrpc/app.bsky.video.uploadVideo")
def upload_video() -> Response:
    value = core.bearer_token()
    token = core.store().token(NAME, value) if value else None
    did = request.args.get("did")
    if (
        token is None or token.client_id != SERVICE_CLIENT or token.access_expired(core.now())
        or token.extra.get("lxm") != "com.atproto.repo.uploadBlob"
        or token.extra.get("aud") != f"did:web:{PDS_HOST}"
    ):
        return xrpc_error(401, "Unauthorized", "A service token for com.atproto.repo.uploadBlob on the PDS is required")
    if did != token.account_id:
        return xrpc_error(400, "InvalidRequest", "did must be the account that requested the service token")
    if (request.content_type or "").split(";")[0] != "video/mp4":
        return xrpc_error(400, "InvalidRequest", "Unsupported video type: only video/mp4 is accepted")
    data = request.get_data()
    if not data:
        return xrpc_error(400, "InvalidRequest", "Request body is empty")
    if len(data) > MAX_VIDEO_BYTES:
        return xrpc_error(400, "InvalidRequest", "Video is too large")
    store, now = core.store(), core.now()
    digest = hashlib.sha256(data).hexdigest()
    earlier = store.get_object(NAME, "video_digest", f"{did}:{digest}")
    if earlier:
        # [Video tutorial]: `already_exists` still returns the earlier job and its blob.
        job = store.get_object(NAME, "video_job", earlier["job_id"]) or {}
        response = jsonify({"jobStatus": {**_job_view(earlier["job_id"], job), "error": "already_exists",
                                          "message": "Video already processed"}})
        response.status_code = 409
        return response
    job_id = secrets.token_hex(8)
    job = {"did": did, "polls": 0, "size": len(data), "cid": _cid(data)}
    store.put_object(NAME, "video_job", job_id, job, now=now)
    store.put_object(NAME, "video_digest", f"{did}:{digest}", {"job_id": job_id}, now=now)
    return jsonify({"jobStatus": _job_view(job_id, job)})


@bp.get(f"/{VIDEO_HOST}/xrpc/app.bsky.video.getJobStatus")
def get_job_status() -> Response:
    job_id = request.args.get("jobId", "")
    store = core.store()
    job = store.get_object(NAME, "video_job", job_id)
    if job is None:
        return xrpc_error(400, "InvalidRequest", "Job not found")
    # Processing takes two status checks: encoding first, then completed with the blob.
    job["polls"] += 1
    if job["polls"] >= 2 and "blob" not in job:
        job["blob"] = {"$type": "blob", "ref": {"$link": job["cid"]}, "mimeType": "video/mp4", "size": job["size"]}
        store.put_object(NAME, "blob", job["cid"], {"did": job["did"], "mimeType": "video/mp4", "size": job["size"]},
                         now=core.now())
    store.put_object(NAME, "video_job", job_id, job, now=core.now())
    return jsonify({"jobStatus": _job_view(job_id, job)})


def _job_view(job_id: str, job: dict[str, Any]) -> dict[str, Any]:
    view: dict[str, Any] = {"jobId": job_id, "did": job.get("did")}
    if "blob" in job:
        view.update(state="JOB_STATE_COMPLETED", progress=100, blob=job["blob"])
    elif job.get("polls"):
        view.update(state="JOB_STATE_ENCODING", progress=50)
    else:
        view.update(state="JOB_STATE_CREATED", progress=0)
    return view


# -- metrics ([Get posts]) -------------------------------------------------------------------------------------


@bp.get(f"/{_APPVIEW_HOSTS}/xrpc/app.bsky.feed.getPosts")
def get_posts(host: str) -> Response:
    if host == PDS_HOST:
        session = _session()
        if isinstance(session, Response):
            return session
    uris = request.args.getlist("uris")
    if not uris:
        return xrpc_error(400, "InvalidRequest", 'Params must have the property "uris"')
    if len(uris) > MAX_GET_POSTS:
        return xrpc_error(400, "InvalidRequest", f"uris must not have more than {MAX_GET_POSTS} elements")
    views = []
    for uri in uris:
        post = core.store().post(NAME, uri)
        if post is None:
            continue  # the AppView leaves out posts it does not know
        account = ACCOUNTS.get(post.account_id, DEMO)
        m = core.metric_values(uri, post.created_at)
        views.append({
            "uri": uri,
            "cid": post.extra["cid"],
            "author": {"did": account["did"], "handle": account["handle"], "displayName": account["display_name"]},
            "record": post.extra["record"],
            "likeCount": m["likes"],
            "repostCount": m["shares"],
            "replyCount": m["comments"],
            "quoteCount": m["quotes"],
            "bookmarkCount": m["saves"],
            "indexedAt": post.created_at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        })
    return jsonify({"posts": views})


# -- helpers -------------------------------------------------------------------------------------------------


def _cid(data: bytes) -> str:
    """A CIDv1 (raw, sha-256) look-alike: 'bafkrei' + base32 of the digest."""
    digest = base64.b32encode(hashlib.sha256(data).digest()).decode().lower().rstrip("=")
    return "bafkrei" + digest[:52]


def _tid_now() -> str:
    value = (int(core.now().timestamp() * 1_000_000) << 10) | secrets.randbelow(1024)
    chars = []
    for _ in range(13):
        chars.append(_TID_ALPHABET[value & 0x1F])
        value >>= 5
    return "".join(reversed(chars))


# [Post lexicon]: extended grapheme clusters; the `regex` module's \X implements them (UAX #29).
_GRAPHEME = regex.compile(r"\X")


def count_graphemes(text: str) -> int:
    """Extended grapheme clusters, as the lexicon's maxGraphemes counts them."""
    return len(_GRAPHEME.findall(text))
