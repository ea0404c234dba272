"""Sandbox stand-in for LinkedIn (OAuth on www.linkedin.com, the versioned `/rest` API on api.linkedin.com).

Rules follow LinkedIn's documentation (learn.microsoft.com), cited below by the names in brackets:
- [Auth code flow] https://learn.microsoft.com/en-us/linkedin/shared/authentication/authorization-code-flow:
  client secret in the form body (HTTP Basic is not accepted, as other clients report), single-use codes,
  60-day access tokens.
- [Refresh tokens] https://learn.microsoft.com/en-us/linkedin/shared/authentication/programmatic-refresh-tokens:
  non-rotating refresh tokens whose 365-day lifetime does not reset.
- [Versioning] https://learn.microsoft.com/en-us/linkedin/marketing/versioning: a required `LinkedIn-Version`.
- [Protocol version] https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/protocol-version
- [Posts API] https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api: posts as
  a member or as an organization the member administers; the post URN in the `x-restli-id` header of an empty 201.
- [Little text format] https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/little-text-format:
  an unescaped reserved character silently truncates the post.
- [Images API] https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/images-api and
  [Videos API] https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/videos-api
- [Share statistics]
  https://learn.microsoft.com/en-us/linkedin/marketing/community-management/organizations/share-statistics
- [Rate limits] https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/rate-limits
- [Error handling] https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/error-handling
Scopes follow LinkedIn's product split (docs/platform-verification.md item 1): OpenID Connect scopes and
Community Management scopes never come from one app, so asking for both is refused, and the member is then
read from `/v2/me` (r_basicprofile) rather than `/v2/userinfo` (openid).
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote

from flask import Blueprint, Response, jsonify, request

from stella.sandbox import core, oauth
from stella.sandbox.store import Client, Token

NAME = "linkedin"
ACCESS_TTL = timedelta(days=60)  # [Auth code flow]
REFRESH_TTL = timedelta(days=365)
MAX_COMMENTARY = 3000  # as other clients apply it; LinkedIn's docs state no number
MAX_VIDEO_BYTES = 500 * 1024 * 1024
VIDEO_PART_BYTES = 4 * 1024 * 1024
# docs/platform-verification.md item 1: LinkedIn grants scopes per product, the Community Management API must be the
# only product on its app, and an authorization asking for any scope the app lacks fails entirely. The two app kinds
# that can exist, and the scopes each may grant:
SELF_SERVE_SCOPES = frozenset({"openid", "profile", "email", "w_member_social"})  # OIDC + Share on LinkedIn
COMMUNITY_MANAGEMENT_SCOPES = frozenset({
    "r_basicprofile", "w_member_social", "w_organization_social", "r_organization_social", "rw_organization_admin",
    "r_organization_admin",
})
KNOWN_SCOPES = SELF_SERVE_SCOPES | COMMUNITY_MANAGEMENT_SCOPES
ORG_POSTING_ROLES = frozenset({"ADMINISTRATOR", "CONTENT_ADMINISTRATOR", "DIRECT_SPONSORED_CONTENT_POSTER",
                               "RECRUITING_POSTER"})
ORG_ADMIN_SCOPES = frozenset({"rw_organization_admin", "r_organization_admin"})

MEMBER = {
    "sub": "hv7Qm2LxTa",
    "name": "Maya Chen",
    "given_name": "Maya",
    "family_name": "Chen",
    "locale": {"country": "US", "language": "en"},
    "email": "maya.chen@harborvine.example",
    "email_verified": True,
}
MEMBER_URN = f"urn:li:person:{MEMBER['sub']}"
MEMBER_VANITY_NAME = "maya-chen-harborvine"
ORGANIZATIONS = {
    "90210417": {"localizedName": "Harbor & Vine Realty", "vanityName": "harbor-vine-realty", "role": "ADMINISTRATOR"},
    "90210418": {"localizedName": "Harbor & Vine Property Management", "vanityName": "harbor-vine-pm",
                 "role": "CONTENT_ADMINISTRATOR"},
    "51023377": {"localizedName": "Coastal Realtors Association", "vanityName": "coastal-realtors",
                 "role": "ANALYST"},  # visible in the ACLs, but this role may not post
}
# [Little text format]: reserved characters.
_RESERVED = set("\\|{}@[]()<>#*_~")

bp = Blueprint("sandbox_linkedin", __name__)


# -- error shapes ([Error handling]) ------------------------------------------------------------------------


def _error(status: int, message: str, *, service_code: int | None = None, code: str | None = None,
           headers: dict[str, str] | None = None) -> Response:
    body: dict[str, Any] = {"status": status, "message": message}
    if service_code is not None:
        body["serviceErrorCode"] = service_code
    if code:
        body["code"] = code
    return core.json_error(status, body, headers)


def expired_token() -> Response:
    return _error(401, "The token used in the request has expired", service_code=65601, code="EXPIRED_ACCESS_TOKEN")


def rate_limited(retry_after: int = 60) -> Response:
    # [Rate limits]: daily limits; no Retry-After header (none documented or seen).
    return _error(429, "Resource level throttle APPLICATION DAY limit for calls to this resource is reached.")


def rejection(reason: str = "rejected") -> Response:
    if reason == "duplicate":
        return _error(422, "Content is a duplicate of an existing post", code="DUPLICATE_POST")
    return _error(422, f"ERROR :: /commentary :: {reason}")


def server_error(status: int = 503) -> Response:
    return _error(status, "Service Unavailable" if status == 503 else "Internal Server Error")


PLATFORM = core.SandboxPlatform(
    name=NAME, display_name="LinkedIn", blueprint=bp, hosts=("www.linkedin.com", "api.linkedin.com"),
    color="#0A66C2", expired_token=expired_token, rate_limited=rate_limited, rejection=rejection,
    server_error=server_error,
    demo_notes="Signs in as Maya Chen, administrator of the Harbor & Vine Realty Page (reachable with the "
               "Community Management scopes of STELLA_LINKEDIN_SCOPES; the default member scopes post as Maya).",
)


# -- helpers ---------------------------------------------------------------------------------------------------


def _token_json(token: Token) -> dict[str, Any]:
    body: dict[str, Any] = {
        "access_token": token.access_token,
        "expires_in": token.expires_in,
        "scope": ",".join(token.scopes),
        "token_type": "Bearer",
    }
    if token.refresh_token and token.refresh_expires_at:
        body["refresh_token"] = token.refresh_token
        # [Refresh tokens]: the refresh token's lifetime counts down from the first grant; it never resets.
        body["refresh_token_expires_in"] = max(0, int((token.refresh_expires_at - core.now()).total_seconds()))
    return body


def _authorized(*scopes: str, any_of: frozenset[str] | None = None) -> Token | Response:
    value = core.bearer_token()
    token = core.store().token(NAME, value) if value else None
    if token is None:
        return _error(401, "Invalid access token", service_code=65600, code="INVALID_ACCESS_TOKEN")
    if token.revoked_at is not None:
        return _error(401, "The token used in the request has been revoked by the user", service_code=65601,
                      code="REVOKED_ACCESS_TOKEN")
    if token.access_expired(core.now()):
        return expired_token()
    if any(s not in token.scopes for s in scopes) or (any_of and not any_of & set(token.scopes)):
        return _error(403, f"Not enough permissions to access: {request.path.split('/', 2)[-1]}",
                      service_code=100, code="ACCESS_DENIED")
    return token


def _versioned() -> Response | None:
    """[Versioning]: every /rest call names an active version; there is no default."""
    version = request.headers.get("LinkedIn-Version", "")
    if not version:
        return _error(400, "A version must be present. Please specify a version by adding the LinkedIn-Version "
                           "header.", code="VERSION_MISSING")
    if not re.fullmatch(r"\d{6}(\.\d{2})?", version):
        return _error(400, f"Invalid LinkedIn-Version header: {version}", code="INVALID_VERSION")
    year, month = int(version[:4]), int(version[4:6])
    now = core.now()
    age_months = (now.year - year) * 12 + (now.month - month)
    if not 1 <= month <= 12 or age_months < 0 or age_months > 12:  # each version is served for about a year
        return _error(426, f"Requested version {version} is not active", code="NONEXISTENT_VERSION")
    return None


def _restli() -> Response | None:
    # [Protocol version]: finders and batch calls use Rest.li protocol 2.0.
    if request.headers.get("X-Restli-Protocol-Version") != "2.0.0":
        return _error(400, "Missing or invalid X-Restli-Protocol-Version header; 2.0.0 is required for this call.")
    return None


def _rest_guard(*scopes: str, restli: bool = False, any_of: frozenset[str] | None = None) -> Token | Response:
    failure = _versioned() or (_restli() if restli else None)
    if failure is not None:
        return failure
    return _authorized(*scopes, any_of=any_of)


def _can_post_as(token: Token, author: str) -> bool:
    if author == MEMBER_URN:
        return token.account_id == MEMBER_URN and "w_member_social" in token.scopes
    if author.startswith("urn:li:organization:"):
        org = ORGANIZATIONS.get(author.rsplit(":", 1)[-1])
        return bool(org and org["role"] in ORG_POSTING_ROLES and "w_organization_social" in token.scopes)
    return False


def _share_urn() -> str:
    # li ids are 19-digit activity numbers.
    base = 7_260_000_000_000_000_000 + int(core.now().timestamp() * 1000) * 1000
    return f"urn:li:share:{base + core.store().next_number(NAME, 'share')}"


def render_little_text(commentary: str) -> str:
    """What LinkedIn shows for a `little`-format commentary: escapes removed, and the text cut at the first
    unescaped reserved character ([Little text format]), links and #hashtags excepted."""
    out: list[str] = []
    i = 0
    while i < len(commentary):
        ch = commentary[i]
        if ch == "\\" and i + 1 < len(commentary) and commentary[i + 1] in _RESERVED:
            out.append(commentary[i + 1])
            i += 2
            continue
        link = re.match(r"https?://[^\s<>]+", commentary[i:])
        if link:
            out.append(link.group(0))
            i += len(link.group(0))
            continue
        if ch == "#" and re.match(r"#\w", commentary[i:]) and (i == 0 or not commentary[i - 1].isalnum()):
            out.append(ch)
            i += 1
            continue
        if ch in _RESERVED:
            break  # silently truncated, and still a success
        out.append(ch)
        i += 1
    return "".join(out)


