"""Sandbox stand-in for Mastodon: any host is an instance (`/<instance>/api/v1/apps`, `/<instance>/oauth/...`).

Rules follow Mastodon's documentation (docs.joinmastodon.org), cited below by the names in brackets:
- [Apps] https://docs.joinmastodon.org/methods/apps/: apps registered per instance at runtime.
- [OAuth] https://docs.joinmastodon.org/methods/oauth/: codes bound to the registered redirect URI, PKCE S256,
  tokens that never expire and cannot be refreshed, client auth by form or Basic.
- [OAuth scopes] https://docs.joinmastodon.org/api/oauth-scopes/
- [API guidelines] https://docs.joinmastodon.org/api/guidelines/: form data or JSON.
- [Errors] https://docs.joinmastodon.org/entities/Error/: `{"error": ...}` bodies.
- [Instance] https://docs.joinmastodon.org/methods/instance/ and [Posting] https://docs.joinmastodon.org/user/posting/:
  the character limit (grapheme clusters, every URL = 23, mentions as @name).
- [Media] https://docs.joinmastodon.org/methods/media/: v2 media that may process asynchronously (202, then 206).
- [Statuses] https://docs.joinmastodon.org/methods/statuses/: statuses with Idempotency-Key.
- [Rate limits] https://docs.joinmastodon.org/api/rate-limits/
Other platforms' fixed host routes take precedence in Flask routing, so the variable host never shadows them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from html import escape
from typing import Any

from flask import Blueprint, Response, jsonify, request

from stella.sandbox import core, oauth
from stella.sandbox.platforms.bluesky import count_graphemes
from stella.sandbox.store import Client, Token

NAME = "mastodon"
DEMO_INSTANCE = "mastodon.example"
# Hosts starting with this behave like a pre-4.x / non-Mastodon server: no /api/v2/instance ([Instance]).
LEGACY_PREFIX = "legacy."
KNOWN_SCOPES = frozenset({
    "read", "write", "push", "follow", "profile",
    "read:accounts", "read:statuses", "read:notifications", "read:search", "read:favourites",
    "write:statuses", "write:media", "write:accounts", "write:favourites",
})
CODE_TTL = timedelta(minutes=10)  # Doorkeeper's default authorization-code lifetime
IDEMPOTENCY_WINDOW = timedelta(hours=1)  # [Statuses]
MEDIA_LIMIT, MEDIA_WINDOW = 30, timedelta(minutes=30)  # [Rate limits]: POST /api/v2/media, 30 per 30 min
MAX_CHARACTERS, MAX_MEDIA, URL_CHARS = 500, 4, 23  # [Instance] defaults
IMAGE_LIMIT, VIDEO_LIMIT, DESCRIPTION_LIMIT = 16_777_216, 103_809_024, 1500
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "image/heic", "image/heif", "image/avif")
VIDEO_TYPES = ("video/mp4", "video/webm", "video/quicktime", "video/ogg")
VISIBILITIES = ("public", "unlisted", "private", "direct")
URL_RE = re.compile(r"https?://[^\s<>\"]+")
MENTION_RE = re.compile(r"@(\w+)@[\w.-]+\w")
INVALID_GRANT = (
    "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in "
    "the authorization request, or was issued to another client."
)
INVALID_CLIENT = (
    "Client authentication failed due to unknown client, no client authentication included, or unsupported "
    "authentication method."
)
DEMO_ACCOUNT = {
    "username": "harborvine",
    "display_name": "Harbor & Vine Realty",
    "note": "<p>Coastal homes, honest advice. Open houses every weekend.</p>",
}

bp = Blueprint("sandbox_mastodon", __name__)


# -- error shapes ([Errors]) ---------------------------------------------------------------------------------


def error(status: int, message: str, description: str | None = None, headers: dict[str, str] | None = None) -> Response:
    body: dict[str, str] = {"error": message}
    if description:
        body["error_description"] = description
    return core.json_error(status, body, headers)


def _expired_token() -> Response:
    return error(401, "The access token is invalid")


def _rate_limited(retry_after: int = 60) -> Response:
    reset = (core.now() + timedelta(seconds=retry_after)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return error(429, "Too many requests", headers={
        "X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset,
    })


def _rejection(reason: str = "rejected") -> Response:
    return error(422, f"Validation failed: {reason}")


def _server_error(status: int = 503) -> Response:
    return error(status, "Service Unavailable" if status == 503 else "Internal Server Error")


def claims_host(host: str) -> bool:
    """Any DNS-looking host is an instance (fixed hosts of other platforms are matched first)."""
    return "." in host and not host.startswith(("_", "."))


PLATFORM = core.SandboxPlatform(
    name=NAME,
    display_name="Mastodon",
    blueprint=bp,
    hosts=(DEMO_INSTANCE,),
    color="#6364FF",
    expired_token=_expired_token,
    rate_limited=_rate_limited,
    rejection=_rejection,
    server_error=_server_error,
    claims_host=claims_host,
    demo_notes=f"Any server name works (e.g. {DEMO_INSTANCE}); you sign in as @harborvine there.",
)


# -- instances ------------------------------------------------------------------------------------------------


def account_id(instance: str) -> str:
    """The demo account's id on an instance: a stable snowflake-like number (ids are strings)."""
    return str(109_000_000_000_000_000 + int(hashlib.sha256(instance.encode()).hexdigest()[:12], 16) % 10**15)


