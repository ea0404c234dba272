"""Bluesky (AT Protocol): app-password sessions, posts as `app.bsky.feed.post` records on the user's PDS.

Bluesky's documentation and AT Protocol specs, cited below by the names in brackets:
- [Create session] https://docs.bsky.app/docs/api/com-atproto-server-create-session
- [Refresh session] https://docs.bsky.app/docs/api/com-atproto-server-refresh-session
- [Get profile] https://docs.bsky.app/docs/api/app-bsky-actor-get-profile
- [Create record] https://docs.bsky.app/docs/api/com-atproto-repo-create-record
- [Get record] https://docs.bsky.app/docs/api/com-atproto-repo-get-record
- [Upload blob] https://docs.bsky.app/docs/api/com-atproto-repo-upload-blob
- [Posts guide] https://docs.bsky.app/docs/advanced-guides/posts
- [Rich text] https://docs.bsky.app/docs/advanced-guides/post-richtext
- [Video tutorial] https://docs.bsky.app/docs/tutorials/video
- [Rate limits] https://docs.bsky.app/docs/advanced-guides/rate-limits
- [DID spec] https://atproto.com/specs/did
- [XRPC spec] https://atproto.com/specs/xrpc
- [Post lexicon] https://github.com/bluesky-social/atproto/blob/main/lexicons/app/bsky/feed/post.json
- [Images lexicon] https://github.com/bluesky-social/atproto/blob/main/lexicons/app/bsky/embed/images.json
- [Facet lexicon] https://github.com/bluesky-social/atproto/blob/main/lexicons/app/bsky/richtext/facet.json
- [Reference PDS] https://github.com/bluesky-social/atproto/tree/main/packages/pds (Bluesky's own server code)
The service URL is typed by the user; the connection service runs it through `HttpClient.check_user_host`
before calling `create_session`. The PDS is named by the account's DID document, which whoever controls the
identity writes: it is checked like a typed address, and every call to the service or the PDS is `untrusted`.
"""

from __future__ import annotations

import base64
import hashlib
import json as jsonlib
import logging
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

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
    TokenSet,
    retry_after_seconds,
    safe_json,
)
from stella.providers.errors import (
    AuthExpiredError,
    ProviderError,
    RateLimitedError,
    RejectedError,
    TransientError,
    UnsafeHostError,
)

log = logging.getLogger(__name__)

DEFAULT_SERVICE = "https://bsky.social"  # Bluesky's entryway: it accepts logins for the accounts Bluesky hosts
VIDEO_SERVICE = "https://video.bsky.app"  # [Video tutorial]
POST_COLLECTION = "app.bsky.feed.post"
# [Reference PDS] default lifetimes, used only when a JWT carries no readable `exp`.
ACCESS_LIFETIME = timedelta(minutes=120)
REFRESH_LIFETIME = timedelta(days=90)
# [Images lexicon]: 2 MB since 2026-04, but older PDSes/AppViews accept only 1 MB.
MAX_IMAGE_BYTES = 1_000_000
MAX_VIDEO_BYTES = 100 * 1024 * 1024
EXPIRED_TOKEN_ERRORS = frozenset({"ExpiredToken", "InvalidToken", "AuthMissing", "AuthenticationRequired"})

_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_TID_EPOCH_US = 1_672_531_200_000_000  # 2023-01-01T00:00:00Z, in microseconds
_TID_SPAN_US = 10 * 365 * 24 * 3600 * 1_000_000
_URL_RE = re.compile(r"https?://[^\s<>\"]+")
_TAG_RE = re.compile(r"(?:^|(?<=\s))[#\uFF03]([^\s#\uFF03]+)")
_TRAILING_PUNCTUATION = ".,;:!?'\")]}"


class _RecordNotFound(RejectedError):
    """getRecord found nothing at the key: the post was not created yet."""