# -- OAuth ([Auth code flow], [Refresh tokens]) ------------------------------------------------------------------


@bp.route("/www.linkedin.com/oauth/v2/authorization", methods=["GET", "POST"])
def authorize() -> Response:
    consent = oauth.check_consent_request(
        PLATFORM,
        unknown_client=oauth.Refusal("The passed in client_id is invalid."),
        redirect_mismatch=oauth.Refusal("The redirect_uri does not match the registered value."),
        bad_response_type=oauth.Refusal("response_type must be code", "invalid_request"),
        check_scopes=_check_scopes,
    )
    if isinstance(consent, Response):
        return consent
    return consent.page(account_id=MEMBER_URN, account_label=f"{MEMBER['name']} · Harbor & Vine Realty",
                        code_ttl=timedelta(minutes=30))  # li: authorization codes live 30 minutes


def _check_scopes(scopes: list[str], client: Client) -> oauth.Refusal | None:
    refused = _unauthorized_scope(scopes)
    if scopes and refused is None:
        return None
    return oauth.Refusal(f"Scope &quot;{refused or ''}&quot; is not authorized for your application",
                         "unauthorized_scope_error")


def _unauthorized_scope(scopes: list[str]) -> str | None:
    """The first scope no single LinkedIn app could grant together with the others, or None.

    Asking for any Community Management-only scope means the app must be a Community Management app, which cannot
    also carry the OpenID Connect product: then `openid`/`profile`/`email` are the refused scopes (LinkedIn answers
    `Scope "openid" is not authorized for your application`)."""
    for scope in scopes:
        if scope not in KNOWN_SCOPES:
            return scope
    allowed = SELF_SERVE_SCOPES if set(scopes) <= SELF_SERVE_SCOPES else COMMUNITY_MANAGEMENT_SCOPES
    return next((scope for scope in scopes if scope not in allowed), None)