def _configuration() -> dict[str, Any]:
    return {
        "statuses": {"max_characters": MAX_CHARACTERS, "max_media_attachments": MAX_MEDIA,
                     "characters_reserved_per_url": URL_CHARS},
        "media_attachments": {
            "supported_mime_types": [*IMAGE_TYPES, *VIDEO_TYPES],
            "description_limit": DESCRIPTION_LIMIT,
            "image_size_limit": IMAGE_LIMIT,
            "image_matrix_limit": 33_177_600,
            "video_size_limit": VIDEO_LIMIT,
            "video_frame_rate_limit": 120,
            "video_matrix_limit": 8_294_400,
        },
        "polls": {"max_options": 4, "max_characters_per_option": 50, "min_expiration": 300,
                  "max_expiration": 2_629_746},
    }


@bp.get("/<instance>/api/v2/instance")
def instance_v2(instance: str) -> Response:
    if instance.startswith(LEGACY_PREFIX):
        return error(404, "Record not found")
    return jsonify({
        "domain": instance,
        "title": f"{instance} (sandbox)",
        "version": "4.3.2",
        "source_url": "https://github.com/mastodon/mastodon",
        "description": "A sandbox Mastodon server.",
        "usage": {"users": {"active_month": 1234}},
        "configuration": {"urls": {"streaming": f"wss://{instance}"}, **_configuration()},
        "registrations": {"enabled": False, "approval_required": False, "message": None},
        "contact": {"email": f"admin@{instance}"},
        "rules": [],
    })


@bp.get("/<instance>/api/v1/instance")
def instance_v1(instance: str) -> Response:
    body: dict[str, Any] = {"uri": instance, "title": f"{instance} (sandbox)", "version": "3.4.1",
                            "description": "A sandbox Mastodon-compatible server."}
    if instance.startswith(LEGACY_PREFIX):
        body["max_toot_chars"] = 5000  # Pleroma/Akkoma report their limit here
    else:
        body["configuration"] = _configuration()
    return jsonify(body)


# -- apps and OAuth ([Apps], [OAuth]) ---------------------------------------------------------------------------


@bp.post("/<instance>/api/v1/apps")
def register_app(instance: str) -> Response:
    # [API guidelines]: form data and JSON are both accepted.
    payload: Any = (request.get_json(silent=True) if request.is_json else request.form) or {}
    name = str(payload.get("client_name") or "").strip()
    if not name:
        return error(422, "Validation failed: Application name can't be blank")
    raw_uris = payload.get("redirect_uris")
    if isinstance(raw_uris, str):
        uris = [u.strip() for u in raw_uris.split("\n") if u.strip()]
    elif isinstance(raw_uris, list):
        uris = [str(u).strip() for u in raw_uris if str(u).strip()]
    else:
        uris = request.form.getlist("redirect_uris[]") if not request.is_json else []
    if not uris:
        return error(422, "Validation failed: Redirect URI can't be blank")
    for uri in uris:
        if uri != "urn:ietf:wg:oauth:2.0:oob" and not re.match(r"^[a-z][a-z0-9+.-]*://[^\s/]+", uri):
            return error(422, "Validation failed: Redirect URI must be an absolute URI.")
    scopes = str(payload.get("scopes") or "read").split()
    unknown = [s for s in scopes if s not in KNOWN_SCOPES]
    if unknown:
        return error(422, f"Validation failed: Scopes are invalid ({' '.join(unknown)})")
    client = core.store().register_client(
        NAME, redirect_uris=uris, scopes=scopes, extra={"instance": instance, "name": name},
    )
    return jsonify({
        "id": str(core.store().next_number(NAME, f"app:{instance}", start=563419)),
        "name": name,
        "website": payload.get("website") or None,
        "scopes": scopes,
        "redirect_uri": "\n".join(uris),
        "redirect_uris": uris,
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "client_secret_expires_at": 0,
    })


