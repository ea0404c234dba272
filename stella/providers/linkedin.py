"""LinkedIn: members and organization Pages through the versioned `/rest` API.

LinkedIn's documentation (learn.microsoft.com), cited below by the names in brackets:
- [Auth code flow] https://learn.microsoft.com/en-us/linkedin/shared/authentication/authorization-code-flow
- [Refresh tokens] https://learn.microsoft.com/en-us/linkedin/shared/authentication/programmatic-refresh-tokens
- [Versioning] https://learn.microsoft.com/en-us/linkedin/marketing/versioning
- [Protocol version] https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/protocol-version
- [Posts API] https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api
- [Images API] https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/images-api
- [Videos API] https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/videos-api
- [Little text format] https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/little-text-format
- [Organization roles]
  https://learn.microsoft.com/en-us/linkedin/marketing/community-management/organizations/organization-access-control-by-role
- [Rate limits] https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/rate-limits
- [Error handling] https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/error-handling
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import quote

import requests

from stella.providers.base import (
    Account,
    Capabilities,
    MediaItem,
    OutboundPost,
    PlatformRules,
    Profile,
    Provider,
    PublishResult,
    Target,
    TokenSet,
    classify_generic,
    retry_after_seconds,
    safe_json,
)
from stella.providers.errors import (
    AuthExpiredError,
    ProviderError,
    RateLimitedError,
    RejectedError,
    TransientError,
)

API = "https://api.linkedin.com"
# [Versioning]: every /rest call names a version (YYYYMM, no default, each supported for at least a year).
LINKEDIN_VERSION = "202609"
# [Organization roles]: roles that may post as an organization.
POSTING_ROLES = frozenset({"ADMINISTRATOR", "CONTENT_ADMINISTRATOR", "DIRECT_SPONSORED_CONTENT_POSTER",
                           "RECRUITING_POSTER"})
# The self-serve member app: OIDC identity and posting as the member.
MEMBER_SCOPES = ("openid", "profile", "w_member_social")
# A Community Management app (docs/platform-verification.md item 1; other clients ask for these without `openid`).
# r_basicprofile is what identifies the member there (GET /v2/me): third-party clients report it on Community
# Management apps' Auth tab; LinkedIn does not document it (docs/platform-verification.md item 1).
PAGE_SCOPES = ("r_basicprofile", "w_member_social", "w_organization_social", "rw_organization_admin",
               "r_organization_social")
# [Organization roles]: listing the member's organizations (organizationAcls) needs one of these.
ORGANIZATION_ADMIN_SCOPES = frozenset({"rw_organization_admin", "r_organization_admin"})
# /v2/me fields other clients read with r_basicprofile (not in LinkedIn's current docs); ( , ) stay unencoded.
ME_PROJECTION = "(id,localizedFirstName,localizedLastName,vanityName)"
# Invalid (65600) and revoked (65601) access tokens: codes reported in client libraries' issues, not LinkedIn's docs.
EXPIRED_TOKEN_CODES = frozenset({65600, 65601, 65602})
MAX_VIDEO_BYTES = 500 * 1024 * 1024
MAX_IMAGE_BYTES = 36 * 1024 * 1024

# [Little text format]: these characters must be backslash-escaped, or LinkedIn silently truncates.
_LITTLE_RESERVED = set("\\|{}@[]()<>#*_~")
# Links and hashtags stay as they are so LinkedIn still links them (other clients' experience; not in LinkedIn's docs).
_KEEP_RE = re.compile(r"https?://[^\s<>]+|(?<![\w#])#\w+")


def escape_little_text(text: str) -> str:
    """Escape LinkedIn's reserved characters, leaving links and #hashtags intact."""
    out: list[str] = []
    last = 0
    for match in _KEEP_RE.finditer(text):
        out.append(_escape_plain(text[last:match.start()]))
        out.append(match.group(0))
        last = match.end()
    out.append(_escape_plain(text[last:]))
    return "".join(out)


def _escape_plain(text: str) -> str:
    return "".join("\\" + ch if ch in _LITTLE_RESERVED else ch for ch in text)


def urn_path(urn: str) -> str:
    """[Protocol version]: URNs in paths are URL-encoded (`:` becomes `%3A`)."""
    return quote(urn, safe="")