@bp.post("/www.linkedin.com/oauth/v2/accessToken")
def access_token() -> Response:
    form = request.form
    if not form.get("client_id"):
        # [Auth code flow]: credentials go in the body; a Basic header alone leaves client_id missing.
        return oauth.oauth_error(400, "invalid_request", 'A required parameter "client_id" is missing')
    client = oauth.authenticate_client(
        NAME, lambda problem: oauth.oauth_error(401, "invalid_client", "Client authentication failed"),
        styles=("body",), lookup=lambda client_id: core.store().client(NAME, form.get("client_id", "")),
    )
    if isinstance(client, Response):
        return client
    now = core.now()
    grant = form.get("grant_type")
    if grant == "authorization_code":
        code, reason = core.store().consume_code(NAME, form.get("code", ""), now=now)
        if code is None or reason or code.client_id != client.client_id or code.redirect_uri != form.get(
                "redirect_uri"):
            return oauth.oauth_error(400, "invalid_request", "Unable to retrieve access token: appid/redirect uri/code "
                                                        "verifier does not match authorization code. Or authorization "
                                                        "code expired. Or external member binding exists")
        issued = core.store().issue_token(NAME, client_id=client.client_id, account_id=code.account_id,
                                          scopes=code.scopes, now=now, access_ttl=ACCESS_TTL, refresh_ttl=REFRESH_TTL)
        return jsonify(_token_json(issued))
    if grant == "refresh_token":
        old = core.store().token_by_refresh(NAME, form.get("refresh_token", ""))
        if old is None or old.client_id != client.client_id or old.revoked_at is not None or old.refresh_expired(now):
            return oauth.oauth_error(400, "invalid_grant", "The provided authorization grant or refresh token is "
                                                      "invalid, expired or revoked.")
        # [Refresh tokens]: the same refresh token comes back, with its original expiry.
        issued = core.store().issue_token(NAME, client_id=client.client_id, account_id=old.account_id,
                                          scopes=old.scopes, now=now, access_ttl=ACCESS_TTL,
                                          refresh_token=old.refresh_token, refresh_expires_at=old.refresh_expires_at)
        return jsonify(_token_json(issued))
    return oauth.oauth_error(400, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token")


# -- identity and organizations ------------------------------------------------------------------------------------


@bp.get("/api.linkedin.com/v2/userinfo")
def userinfo() -> Response:
    token = _authorized("openid", "profile")
    if isinstance(token, Response):
        return token
    info = {k: v for k, v in MEMBER.items() if k not in ("email", "email_verified") or "email" in token.scopes}
    info["picture"] = core.avatar_url(NAME, str(MEMBER["name"]))  # real ones live on media.licdn.com
    return jsonify(info)


@bp.get("/api.linkedin.com/v2/me")
def me() -> Response:
    """The member through the unversioned Profile API: r_basicprofile, not OIDC `profile`, opens it."""
    token = _authorized("r_basicprofile")
    if isinstance(token, Response):
        return token
    profile = {
        "id": MEMBER["sub"],
        "localizedFirstName": MEMBER["given_name"],
        "localizedLastName": MEMBER["family_name"],
        "vanityName": MEMBER_VANITY_NAME,
        "localizedHeadline": "Broker at Harbor & Vine Realty",
    }
    match = re.fullmatch(r"\(([\w,]*)\)", request.args.get("projection", ""))
    if request.args.get("projection") and not match:
        return _error(400, "Invalid projection parameter")
    if match:
        fields = set(filter(None, match.group(1).split(",")))
        profile = {k: v for k, v in profile.items() if k in fields}
    return jsonify(profile)


@bp.get("/api.linkedin.com/rest/organizationAcls")
def organization_acls() -> Response:
    token = _rest_guard(restli=True, any_of=ORG_ADMIN_SCOPES)
    if isinstance(token, Response):
        return token
    if request.args.get("q") != "roleAssignee":
        return _error(400, "Invalid finder: q must be roleAssignee or organization")
    state = request.args.get("state")
    elements = [
        {"roleAssignee": MEMBER_URN, "state": "APPROVED", "role": org["role"],
         "organization": f"urn:li:organization:{org_id}"}
        for org_id, org in ORGANIZATIONS.items() if state in (None, "APPROVED")
    ]
    return jsonify({"paging": {"start": 0, "count": 10, "links": [], "total": len(elements)}, "elements": elements})


@bp.get("/api.linkedin.com/rest/organizations")
def organizations_batch() -> Response:
    token = _rest_guard(restli=True, any_of=ORG_ADMIN_SCOPES)
    if isinstance(token, Response):
        return token
    match = re.fullmatch(r"List\(([\d,]*)\)", unquote(request.args.get("ids", "")))
    if not match:
        return _error(400, "Invalid ids parameter: use ids=List(id1,id2)")
    results, errors = {}, {}
    for org_id in filter(None, match.group(1).split(",")):
        org = ORGANIZATIONS.get(org_id)
        if org is None:
            errors[org_id] = {"status": 404, "message": f"Organization {org_id} not found"}
            continue
        results[org_id] = {
            "id": int(org_id), "localizedName": org["localizedName"], "vanityName": org["vanityName"],
            "$URN": f"urn:li:organization:{org_id}",
            "logoV2": {"original": f"urn:li:digitalmediaAsset:C4E0BAQ{org_id}",
                       "cropped": f"urn:li:digitalmediaAsset:C4E0BAQ{org_id}c"},
        }
    return jsonify({"results": results, "statuses": {k: 200 for k in results}, "errors": errors})


# -- media ([Images API], [Videos API]) ------------------------------------------------------------------------------


def _initialize_owner(token: Token, body: Any, key: str = "initializeUploadRequest") -> str | Response:
    request_body = body.get(key) if isinstance(body, dict) else None
    if not isinstance(request_body, dict) or not request_body.get("owner"):
        return _error(422, f"ERROR :: /{key}/owner :: field is required but not found and has no default value")
    owner = str(request_body["owner"])
    if not _can_post_as(token, owner):
        return _error(403, f"Not enough permissions to access: owner {owner}", service_code=100,
                      code="ACCESS_DENIED")
    return owner


@bp.post("/api.linkedin.com/rest/images")
def images_action() -> Response:
    token = _rest_guard()
    if isinstance(token, Response):
        return token
    if request.args.get("action") != "initializeUpload":
        return _error(400, "Unsupported action")
    owner = _initialize_owner(token, request.get_json(silent=True))
    if isinstance(owner, Response):
        return owner
    image_id = f"D4E10AQ{secrets.token_hex(6).upper()}"
    urn = f"urn:li:image:{image_id}"
    upload_path = f"/dms-uploads/sp/{image_id}/uploaded-image/0"
    core.store().put_object(NAME, "image", urn, {"owner": owner, "status": "WAITING_UPLOAD", "size": 0,
                                                 "upload_path": upload_path}, now=core.now())
    core.store().put_object(NAME, "upload", upload_path, {"kind": "image", "urn": urn}, now=core.now())
    expires = int((core.now() + timedelta(days=1)).timestamp() * 1000)
    return jsonify({"value": {"uploadUrlExpiresAt": expires,
                              "uploadUrl": f"https://www.linkedin.com{upload_path}?ca=vector_ads&cn=uploads",
                              "image": urn}})


@bp.post("/api.linkedin.com/rest/videos")
def videos_action() -> Response:
    token = _rest_guard()
    if isinstance(token, Response):
        return token
    body: Any = request.get_json(silent=True)  # any JSON; _initialize_owner checks its shape
    action = request.args.get("action")
    if action == "initializeUpload":
        owner = _initialize_owner(token, body)
        if isinstance(owner, Response):
            return owner
        size = body["initializeUploadRequest"].get("fileSizeBytes")
        if not isinstance(size, int) or size <= 0:
            return _error(422, "ERROR :: /initializeUploadRequest/fileSizeBytes :: field is required")
        if size > MAX_VIDEO_BYTES:
            return _error(400, f"fileSizeBytes {size} exceeds the maximum of {MAX_VIDEO_BYTES} bytes")
        video_id = f"C5F10AQ{secrets.token_hex(6).upper()}"
        urn = f"urn:li:video:{video_id}"
        instructions, parts = [], []
        for index, first in enumerate(range(0, size, VIDEO_PART_BYTES)):
            last = min(size, first + VIDEO_PART_BYTES) - 1
            path = f"/dms-uploads/sp/{video_id}/uploaded-video/{index}"
            instructions.append({"uploadUrl": f"https://www.linkedin.com{path}?ca=vector_ads&cn=uploads",
                                 "lastByte": last, "firstByte": first})
            parts.append({"path": path, "first": first, "last": last, "etag": None})
            core.store().put_object(NAME, "upload", path, {"kind": "video", "urn": urn, "index": index},
                                    now=core.now())
        upload_token = "" if len(parts) == 1 else secrets.token_urlsafe(12)
        core.store().put_object(NAME, "video", urn, {"owner": owner, "status": "WAITING_UPLOAD", "size": size,
                                                     "parts": parts, "upload_token": upload_token, "polls": 0},
                                now=core.now())
        expires = int((core.now() + timedelta(days=1)).timestamp() * 1000)
        return jsonify({"value": {"uploadUrlsExpireAt": expires, "video": urn, "uploadInstructions": instructions,
                                  "uploadToken": upload_token}})
    if action == "finalizeUpload":
        request_body = (body or {}).get("finalizeUploadRequest") if isinstance(body, dict) else None
        if not isinstance(request_body, dict):
            return _error(422, "ERROR :: /finalizeUploadRequest :: field is required")
        urn = str(request_body.get("video") or "")
        video = core.store().get_object(NAME, "video", urn)
        if video is None:
            return _error(404, f"Video {urn} not found")
        if (request_body.get("uploadToken") or "") != video["upload_token"]:
            return _error(400, "Invalid uploadToken")
        expected = [part["etag"] for part in video["parts"]]
        if None in expected or request_body.get("uploadedPartIds") != expected:
            return _error(400, "The uploadedPartIds do not match the uploaded parts")
        video["status"] = "PROCESSING"
        core.store().put_object(NAME, "video", urn, video, now=core.now())
        return Response(status=200)
    return _error(400, "Unsupported action")


@bp.put("/www.linkedin.com/dms-uploads/sp/<asset>/<kind>/<int:index>")
def upload_bytes(asset: str, kind: str, index: int) -> Response:
    token = _authorized()
    if isinstance(token, Response):
        return token
    path = f"/dms-uploads/sp/{asset}/{kind}/{index}"
    upload = core.store().get_object(NAME, "upload", path)
    if upload is None:
        return _error(404, "Upload URL not found or expired")
    data = request.get_data()
    now = core.now()
    if upload["kind"] == "image":
        image = core.store().get_object(NAME, "image", upload["urn"]) or {}
        image.update(status="AVAILABLE", size=len(data))
        core.store().put_object(NAME, "image", upload["urn"], image, now=now)
        return Response(status=201)
    video = core.store().get_object(NAME, "video", upload["urn"]) or {}
    part = video["parts"][upload["index"]]
    if len(data) != part["last"] - part["first"] + 1:
        return _error(400, f"Expected {part['last'] - part['first'] + 1} bytes for this part, got {len(data)}")
    part["etag"] = f"/{secrets.token_urlsafe(18)}"
    core.store().put_object(NAME, "video", upload["urn"], video, now=now)
    response = Response(status=200)
    response.headers["ETag"] = part["etag"]
    return response


@bp.get("/api.linkedin.com/rest/videos/<path:urn>")
def video_status(urn: str) -> Response:
    token = _rest_guard()
    if isinstance(token, Response):
        return token
    urn = unquote(urn)
    video = core.store().get_object(NAME, "video", urn)
    if video is None or not _can_post_as(token, video["owner"]):
        return _error(404, f"Video {urn} not found")
    if video["status"] == "PROCESSING":
        # Processing finishes on the second status call after finalizing.
        video["polls"] += 1
        if video["polls"] >= 2:
            video["status"] = "AVAILABLE"
        core.store().put_object(NAME, "video", urn, video, now=core.now())
    return jsonify({"owner": video["owner"], "id": urn, "status": video["status"],
                    "duration": 42000, "aspectRatioWidth": 16.0, "aspectRatioHeight": 9.0})


# -- posts ([Posts API]) -------------------------------------------------------------------------------------------

REQUIRED_POST_FIELDS = ("author", "commentary", "visibility", "distribution", "lifecycleState")


@bp.post("/api.linkedin.com/rest/posts")
def create_post() -> Response:
    token = _rest_guard()
    if isinstance(token, Response):
        return token
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _error(400, "Request body must be JSON")
    missing = [f for f in REQUIRED_POST_FIELDS if f not in body]
    if missing:
        return _error(422, f"ERROR :: /{missing[0]} :: field is required but not found and has no default value")
    author = str(body["author"])
    if not _can_post_as(token, author):
        return _error(403, "Not enough permissions to access: partnerApiPostsExternal.CREATE.20240301",
                      service_code=100, code="ACCESS_DENIED")
    commentary = body["commentary"]
    if not isinstance(commentary, str):
        return _error(422, "ERROR :: /commentary :: expected a string")
    if len(commentary) > MAX_COMMENTARY:
        return _error(422, f"ERROR :: /commentary :: length {len(commentary)} exceeds maximum length "
                           f"{MAX_COMMENTARY}")
    if body["visibility"] not in ("PUBLIC", "CONNECTIONS", "LOGGED_IN", "CONTAINER"):
        return _error(422, f"ERROR :: /visibility :: invalid enum value {body['visibility']}")
    if body["lifecycleState"] not in ("PUBLISHED", "DRAFT"):
        return _error(422, f"ERROR :: /lifecycleState :: invalid enum value {body['lifecycleState']}")
    media = _post_media(body.get("content"), author)
    if isinstance(media, Response):
        return media
    urn = _share_urn()
    core.store().record_post(
        NAME, account_id=author, platform_post_id=urn, text=render_little_text(commentary), now=core.now(),
        permalink=f"https://www.linkedin.com/feed/update/{urn}", media=media,
        extra={"commentary": commentary, "visibility": body["visibility"]},
    )
    core.after_create(NAME)
    response = Response(status=201)
    response.headers["x-restli-id"] = urn
    response.headers["x-linkedin-id"] = urn
    return response


def _post_media(content: Any, author: str) -> list[dict[str, Any]] | Response:
    if content is None:
        return []
    if not isinstance(content, dict):
        return _error(422, "ERROR :: /content :: expected an object")
    if "media" in content:
        ids = [str((content["media"] or {}).get("id") or "")]
    elif "multiImage" in content:
        ids = [str(i.get("id") or "") for i in (content["multiImage"] or {}).get("images") or []]
        if not 2 <= len(ids) <= 20:
            return _error(422, "ERROR :: /content/multiImage/images :: must hold 2 to 20 images")
        if any(not i.startswith("urn:li:image:") for i in ids):
            return _error(422, "ERROR :: /content/multiImage/images :: only images can be combined")
    else:
        return _error(422, f"ERROR :: /content :: unsupported content {sorted(content)}")
    media = []
    for media_id in ids:
        kind = "image" if media_id.startswith("urn:li:image:") else "video" if media_id.startswith(
            "urn:li:video:") else None
        item = core.store().get_object(NAME, kind, media_id) if kind else None
        if item is None or item["owner"] != author:
            return _error(422, f"ERROR :: /content/media/id :: {media_id} is not a valid media for this author")
        if item["status"] != "AVAILABLE":
            return _error(422, f"ERROR :: /content/media/id :: {media_id} is not AVAILABLE (status "
                               f"{item['status']})")
        media.append({"id": media_id, "kind": kind, "size": item["size"]})
    return media


# -- metrics ([Share statistics]) -------------------------------------------------------------------------------------


def _statistics(urn: str, created_at: datetime) -> dict[str, Any]:
    values = core.metric_values(urn, created_at)
    impressions = values["impressions"]
    interactions = values["likes"] + values["comments"] + values["shares"] + values["clicks"]
    return {
        "impressionCount": impressions, "uniqueImpressionsCount": values["reach"], "clickCount": values["clicks"],
        "likeCount": values["likes"], "commentCount": values["comments"], "shareCount": values["shares"],
        # [Share statistics]: engagement is a ratio, not a count (the exact formula is not documented).
        "engagement": round(interactions / impressions, 6) if impressions else 0.0,
    }


@bp.get("/api.linkedin.com/rest/organizationalEntityShareStatistics")
def share_statistics() -> Response:
    token = _rest_guard(restli=True, any_of=frozenset({"r_organization_social", "rw_organization_admin"}))
    if isinstance(token, Response):
        return token
    org = unquote(request.args.get("organizationalEntity", ""))
    if request.args.get("q") != "organizationalEntity" or org.rsplit(":", 1)[-1] not in ORGANIZATIONS:
        return _error(400, "q=organizationalEntity and a valid organizationalEntity are required")
    raw = unquote(request.args.get("shares") or request.args.get("ugcPosts") or "")
    match = re.fullmatch(r"List\((.*)\)", raw)
    urns = [u for u in (match.group(1).split(",") if match else []) if u]
    elements = []
    for urn in urns:
        post = core.store().post(NAME, urn)
        if post is None or post.account_id != org:
            continue
        key = "ugcPost" if urn.startswith("urn:li:ugcPost:") else "share"
        elements.append({"organizationalEntity": org, key: urn, "totalShareStatistics":
                         _statistics(urn, post.created_at)})
    return jsonify({"paging": {"start": 0, "count": len(elements), "links": []}, "elements": elements})


@bp.get("/api.linkedin.com/rest/socialActions/<path:urn>")
def social_actions(urn: str) -> Response:
    token = _rest_guard()
    if isinstance(token, Response):
        return token
    urn = unquote(urn)
    post = core.store().post(NAME, urn)
    if post is None:
        return _error(404, f"Entity {urn} not found")
    values = core.metric_values(urn, post.created_at)
    return jsonify({
        "target": urn,
        "likesSummary": {"totalLikes": values["likes"], "likedByCurrentUser": False},
        "commentsSummary": {"totalFirstLevelComments": values["comments"], "aggregatedTotalComments":
                            values["comments"]},
    })