class BlueskyProvider(Provider):
    name = "bluesky"
    display_name = "Bluesky"
    icon = "bluesky"
    color = "#1185FE"
    tagline = "Posts on your Bluesky account. Connects with an app password."
    capabilities = Capabilities(
        formats=("post",),
        supports_threads=True,  # [Posts guide]: a post may reply to the one before (`reply.root` / `reply.parent`)
        supports_alt_text=True,  # [Posts guide], [Video tutorial]: `alt` on every image and on the video
    )
    auth_style = "app_password"
    default_service_url = DEFAULT_SERVICE  # the user types their own PDS instead when they have one
    app_password_location = "Settings → Privacy and security → App passwords"
    revocable = True  # deleteSession ends the session Stella opened
    # Refresh when 15 minutes remain, as the MarshalX atproto SDK does (a client choice, not a platform rule).
    refresh_margin = timedelta(minutes=15)

    developer_portal = "https://bsky.app/settings/app-passwords"
    setup_notes = (
        "No developer app is needed: each user creates an app password in Bluesky (Settings → Privacy and "
        "security → App passwords) and connects with their handle and that password."
    )
    rules = PlatformRules(
        max_chars=300,  # [Post lexicon]: 300 graphemes and 3000 bytes (checked: docs/platform-verification.md)
        counting="graphemes",
        max_bytes=3000,
        max_images=4,
        max_videos=1,
        mixed_media=False,  # [Posts guide]: one embed per post
        image_types=("image/jpeg", "image/png", "image/webp", "image/gif"),
        video_types=("video/mp4",),
        max_image_bytes=MAX_IMAGE_BYTES,
        max_video_bytes=MAX_VIDEO_BYTES,
        notes=(
            "Links count in full (no URL shortening).",
            "Up to 4 images or one video per post, never both.",
        ),
    )

    # -- sign-in (app password) ----------------------------------------------------------------------

    def authorization_url(self, *, redirect_uri: str, state: str, code_challenge: str | None = None) -> str:
        raise NotImplementedError("Bluesky connects with a handle and an app password, not a redirect.")

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str | None = None) -> TokenSet:
        raise NotImplementedError("Bluesky connects with a handle and an app password, not a redirect.")

    def create_session(self, service_url: str, handle: str, app_password: str) -> TokenSet:
        """Log in with an app password ([Create session]). `extra` holds did, handle and pds_url.

        The password is used once and never stored; call this once per connection (createSession is
        rate-limited to 30 per 5 minutes and 300 a day), then keep the session alive with `refresh`.
        """
        service = service_url.rstrip("/") or DEFAULT_SERVICE
        response = self.http.request(
            "POST",
            f"{service}/xrpc/com.atproto.server.createSession",
            json={"identifier": handle.strip().lstrip("@"), "password": app_password},
            classify=self._classify_login_error,
            untrusted=True,
        )
        body = self.json(response)
        # [DID spec]: the PDS comes from the didDoc; it is checked before any token is sent there.
        named = pds_from_did_doc(body.get("didDoc"))
        return self._session_tokens(body, service, pds=self._checked_pds(named) if named else service)

    def refresh(self, tokens: TokenSet) -> TokenSet:
        """[Refresh session]: the refreshJwt as Bearer; both JWTs rotate."""
        if not tokens.refresh_token:
            raise AuthExpiredError("Bluesky gave no refresh token; please reconnect.", platform=self.name)
        pds = self._pds_of(tokens.extra)
        response = self.http.request(
            "POST",
            f"{pds}/xrpc/com.atproto.server.refreshSession",
            headers=self.bearer(tokens.refresh_token),
            classify=self.classify_error,
            untrusted=True,
        )
        body = self.json(response)
        # refreshSession may come without a didDoc: the PDS we already talk to stays the fallback.
        named = pds_from_did_doc(body.get("didDoc"))
        moved_to = pds
        if named and named != pds:
            try:
                moved_to = self._checked_pds(named)
            except UnsafeHostError as exc:
                # Both tokens have already rotated ([Refresh session]): failing now would lose them. Keep our PDS;
                # if the account really moved, the next call fails there and reconnecting shows this message.
                log.warning("bluesky: not following a PDS move for %s: %s", tokens.extra.get("did"), exc.message)
        fresh = self._session_tokens(body, str(tokens.extra.get("service_url") or pds), pds=moved_to)
        extra = {**tokens.extra, **{k: v for k, v in fresh.extra.items() if v}}
        return TokenSet(
            access_token=fresh.access_token,
            refresh_token=fresh.refresh_token or tokens.refresh_token,
            expires_at=fresh.expires_at,
            refresh_expires_at=fresh.refresh_expires_at,
            extra=extra,
        )

    def revoke(self, tokens: TokenSet) -> None:
        """Log the session out (deleteSession takes the refreshJwt as Bearer)."""
        if not tokens.refresh_token:
            return
        self.http.request(
            "POST",
            f"{self._pds_of(tokens.extra)}/xrpc/com.atproto.server.deleteSession",
            headers=self.bearer(tokens.refresh_token),
            classify=self.classify_error,
            untrusted=True,
        )

    def fetch_profile(self, tokens: TokenSet) -> Profile:
        """[Get profile] for the session's DID; metadata keeps the DID and PDS url."""
        did = str(tokens.extra.get("did") or "")
        if not did:
            raise RejectedError("Bluesky did not say which account this session belongs to.", platform=self.name)
        pds = self._pds_of(tokens.extra)
        response = self.http.request(
            "GET",
            f"{pds}/xrpc/app.bsky.actor.getProfile",
            params={"actor": did},
            headers=self.bearer(tokens.access_token),
            classify=self.classify_error,
            untrusted=True,
        )
        body = self.json(response)
        handle = str(body.get("handle") or tokens.extra.get("handle") or "") or None
        return Profile(
            platform_account_id=str(body.get("did") or did),
            handle=handle,
            display_name=str(body.get("displayName") or "") or handle,
            avatar_url=body.get("avatar") or None,
            metadata={
                "did": did,
                "pds_url": pds,
                "service_url": str(tokens.extra.get("service_url") or pds),
            },
        )

    # -- publishing ------------------------------------------------------------------------------------

    def publish(self, account: Account, post: OutboundPost) -> PublishResult:
        """Create the post record under a key derived from the idempotency key ([Create record] `rkey`).

        A retry first asks getRecord: when the record exists, it is reported and not written twice.
        Images are uploaded as blobs; a video goes through video.bsky.app and may return `processing`.
        """
        did = self._did(account)
        # Without a key there is nothing stable to derive from: a fresh TID (no retry protection).
        rkey = record_key(post.idempotency_key) if post.idempotency_key else _tid(self.clock())
        existing = self._existing_post(account, rkey)
        if existing:
            return existing
        record = self._base_record(post)
        videos = [m for m in post.media if m.kind == "video"]
        images = [m for m in post.media if m.kind == "image"]
        if videos and images:
            raise RejectedError("Bluesky posts carry images or one video, not both.", platform=self.name)
        if videos:
            if len(videos) > 1:
                raise RejectedError("Bluesky posts carry at most one video.", platform=self.name)
            job = self._upload_video(account, did, videos[0])
            poll = {"job_id": job.get("jobId"), "rkey": rkey, "record": record, "alt": videos[0].alt_text}
            return self._after_video_job(account, job, poll)
        if images:
            if len(images) > 4:
                raise RejectedError("Bluesky posts carry at most 4 images.", platform=self.name)
            record["embed"] = {
                "$type": "app.bsky.embed.images",
                "images": [{"image": self._upload_image(account, item), "alt": item.alt_text} for item in images],
            }
        elif post.link and post.link not in post.text:
            # [Posts guide]: the server does not unfurl link cards; a card without thumbnail is valid.
            record["embed"] = {
                "$type": "app.bsky.embed.external",
                "external": {"uri": post.link, "title": post.title or post.link, "description": ""},
            }
        return self._create_record(account, rkey, record)

    def check_publish(self, account: Account, poll: Mapping[str, Any]) -> PublishResult:
        """Poll the video job ([Video tutorial] getJobStatus); create the record once the blob is ready."""
        rkey = str(poll.get("rkey") or "")
        existing = self._existing_post(account, rkey) if rkey else None
        if existing:
            return existing
        job_id = str(poll.get("job_id") or "")
        if not job_id:
            raise RejectedError("Nothing to check: this Bluesky publish has no video job.", platform=self.name)
        response = self.http.request(
            "GET",
            f"{VIDEO_SERVICE}/xrpc/app.bsky.video.getJobStatus",
            params={"jobId": job_id},
            classify=self.classify_error,
        )
        return self._after_video_job(account, _job_status(self.json(response)), dict(poll))

    # -- error classification --------------------------------------------------------------------------

    def classify_error(self, response: requests.Response) -> ProviderError:
        """[XRPC spec] `{error, message}`; an expired JWT is HTTP 400 ExpiredToken, not 401 ([Reference PDS])."""
        status = response.status_code
        body = safe_json(response)
        error = str(body.get("error") or "")
        message = str(body.get("message") or error or response.reason or f"HTTP {status}")
        if error in EXPIRED_TOKEN_ERRORS or status == 401:
            return AuthExpiredError(
                f"Bluesky no longer accepts this session ({error or status}). Please reconnect.",
                platform=self.name,
                code=error or None,
            )
        if status == 429 or error == "RateLimitExceeded":
            return RateLimitedError(
                "Bluesky is rate limiting requests.", retry_after=_retry_after(response), platform=self.name,
                code=error or None,
            )
        if status >= 500:
            return TransientError(f"Bluesky is having trouble ({status}).", platform=self.name, code=error or None)
        return RejectedError(f"Bluesky refused the request: {message}", platform=self.name, code=error or None)

    def _classify_login_error(self, response: requests.Response) -> ProviderError:
        body = safe_json(response)
        error = str(body.get("error") or "")
        if error == "AuthFactorTokenRequired":
            # [Create session] AuthFactorTokenRequired: the main password triggers it; app passwords reportedly not.
            return RejectedError(
                "Bluesky asked for a two-factor code: use an app password, not your main password.",
                platform=self.name, code=error,
            )
        if response.status_code == 401 or error == "AuthenticationRequired":
            return RejectedError(
                "Bluesky did not accept that handle and app password.", platform=self.name, code=error or None
            )
        if error in ("AccountTakedown", "AccountDeactivated"):
            return RejectedError(f"Bluesky refused the sign-in: {body.get('message') or error}", platform=self.name,
                                 code=error)
        return self.classify_error(response)

    # -- helpers ---------------------------------------------------------------------------------------

    def _session_tokens(self, body: Mapping[str, Any], service: str, *, pds: str) -> TokenSet:
        access, refresh = body.get("accessJwt"), body.get("refreshJwt")
        if not access or not refresh:
            raise RejectedError("Bluesky did not return a session.", platform=self.name)
        now = self.clock()
        return TokenSet(
            access_token=str(access),
            refresh_token=str(refresh),
            expires_at=jwt_expiry(str(access)) or now + ACCESS_LIFETIME,
            refresh_expires_at=jwt_expiry(str(refresh)) or now + REFRESH_LIFETIME,
            extra={
                "did": body.get("did"),
                "handle": body.get("handle"),
                "pds_url": pds,
                "service_url": service,
            },
        )

    def _checked_pds(self, pds: str) -> str:
        """The PDS a didDoc names, normalised, once it passes the check a typed server address passes.

        The atproto DID spec (https://atproto.com/specs/did) makes it an https URL of scheme, host and port only.
        """
        try:
            return self.http.check_user_host(pds)
        except UnsafeHostError as exc:
            raise UnsafeHostError(
                f"Bluesky says this account is hosted on {pds[:100]}: {exc.message}",
                platform=self.name,
            ) from None

    def _pds_of(self, metadata: Mapping[str, Any]) -> str:
        return str(metadata.get("pds_url") or metadata.get("service_url") or DEFAULT_SERVICE).rstrip("/")

    def _did(self, account: Account) -> str:
        return str(account.metadata.get("did") or account.platform_account_id)

    def _base_record(self, post: OutboundPost) -> dict[str, Any]:
        record: dict[str, Any] = {
            "$type": POST_COLLECTION,
            "text": post.text,
            "createdAt": _iso(self.clock()),
        }
        facets = detect_facets(post.text)
        if facets:
            record["facets"] = facets
        langs = post.options.get("langs")
        if isinstance(langs, (list, tuple)) and langs:
            record["langs"] = [str(lang) for lang in langs][:3]  # [Post lexicon]: langs ≤ 3
        return record

    def _existing_post(self, account: Account, rkey: str) -> PublishResult | None:
        """[Get record]: on retry, ask for the record at our key before writing it."""
        did = self._did(account)

        def classify(response: requests.Response) -> ProviderError:
            if safe_json(response).get("error") == "RecordNotFound":
                return _RecordNotFound("No record yet.", platform=self.name, code="RecordNotFound")
            return self.classify_error(response)

        try:
            response = self.http.request(
                "GET",
                f"{self._pds_of(account.metadata)}/xrpc/com.atproto.repo.getRecord",
                params={"repo": did, "collection": POST_COLLECTION, "rkey": rkey},
                headers=self.bearer(account.access_token),
                classify=classify,
                untrusted=True,
            )
        except _RecordNotFound:
            return None
        body = self.json(response)
        return self._published(did, str(body.get("uri") or f"at://{did}/{POST_COLLECTION}/{rkey}"))

    def _create_record(self, account: Account, rkey: str, record: Mapping[str, Any]) -> PublishResult:
        did = self._did(account)
        response = self.http.request(
            "POST",
            f"{self._pds_of(account.metadata)}/xrpc/com.atproto.repo.createRecord",
            json={"repo": did, "collection": POST_COLLECTION, "rkey": rkey, "validate": True, "record": record},
            headers=self.bearer(account.access_token),
            classify=self.classify_error,
            untrusted=True,
        )
        body = self.json(response)
        uri = str(body.get("uri") or "")
        if not uri:
            raise TransientError("Bluesky accepted the post but returned no record URI.", platform=self.name)
        return self._published(did, uri)

    def _published(self, did: str, uri: str) -> PublishResult:
        # bsky.app's web link uses the rkey, the last segment of the at:// URI; the DID never changes.
        rkey = uri.rsplit("/", 1)[-1]
        return PublishResult(
            state="published", platform_post_id=uri, permalink=f"https://bsky.app/profile/{did}/post/{rkey}"
        )

    def _media_bytes(self, item: MediaItem, max_bytes: int) -> tuple[bytes, str]:
        if item.data is not None:
            data, mime = item.data, item.mime_type or "application/octet-stream"
        else:
            data, mime = self.http.download(item.url, max_bytes=max_bytes, classify=self.classify_error)
            mime = item.mime_type or mime
        if len(data) > max_bytes:
            raise RejectedError(
                f"Bluesky accepts {item.kind}s up to {max_bytes // 1_000_000} MB; this one is larger.",
                platform=self.name,
            )
        return data, mime

    def _upload_image(self, account: Account, item: MediaItem) -> dict[str, Any]:
        """[Upload blob]: raw bytes in; returns the blob ref to embed."""
        data, mime = self._media_bytes(item, MAX_IMAGE_BYTES)
        if mime not in self.rules.image_types:
            raise RejectedError(f"Bluesky does not take {mime} images.", platform=self.name)
        response = self.http.request(
            "POST",
            f"{self._pds_of(account.metadata)}/xrpc/com.atproto.repo.uploadBlob",
            data=data,
            headers={**self.bearer(account.access_token), "Content-Type": mime},
            classify=self.classify_error,
            untrusted=True,
        )
        blob = self.json(response).get("blob")
        if not isinstance(blob, dict):
            raise TransientError("Bluesky did not return the uploaded image.", platform=self.name)
        return blob

    def _upload_video(self, account: Account, did: str, item: MediaItem) -> dict[str, Any]:
        """[Video tutorial]: a service token for the PDS, then the bytes to video.bsky.app."""
        data, mime = self._media_bytes(item, MAX_VIDEO_BYTES)
        pds = self._pds_of(account.metadata)
        auth = self.http.request(
            "GET",
            f"{pds}/xrpc/com.atproto.server.getServiceAuth",
            params={
                "aud": f"did:web:{urlsplit(pds).hostname}",
                "lxm": "com.atproto.repo.uploadBlob",
                "exp": int((self.clock() + timedelta(minutes=30)).timestamp()),
            },
            headers=self.bearer(account.access_token),
            classify=self.classify_error,
            untrusted=True,
        )
        service_token = str(self.json(auth).get("token") or "")
        if not service_token:
            raise TransientError("Bluesky did not grant a video upload token.", platform=self.name)
        response = self.http.request(
            "POST",
            f"{VIDEO_SERVICE}/xrpc/app.bsky.video.uploadVideo",
            params={"did": did, "name": _file_name(item.url, "video.mp4")},
            data=data,
            headers={**self.bearer(service_token), "Content-Type": mime if mime == "video/mp4" else "video/mp4"},
            # [Video tutorial]: `already_exists` (409) still returns the earlier job and blob.
            ok=(200, 409),
            classify=self.classify_error,
        )
        return _job_status(self.json(response))

    def _after_video_job(self, account: Account, job: Mapping[str, Any], poll: dict[str, Any]) -> PublishResult:
        state = str(job.get("state") or "")
        if state == "JOB_STATE_FAILED" or (job.get("error") and job.get("error") != "already_exists"):
            reason = job.get("message") or job.get("error") or "processing failed"
            raise RejectedError(f"Bluesky could not process the video: {reason}", platform=self.name,
                                code=str(job.get("error") or "JOB_STATE_FAILED"))
        blob = job.get("blob")
        if not isinstance(blob, dict):
            poll["job_id"] = job.get("jobId") or poll.get("job_id")
            return PublishResult(state="processing", poll=poll)
        record = dict(poll["record"])
        record["embed"] = {"$type": "app.bsky.embed.video", "video": blob, "alt": str(poll.get("alt") or "")}
        return self._create_record(account, str(poll["rkey"]), record)