def _client(instance: str, client_id: str | None) -> Client | None:
    client = core.store().client(NAME, client_id) if client_id else None
    if client is None:
        return None
    # An app belongs to the instance it was registered on; the default sandbox client works everywhere.
    if client.extra.get("instance") not in (None, instance):
        return None
    return client


def _client_scopes(client: Client) -> tuple[str, ...]:
    return client.scopes or ("read", "write", "push", "profile")


def _scope_allowed(requested: str, granted: tuple[str, ...]) -> bool:
    return requested in granted or requested.split(":")[0] in granted


@bp.route("/<instance>/oauth/authorize", methods=["GET", "POST"])
def authorize(instance: str) -> Response:
    consent = oauth.check_consent_request(
        PLATFORM,
        lookup=lambda client_id: _client(instance, client_id),
        unknown_client=oauth.Refusal(INVALID_CLIENT, status=401),
        redirect_mismatch=oauth.Refusal("The redirect uri included is not valid."),
        bad_response_type=oauth.Refusal("The authorization server does not support this response type.",
                                        "unsupported_response_type"),
        # A literal "+" separates scopes too, and no scope means `read` (Doorkeeper's default).
        scope_separator=re.compile(r"[\s+]+"),
        default_scope="read",
        check_scopes=_check_scopes,
    )
    if isinstance(consent, Response):
        return consent
    challenge = request.args.get("code_challenge")
    method = request.args.get("code_challenge_method")
    if challenge and method != "S256":  # [OAuth]: S256 only
        return oauth.redirect_error(consent.redirect_uri, consent.state, "invalid_request",
                                    "Code challenge method must be S256.")
    return consent.page(
        account_id=account_id(instance),
        account_label=f"@{DEMO_ACCOUNT['username']}@{instance}",
        code_challenge=challenge,
        code_challenge_method=method if challenge else None,
        extra={"instance": instance},
        code_ttl=CODE_TTL,
        app_name=str(consent.client.extra.get("name") or "Stella"),
    )


def _check_scopes(scopes: list[str], client: Client) -> oauth.Refusal | None:
    # [OAuth scopes]: the requested scope must be a subset of the registered one.
    if all(_scope_allowed(scope, _client_scopes(client)) for scope in scopes):
        return None
    return oauth.Refusal("The requested scope is invalid, unknown, or malformed.", "invalid_scope")


def _authenticated_client(instance: str, refusal: Callable[[], Response]) -> Client | Response:
    # [OAuth]: client_secret_basic and client_secret_post are both supported.
    return oauth.authenticate_client(NAME, lambda problem: refusal(), styles=("basic", "body"),
                                     lookup=lambda client_id: _client(instance, client_id))


@bp.post("/<instance>/oauth/token")
def token(instance: str) -> Response:
    client = _authenticated_client(instance, lambda: error(401, "invalid_client", INVALID_CLIENT))
    if isinstance(client, Response):
        return client
    grant_type = request.form.get("grant_type")
    if grant_type != "authorization_code":
        # [OAuth]: refresh tokens are disabled; client_credentials is out of the sandbox's scope.
        return error(
            400, "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server.",
        )
    code_value = request.form.get("code")
    if not code_value:
        return error(400, "invalid_request", "Missing required parameter: code.")
    code, problem = core.store().consume_code(NAME, code_value, now=core.now())
    if code is None or problem or code.client_id != client.client_id or code.extra.get("instance") != instance:
        return error(400, "invalid_grant", INVALID_GRANT)
    if request.form.get("redirect_uri") != code.redirect_uri:
        return error(400, "invalid_grant", INVALID_GRANT)
    if code.code_challenge and not core.verify_pkce(
        request.form.get("code_verifier"), code.code_challenge, code.code_challenge_method
    ):
        return error(400, "invalid_grant", INVALID_GRANT)
    issued = core.store().issue_token(
        NAME, client_id=client.client_id, account_id=code.account_id, scopes=code.scopes, now=core.now(),
        access_ttl=None, with_refresh=False, extra={"instance": instance},
    )
    return jsonify({
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "scope": " ".join(code.scopes),
        "created_at": int(core.now().timestamp()),
    })