class LinkedInProvider(Provider):
    name = "linkedin"
    display_name = "LinkedIn"
    icon = "linkedin"
    color = "#0A66C2"
    tagline = "Updates on your profile or on a company page you administer."
    capabilities = Capabilities(
        formats=("post",),  # [Posts API]: text, images or one video, on the member's profile or an organization page
        supports_alt_text=True,  # [Posts API]: `altText` on each image
        target_kinds=("member", "organization"),
    )

    authorize_url = "https://www.linkedin.com/oauth/v2/authorization"
    token_url = "https://www.linkedin.com/oauth/v2/accessToken"
    # [Auth code flow] names no revocation endpoint: members remove the app in their LinkedIn settings.
    revoke_url = None
    # docs/platform-verification.md item 1: LinkedIn refuses a whole authorization asking for a scope the app lacks,
    # and the Community Management API (organization scopes) must be the only product on its app. So the default
    # is the self-serve member set (products "Sign In with LinkedIn using OpenID Connect" + "Share on LinkedIn");
    # a Page-posting deployment uses a Community Management app and sets STELLA_LINKEDIN_SCOPES to PAGE_SCOPES.
    scopes = MEMBER_SCOPES
    scope_separator = " "
    # [Auth code flow]: the server-side code flow has no PKCE step.
    uses_pkce = False
    # [Auth code flow]: client secret in the form body (HTTP Basic is not accepted, as other clients report).
    client_auth = "body"
    has_targets = True
    # Access tokens last 60 days: renew a few days early (only approved partners get refresh tokens).
    refresh_margin = timedelta(days=5)

    developer_portal = "https://www.linkedin.com/developers/apps"
    setup_notes = (
        "To post as members: create an app linked to your company Page (a Page super admin must verify it), add "
        "the products “Sign In with LinkedIn using OpenID Connect” and “Share on LinkedIn” — that is all the "
        "default scopes need. To post as a company Page instead: use a separate app whose only product is the "
        "“Community Management API” (LinkedIn vets access), and set STELLA_LINKEDIN_SCOPES to "
        "“r_basicprofile w_member_social w_organization_social rw_organization_admin r_organization_social”. "
        "LinkedIn refuses the whole sign-in if Stella asks for a scope the app does not have."
    )
    rules = PlatformRules(
        max_chars=3000,  # as other clients apply it; LinkedIn's docs state no number
        counting="chars",
        max_images=20,  # multiImage up to 20, per third parties (unverified in LinkedIn's docs)
        max_videos=1,
        mixed_media=False,
        image_types=("image/jpeg", "image/png", "image/gif"),
        video_types=("video/mp4",),
        max_image_bytes=MAX_IMAGE_BYTES,
        max_video_bytes=MAX_VIDEO_BYTES,
        notes=("Videos must be 3 seconds to 30 minutes long.",),
    )

    # -- helpers -----------------------------------------------------------------------------------------

    def rest_headers(self, access_token: str) -> dict[str, str]:
        """[Versioning], [Protocol version]: the headers every versioned `/rest` call needs."""
        return {
            **self.bearer(access_token),
            "LinkedIn-Version": LINKEDIN_VERSION,
            "X-Restli-Protocol-Version": "2.0.0",
        }

    # -- authorization -------------------------------------------------------------------------------------

    def fetch_profile(self, tokens: TokenSet) -> Profile:
        """The signed-in member; the author URN is `urn:li:person:{id}`.

        With `openid` requested this is OpenID Connect userinfo. A Community Management app cannot have `openid`
        (docs/platform-verification.md item 1), so it reads `GET /v2/me` instead, which r_basicprofile allows.
        """
        if "openid" in self.requested_scopes:
            return self._oidc_profile(tokens)
        return self._me_profile(tokens)

    def _oidc_profile(self, tokens: TokenSet) -> Profile:
        response = self.http.request(
            "GET", f"{API}/v2/userinfo", headers=self.bearer(tokens.access_token), classify=self.classify_error
        )
        body = self.json(response)
        sub = str(body.get("sub") or "")
        if not sub:
            raise RejectedError("LinkedIn did not say who signed in.", platform=self.name)
        name = body.get("name") or " ".join(p for p in (body.get("given_name"), body.get("family_name")) if p)
        # The vanity name needs the restricted r_basicprofile (docs/platform-verification.md item 1): no handle here.
        return _member_profile(sub, handle=None, display_name=name or None, avatar_url=body.get("picture"))

    def _me_profile(self, tokens: TokenSet) -> Profile:
        response = self.http.request(
            "GET",
            f"{API}/v2/me?projection={ME_PROJECTION}",
            headers=self.bearer(tokens.access_token),
            classify=self.classify_error,
        )
        body = self.json(response)
        member_id = str(body.get("id") or "")
        if not member_id:
            raise RejectedError("LinkedIn did not say who signed in.", platform=self.name)
        name = " ".join(
            str(p) for p in (body.get("localizedFirstName"), body.get("localizedLastName")) if p
        )
        return _member_profile(member_id, handle=body.get("vanityName") or None, display_name=name or None,
                               avatar_url=None)

    def list_targets(self, tokens: TokenSet, profile: Profile) -> list[Target]:
        """The member's own feed, then each organization Page the member may post for."""
        member = Target(
            id=profile.platform_account_id,
            name=profile.display_name or "My LinkedIn profile",
            kind="member",
            handle=profile.handle,
            avatar_url=profile.avatar_url,
            metadata={**dict(profile.metadata), "author_urn": profile.platform_account_id, "kind": "member"},
        )
        if not ORGANIZATION_ADMIN_SCOPES & set(self.requested_scopes):
            # A member-only app was never granted organization access: asking would only fail.
            return [member]
        return [member, *self._organizations(tokens, profile)]

    def _organizations(self, tokens: TokenSet, profile: Profile) -> list[Target]:
        headers = self.rest_headers(tokens.access_token)
        try:
            response = self.http.request(
                "GET",
                f"{API}/rest/organizationAcls",
                params={"q": "roleAssignee", "state": "APPROVED", "count": "100"},
                headers=headers,
                classify=self.classify_error,
            )
        except RejectedError as exc:
            if exc.status_code == 403:
                # The app was not granted organization access: the member can still post as themselves.
                return []
            raise
        roles: dict[str, str] = {}
        for element in self.json(response).get("elements") or []:
            org = str(element.get("organization") or element.get("organizationalTarget") or "")
            role = str(element.get("role") or "")
            if org.startswith("urn:li:organization:") and role in POSTING_ROLES:
                roles.setdefault(org, role)
        if not roles:
            return []
        ids = [urn.rsplit(":", 1)[-1] for urn in roles]
        # Rest.li 2.0 batch get: ids=List(1,2,3) (the parentheses and commas must stay unencoded).
        response = self.http.request(
            "GET",
            f"{API}/rest/organizations?ids=List({','.join(ids)})",
            headers=headers,
            classify=self.classify_error,
        )
        results = self.json(response).get("results") or {}
        targets = []
        for urn, role in roles.items():
            org_id = urn.rsplit(":", 1)[-1]
            details = results.get(org_id) or {}
            targets.append(
                Target(
                    id=urn,
                    name=str(details.get("localizedName") or f"Organization {org_id}"),
                    kind="organization",
                    handle=details.get("vanityName"),
                    avatar_url=_logo_url(details),
                    metadata={
                        "author_urn": urn,
                        "kind": "organization",
                        "organization_id": org_id,
                        "role": role,
                        "member_urn": profile.platform_account_id,
                    },
                )
            )
        return targets

    # -- publishing ------------------------------------------------------------------------------------------

    def publish(self, account: Account, post: OutboundPost) -> PublishResult:
        """Upload media (images at once, a video through initialize/PUT/finalize), then create the post.

        A video is processed asynchronously: the post is created by `check_publish` once it is AVAILABLE.
        """
        author = self._author(account)
        commentary = escape_little_text(post.text)
        images = [m for m in post.media if m.kind == "image"]
        videos = [m for m in post.media if m.kind == "video"]
        if videos:
            video_urn = self._upload_video(account, author, videos[0])
            return PublishResult(
                state="processing",
                poll={"step": "video", "video": video_urn, "author": author, "commentary": commentary},
            )
        content: dict[str, Any] | None = None
        if images:
            image_urns = [self._upload_image(account, author, item) for item in images]
            if len(image_urns) == 1:
                content = {"media": {"id": image_urns[0], "altText": images[0].alt_text or ""}}
            else:
                content = {
                    "multiImage": {
                        "images": [
                            {"id": urn, "altText": item.alt_text or ""}
                            for urn, item in zip(image_urns, images, strict=True)
                        ]
                    }
                }
        return self._create_post(account, author, commentary, content)

    def check_publish(self, account: Account, poll: Mapping[str, Any]) -> PublishResult:
        """Wait for the uploaded video to become AVAILABLE, then create the post with it."""
        video_urn = str(poll.get("video") or "")
        if poll.get("step") != "video" or not video_urn:
            raise RejectedError("Stella lost track of this LinkedIn upload; please publish again.", platform=self.name)
        response = self.http.request(
            "GET",
            f"{API}/rest/videos/{urn_path(video_urn)}",
            headers=self.rest_headers(account.access_token),
            classify=self.classify_error,
        )
        status = str(self.json(response).get("status") or "")
        if status == "AVAILABLE":
            content = {"media": {"id": video_urn}}
            return self._create_post(account, str(poll["author"]), str(poll.get("commentary") or ""), content)
        if status in ("PROCESSING_FAILED", "FAILED"):  # [Videos API] status values
            raise RejectedError("LinkedIn could not process the video.", platform=self.name, code=status)
        return PublishResult(state="processing", poll=dict(poll))

    def _author(self, account: Account) -> str:
        author = str(account.metadata.get("author_urn") or account.platform_account_id or "")
        if not author.startswith(("urn:li:person:", "urn:li:organization:")):
            raise RejectedError("This LinkedIn connection has no author; please reconnect it.", platform=self.name)
        return author

    def _create_post(
        self, account: Account, author: str, commentary: str, content: Mapping[str, Any] | None
    ) -> PublishResult:
        body: dict[str, Any] = {
            "author": author,
            "commentary": commentary,
            "visibility": "PUBLIC",
            "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [],
                             "thirdPartyDistributionChannels": []},
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        if content:
            body["content"] = dict(content)
        response = self.http.request(
            "POST",
            f"{API}/rest/posts",
            json=body,
            headers={**self.rest_headers(account.access_token), "Content-Type": "application/json"},
            classify=self.classify_error,
        )
        # [Posts API]: 201 with an empty body; the post URN is in the x-restli-id header.
        urn = response.headers.get("x-restli-id") or response.headers.get("X-RestLi-Id")
        if not urn:
            raise TransientError("LinkedIn accepted the post but did not return its id.", platform=self.name)
        return PublishResult(
            state="published", platform_post_id=urn, permalink=f"https://www.linkedin.com/feed/update/{urn}"
        )

    def _media_bytes(self, item: MediaItem, limit: int) -> bytes:
        if item.data is not None:
            return item.data
        data, _ = self.http.download(item.url, max_bytes=limit, classify=self.classify_error)
        return data

    def _upload_image(self, account: Account, author: str, item: MediaItem) -> str:
        """[Images API]: initializeUpload, then PUT the bytes to the upload URL."""
        data = self._media_bytes(item, MAX_IMAGE_BYTES)
        headers = {**self.rest_headers(account.access_token), "Content-Type": "application/json"}
        response = self.http.request(
            "POST",
            f"{API}/rest/images?action=initializeUpload",
            json={"initializeUploadRequest": {"owner": author}},
            headers=headers,
            classify=self.classify_error,
        )
        value = self.json(response).get("value") or {}
        upload_url, image_urn = value.get("uploadUrl"), value.get("image")
        if not upload_url or not image_urn:
            raise TransientError("LinkedIn did not return an upload address for the image.", platform=self.name)
        self.http.request(
            "PUT",
            str(upload_url),
            data=data,
            headers={**self.bearer(account.access_token), "Content-Type": "application/octet-stream"},
            classify=self.classify_error,
            untrusted=True,  # named by LinkedIn's answer, and it carries the bearer token
        )
        return str(image_urn)

    def _upload_video(self, account: Account, author: str, item: MediaItem) -> str:
        """[Videos API]: initializeUpload, one PUT per byte range collecting ETags, finalizeUpload."""
        data = self._media_bytes(item, MAX_VIDEO_BYTES)
        headers = {**self.rest_headers(account.access_token), "Content-Type": "application/json"}
        response = self.http.request(
            "POST",
            f"{API}/rest/videos?action=initializeUpload",
            json={
                "initializeUploadRequest": {
                    "owner": author,
                    "fileSizeBytes": len(data),
                    "uploadCaptions": False,
                    "uploadThumbnail": False,
                }
            },
            headers=headers,
            classify=self.classify_error,
        )
        value = self.json(response).get("value") or {}
        video_urn = value.get("video")
        instructions = value.get("uploadInstructions") or []
        if not video_urn or not instructions:
            raise TransientError("LinkedIn did not return upload instructions for the video.", platform=self.name)
        etags: list[str] = []
        for part in instructions:
            first, last = int(part["firstByte"]), int(part["lastByte"])
            put = self.http.request(
                "PUT",
                str(part["uploadUrl"]),
                data=data[first : last + 1],
                headers={**self.bearer(account.access_token), "Content-Type": "application/octet-stream"},
                classify=self.classify_error,
                untrusted=True,  # named by LinkedIn's answer, and it carries the bearer token
            )
            etag = put.headers.get("ETag") or put.headers.get("etag")
            if not etag:
                raise TransientError("LinkedIn did not confirm a part of the video upload.", platform=self.name)
            etags.append(etag)
        self.http.request(
            "POST",
            f"{API}/rest/videos?action=finalizeUpload",
            json={
                "finalizeUploadRequest": {
                    "video": video_urn,
                    "uploadToken": value.get("uploadToken") or "",
                    "uploadedPartIds": etags,
                }
            },
            headers=headers,
            classify=self.classify_error,
        )
        return str(video_urn)

    # -- errors ------------------------------------------------------------------------------------------------

    def classify_error(self, response: requests.Response) -> ProviderError:
        """[Error handling]: `{"status","serviceErrorCode","code","message"}` bodies."""
        body = safe_json(response)
        status = response.status_code
        message = str(body.get("message") or response.reason or f"HTTP {status}")
        code = body.get("code") or body.get("serviceErrorCode")
        service_code = body.get("serviceErrorCode")
        if status == 401 or service_code in EXPIRED_TOKEN_CODES or code == "REVOKED_ACCESS_TOKEN":
            return AuthExpiredError(
                f"LinkedIn no longer accepts Stella's access ({message}). Please reconnect.",
                platform=self.name,
                code=str(code) if code else None,
            )
        if status == 429:
            # [Rate limits]: daily limits reset at midnight UTC; no Retry-After header is documented or seen.
            return RateLimitedError(
                "LinkedIn's daily limit for this account was reached.",
                retry_after=retry_after_seconds(response) or self._seconds_to_midnight_utc(),
                platform=self.name,
                code=str(code) if code else None,
            )
        if status >= 500:
            return TransientError(f"LinkedIn is having trouble ({status}).", platform=self.name)
        if status in (400, 403, 404, 409, 422):
            return RejectedError(f"LinkedIn refused the request: {message}", platform=self.name,
                                 code=str(code) if code else None)
        return classify_generic(self, response)

    def _seconds_to_midnight_utc(self) -> float:
        now = self.clock()
        midnight = datetime.combine(now.date() + timedelta(days=1), time(0), tzinfo=now.tzinfo)
        return max(60.0, (midnight - now).total_seconds())


def _member_profile(member_id: str, *, handle: str | None, display_name: str | None,
                    avatar_url: str | None) -> Profile:
    urn = f"urn:li:person:{member_id}"
    return Profile(
        platform_account_id=urn,
        handle=handle,
        display_name=display_name,
        avatar_url=avatar_url,
        metadata={"author_urn": urn, "member_urn": urn, "kind": "member"},
    )


def _logo_url(details: Mapping[str, Any]) -> str | None:
    """The organization logo from a `logoV2` projection, when LinkedIn included a resolved URL."""
    logo = details.get("logoV2") or {}
    resolved = logo.get("original~") or logo.get("cropped~") or {}
    for element in resolved.get("elements") or []:
        for identifier in element.get("identifiers") or []:
            if identifier.get("identifier"):
                return str(identifier["identifier"])
    return None