# -- pure helpers (exported for the sandbox and tests) -----------------------------------------------------


def record_key(seed: str) -> str:
    """A TID record key derived from `seed`, so every retry of one publish targets the same record.

    Record-key spec: a TID rkey may carry any value; this one keeps the timestamp within 2023–2033 so keys
    stay loosely time-ordered like real ones.
    """
    digest = int.from_bytes(hashlib.sha256(seed.encode("utf-8")).digest()[:16], "big")
    return _encode_tid(_TID_EPOCH_US + digest % _TID_SPAN_US, (digest >> 64) & 0x3FF)


def _tid(moment: datetime) -> str:
    return _encode_tid(int(moment.timestamp() * 1_000_000), secrets.randbelow(1024))


def _encode_tid(timestamp_us: int, clock_id: int) -> str:
    value = (timestamp_us << 10) | clock_id  # 53-bit timestamp + 10-bit clock id; top bit stays 0
    chars = []
    for _ in range(13):
        chars.append(_TID_ALPHABET[value & 0x1F])
        value >>= 5
    return "".join(reversed(chars))


def detect_facets(text: str) -> list[dict[str, Any]]:
    """Link and hashtag facets with UTF-8 byte offsets ([Rich text]: the server links nothing itself)."""
    facets: list[dict[str, Any]] = []
    for match in _URL_RE.finditer(text):
        url = match.group(0).rstrip(_TRAILING_PUNCTUATION)
        if len(url) < len("http://a.b"):
            continue
        start = match.start()
        facets.append(_facet(text, start, start + len(url), {"$type": "app.bsky.richtext.facet#link", "uri": url}))
    for match in _TAG_RE.finditer(text):
        tag = match.group(1).rstrip(_TRAILING_PUNCTUATION)
        # [Facet lexicon]: a tag has no '#', ≤ 64 graphemes / 640 bytes; a bare number is not a tag.
        if not tag or tag.isdigit() or len(tag) > 64 or len(tag.encode("utf-8")) > 640:
            continue
        start = match.start(1) - 1
        facets.append(_facet(text, start, match.start(1) + len(tag), {"$type": "app.bsky.richtext.facet#tag",
                                                                       "tag": tag}))
    return sorted(facets, key=lambda f: f["index"]["byteStart"])