@bp.post("/<instance>/oauth/revoke")
def revoke(instance: str) -> Response:
    client = _authenticated_client(
        instance, lambda: error(403, "unauthorized_client", "You are not authorized to revoke this token"))
    if isinstance(client, Response):
        return client
    value = request.form.get("token", "")
    existing = core.store().token(NAME, value)
    if existing is not None and existing.client_id == client.client_id:
        core.store().revoke(NAME, value, now=core.now())
    return jsonify({})  # RFC 7009: the same answer whether or not the token existed


def _token(instance: str, *needed: str) -> Token | Response:
    """The caller's token; 401 when invalid (no refresh exists), 403 when outside the granted scopes."""
    value = core.bearer_token()
    found = core.store().token(NAME, value) if value else None
    if (
        found is None or found.revoked_at is not None or found.access_expired(core.now())
        or found.extra.get("instance") != instance
    ):
        return _expired_token()
    if needed and not any(_scope_allowed(scope, found.scopes) for scope in needed):
        return error(403, "This action is outside the authorized scopes")
    return found


# -- account ---------------------------------------------------------------------------------------------------


def account_json(instance: str) -> dict[str, Any]:
    username = DEMO_ACCOUNT["username"]
    return {
        "id": account_id(instance),
        "username": username,
        "acct": username,
        "display_name": DEMO_ACCOUNT["display_name"],
        "locked": False,
        "bot": False,
        "created_at": "2024-11-18T00:00:00.000Z",
        "note": DEMO_ACCOUNT["note"],
        "url": f"https://{instance}/@{username}",
        "uri": f"https://{instance}/users/{username}",
        # Pictures are served by the sandbox itself: the instance named here is not really there.
        "avatar": core.avatar_url(NAME, DEMO_ACCOUNT["display_name"]),
        "avatar_static": core.avatar_url(NAME, DEMO_ACCOUNT["display_name"]),
        "header": core.avatar_url(NAME, DEMO_ACCOUNT["display_name"]),
        "followers_count": 842,
        "following_count": 197,
        "statuses_count": len([p for p in core.store().posts(NAME) if p.extra.get("instance") == instance]),
        "fields": [{"name": "Website", "value": "https://harborvine.example", "verified_at": None}],
    }


@bp.get("/<instance>/api/v1/accounts/verify_credentials")
def verify_credentials(instance: str) -> Response:
    found = _token(instance, "profile", "read:accounts")
    if isinstance(found, Response):
        return found
    body = account_json(instance)
    body["source"] = {"privacy": "public", "sensitive": False, "language": "en", "note": "", "fields": []}
    return jsonify(body)


# -- media ([Media]) -------------------------------------------------------------------------------------------------


def _media_json(instance: str, media_id: str, media: dict[str, Any]) -> dict[str, Any]:
    base = f"https://files.{instance}/media_attachments/files/{media_id}"
    ext = "mp4" if media["type"] == "video" else "jpeg"
    return {
        "id": media_id,
        "type": media["type"],
        "url": f"{base}/original/file.{ext}" if media["ready"] else None,
        "preview_url": f"{base}/small/file.jpeg",
        "remote_url": None,
        "meta": {},
        "description": media.get("description") or None,
        "blurhash": "UFBWY:8_0Jxu~qWBkCt7%MWBRjof%MWBRjof",
    }


@bp.post("/<instance>/api/v2/media")
def upload_media(instance: str) -> Response:
    found = _token(instance, "write:media")
    if isinstance(found, Response):
        return found
    limited = _count_media_upload(instance, found.account_id)
    if limited:
        return limited
    upload = request.files.get("file")
    if upload is None:
        return error(422, "Validation failed: File can't be blank")
    data = upload.read()
    mime = (upload.mimetype or "").lower()
    if mime not in IMAGE_TYPES and mime not in VIDEO_TYPES:
        return error(422, "Validation failed: File content type is invalid, File file type is not allowed")
    kind = "video" if mime in VIDEO_TYPES else "image"
    limit = VIDEO_LIMIT if kind == "video" else IMAGE_LIMIT
    if len(data) > limit:
        return error(422, f"Validation failed: File file size must be less than {limit // (1024 * 1024)} MB")
    description = request.form.get("description") or ""
    if len(description) > DESCRIPTION_LIMIT:
        return error(422, f"Validation failed: Description is too long (maximum is {DESCRIPTION_LIMIT} characters)")
    media_id = _snowflake()
    # Small images are processed synchronously (200); video is processed in the background (202).
    media = {"instance": instance, "account_id": found.account_id, "type": kind, "mime": mime, "size": len(data),
             "description": description, "ready": kind == "image", "polls": 0, "status_id": None}
    core.store().put_object(NAME, "media", media_id, media, now=core.now())
    response = jsonify(_media_json(instance, media_id, media))
    response.status_code = 200 if media["ready"] else 202
    return response


def _count_media_upload(instance: str, owner: str) -> Response | None:
    store, now = core.store(), core.now()
    key = f"{instance}:{owner}"
    state = store.get_object(NAME, "media_uploads", key) or {"times": []}
    recent = [t for t in state["times"] if datetime.fromisoformat(t) > now - MEDIA_WINDOW]
    if len(recent) >= MEDIA_LIMIT:
        oldest = min(datetime.fromisoformat(t) for t in recent)
        return _rate_limited(int((oldest + MEDIA_WINDOW - now).total_seconds()) + 1)
    store.put_object(NAME, "media_uploads", key, {"times": [*recent, now.isoformat()]}, now=now)
    return None


@bp.get("/<instance>/api/v1/media/<media_id>")
def get_media(instance: str, media_id: str) -> Response:
    found = _token(instance, "write:media", "read:statuses")
    if isinstance(found, Response):
        return found
    media = core.store().get_object(NAME, "media", media_id)
    if media is None or media["instance"] != instance or media["account_id"] != found.account_id:
        return error(404, "Record not found")
    if not media["ready"]:
        # The first check still finds it processing (206); it is ready by the next one.
        media["polls"] += 1
        media["ready"] = media["polls"] >= 2
        core.store().put_object(NAME, "media", media_id, media, now=core.now())
    response = jsonify(_media_json(instance, media_id, media))
    response.status_code = 200 if media["ready"] else 206
    return response


# -- statuses ([Statuses]) ---------------------------------------------------------------------------------------


def countable_length(text: str) -> int:
    """[Posting]: every URL counts as 23, a mention @name@host as @name; grapheme clusters otherwise, as
    https://github.com/mastodon/mastodon/blob/main/app/validators/status_length_validator.rb counts them."""
    countable = URL_RE.sub("x" * URL_CHARS, text)
    countable = MENTION_RE.sub(r"@\1", countable)
    return count_graphemes(countable)


def _status_json(instance: str, status_id: str) -> dict[str, Any] | None:
    post = core.store().post(NAME, status_id)
    if post is None or post.extra.get("instance") != instance:
        return None
    m = core.metric_values(status_id, post.created_at)
    username = DEMO_ACCOUNT["username"]
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in post.text.split("\n\n") if p)
    return {
        "id": status_id,
        "created_at": post.created_at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "in_reply_to_id": None,
        "in_reply_to_account_id": None,
        "sensitive": post.extra.get("sensitive", False),
        "spoiler_text": post.extra.get("spoiler_text", ""),
        "visibility": post.extra.get("visibility", "public"),
        "language": post.extra.get("language", "en"),
        "uri": f"https://{instance}/users/{username}/statuses/{status_id}",
        "url": post.permalink,
        "replies_count": m["comments"],
        "reblogs_count": m["shares"],
        "favourites_count": m["likes"],
        "quotes_count": m["quotes"],
        "edited_at": None,
        "content": paragraphs,
        "reblog": None,
        "application": {"name": post.extra.get("application", "Stella"), "website": None},
        "account": account_json(instance),
        "media_attachments": post.extra.get("media_attachments", []),
        "mentions": [],
        "tags": [{"name": t.lower(), "url": f"https://{instance}/tags/{t.lower()}"}
                 for t in re.findall(r"(?:^|\s)#(\w+)", post.text)],
        "emojis": [],
        "card": None,
        "poll": None,
    }