def _facet(text: str, start: int, end: int, feature: dict[str, Any]) -> dict[str, Any]:
    return {
        "index": {"byteStart": len(text[:start].encode("utf-8")), "byteEnd": len(text[:end].encode("utf-8"))},
        "features": [feature],
    }


def pds_from_did_doc(did_doc: Any) -> str | None:
    """[DID spec]: the first service whose id ends in #atproto_pds and whose type is the PDS type."""
    if not isinstance(did_doc, Mapping):
        return None
    for service in did_doc.get("service") or []:
        if (
            isinstance(service, Mapping)
            and str(service.get("id", "")).endswith("#atproto_pds")
            and service.get("type") == "AtprotoPersonalDataServer"
            and isinstance(service.get("serviceEndpoint"), str)
        ):
            return str(service["serviceEndpoint"]).rstrip("/")
    return None


def jwt_expiry(token: str) -> datetime | None:
    """The `exp` claim of a JWT, read without verifying (only to schedule refreshes); None if unreadable."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = jsonlib.loads(base64.urlsafe_b64decode(padded))
        return datetime.fromtimestamp(int(claims["exp"]), tz=UTC)
    except (ValueError, KeyError, TypeError):
        return None


def _job_status(body: Mapping[str, Any]) -> dict[str, Any]:
    # uploadVideo and getJobStatus wrap the job in `jobStatus`; a 409 may return the job itself.
    job = body.get("jobStatus", body)
    return dict(job) if isinstance(job, Mapping) else {}


def _retry_after(response: requests.Response) -> float | None:
    """[Rate limits]: Retry-After when sent, else RateLimit-Reset (epoch seconds)."""
    seconds = retry_after_seconds(response)
    if seconds is not None:
        return seconds
    reset = response.headers.get("RateLimit-Reset")
    try:
        return max(0.0, float(reset) - datetime.now(UTC).timestamp()) if reset else None
    except ValueError:
        return None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _file_name(url: str, default: str) -> str:
    name = urlsplit(url).path.rsplit("/", 1)[-1]
    return name or default