@bp.post("/<instance>/api/v1/statuses")
def create_status(instance: str) -> Response:
    found = _token(instance, "write:statuses")
    if isinstance(found, Response):
        return found
    store, now = core.store(), core.now()
    key = request.headers.get("Idempotency-Key")
    idem_key = f"{instance}:{found.account_id}:{key}" if key else None
    if idem_key:
        seen = store.get_object(NAME, "idempotency", idem_key)
        if seen and datetime.fromisoformat(seen["at"]) > now - IDEMPOTENCY_WINDOW:
            body = _status_json(instance, seen["status_id"])
            if body is not None:
                return jsonify(body)  # [Statuses]: the same status for a repeated key
    payload = request.get_json(silent=True) if request.is_json else None
    form = payload if isinstance(payload, dict) else request.form
    text = str(form.get("status") or "")
    spoiler = str(form.get("spoiler_text") or "")
    if isinstance(payload, dict):
        media_ids = [str(m) for m in payload.get("media_ids") or []]
    else:
        media_ids = request.form.getlist("media_ids[]")
    visibility = str(form.get("visibility") or "public")
    if not text.strip() and not media_ids:
        return error(422, "Validation failed: Text can't be blank")
    if visibility not in VISIBILITIES:
        return error(422, "Validation failed: Visibility is not included in the list")
    if countable_length(text + spoiler) > MAX_CHARACTERS:
        return error(422, f"Validation failed: Text character limit of {MAX_CHARACTERS} exceeded")
    if len(media_ids) > MAX_MEDIA:
        return error(422, f"Cannot attach more than {MAX_MEDIA} files")
    attachments: list[tuple[str, dict[str, Any]]] = []
    for media_id in media_ids:
        media = store.get_object(NAME, "media", media_id)
        if (
            media is None or media["instance"] != instance or media["account_id"] != found.account_id
            or media["status_id"] is not None
        ):
            return error(422, f"Media {media_id} not found or already attached to another post")
        attachments.append((media_id, media))
    kinds = {media["type"] for _, media in attachments}
    if "video" in kinds and len(attachments) > 1:
        return error(422, "Cannot attach a video to a post that already contains images")
    if any(not media["ready"] for _, media in attachments):
        return error(422, "Cannot attach files that have not finished processing. Try again in a moment!")
    status_id = _snowflake()
    client = store.client(NAME, found.client_id)
    store.record_post(
        NAME, account_id=found.account_id, platform_post_id=status_id, text=text, now=now,
        permalink=f"https://{instance}/@{DEMO_ACCOUNT['username']}/{status_id}",
        media=[{"kind": media["type"], "id": media_id, "mime": media["mime"]} for media_id, media in attachments],
        idempotency_key=key,
        extra={
            "instance": instance,
            "visibility": visibility,
            "spoiler_text": spoiler,
            "sensitive": bool(form.get("sensitive")) and str(form.get("sensitive")).lower() not in ("false", "0"),
            "language": str(form.get("language") or "en"),
            "application": str(client.extra.get("name") or "Stella") if client else "Stella",
            "media_attachments": [_media_json(instance, mid, media) for mid, media in attachments],
        },
    )
    for media_id, media in attachments:
        store.put_object(NAME, "media", media_id, {**media, "status_id": status_id}, now=now)
    if idem_key:
        store.put_object(NAME, "idempotency", idem_key, {"status_id": status_id, "at": now.isoformat()}, now=now)
    core.after_create(NAME)
    return jsonify(_status_json(instance, status_id))


@bp.get("/<instance>/api/v1/statuses/<status_id>")
def get_status(instance: str, status_id: str) -> Response:
    """[Statuses] GET: public statuses need no token; the counts back the analytics step."""
    body = _status_json(instance, status_id)
    if body is None:
        return error(404, "Record not found")
    return jsonify(body)


def _snowflake() -> str:
    """Mastodon ids: milliseconds since the epoch shifted left 16 bits, plus a sequence (as a string)."""
    millis = int(core.now().timestamp() * 1000)
    return str((millis << 16) | (core.store().next_number(NAME, "snowflake") & 0xFFFF))
