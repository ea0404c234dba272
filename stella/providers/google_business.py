"""Google Business Profile: Google sign-in, accounts → locations as targets, v4 localPosts.

Google's documentation (developers.google.com/my-business), cited below by the names in brackets:
- [localPosts.create] https://developers.google.com/my-business/reference/rest/v4/accounts.locations.localPosts/create
- [LocalPost] https://developers.google.com/my-business/reference/rest/v4/accounts.locations.localPosts
- [Posts guide] https://developers.google.com/my-business/content/posts-data
- [Locations list] https://developers.google.com/my-business/reference/businessinformation/rest/v1/accounts.locations/list
- [Media list] https://developers.google.com/my-business/reference/rest/v4/accounts.locations.media/list
- [Limits] https://developers.google.com/my-business/content/limits
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from stella.providers._google import GoogleProvider
from stella.providers.base import (
    Account,
    Capabilities,
    OutboundPost,
    PlatformRules,
    Profile,
    PublishResult,
    Target,
    TokenSet,
)
from stella.providers.errors import RejectedError, TransientError

ACCOUNTS_API = "https://mybusinessaccountmanagement.googleapis.com/v1"
INFO_API = "https://mybusinessbusinessinformation.googleapis.com/v1"
# [localPosts.create], [Media list]: these exist only in the v4 API; a v1 path is a 404 (as reported).
V4_API = "https://mybusiness.googleapis.com/v4"

MAX_SUMMARY_CHARS = 1500  # per Google's Help Center as third parties quote it; [LocalPost] gives no number
TOPIC_TYPES = frozenset({"STANDARD", "EVENT", "OFFER", "ALERT"})
ACTION_TYPES = frozenset({"BOOK", "ORDER", "SHOP", "LEARN_MORE", "SIGN_UP", "CALL"})
LOCATION_READ_MASK = "name,title,storefrontAddress,metadata"
# How far back a same-text post counts as this publish's own earlier attempt ([localPosts.create]: no idempotency).
DUPLICATE_WINDOW = timedelta(hours=24)
PAGE_LIMIT = 20  # pages of accounts or locations read before stopping (each page holds up to 100)


class GoogleBusinessProvider(GoogleProvider):
    name = "google_business"
    display_name = "Google Business Profile"
    icon = "google"
    color = "#4285F4"
    tagline = "Updates, offers and events on a business location."
    capabilities = Capabilities(
        formats=("update", "offer", "event"),  # [LocalPost]: topicType STANDARD, OFFER and EVENT
        target_kinds=("location",),
    )

    scopes = ("https://www.googleapis.com/auth/business.manage",)  # [localPosts.create]: covers posts and metrics
    has_targets = True
    developer_portal = "https://developers.google.com/my-business/content/prereqs"
    setup_notes = (
        "Apply for Business Profile API access (the APIs have a quota of 0 until Google approves it), then enable "
        "My Business Account Management, Business Information, Business Profile Performance and the Google My "
        "Business API (v4) in Google Cloud Console and create a Web application OAuth client with Stella's "
        "callback URL."
    )
    rules = PlatformRules(
        max_chars=MAX_SUMMARY_CHARS,
        max_images=1,
        max_videos=0,
        image_types=("image/jpeg", "image/png"),
        notes=(
            "One photo per post and no video; Google downloads the photo itself, so its address must be public.",
            "Google may refuse a post after review (for example a phone number in the text).",
        ),
    )

    # -- accounts and locations -------------------------------------------------------------------------

    def fetch_profile(self, tokens: TokenSet) -> Profile:
        """The Business Profile account of this login; the location is picked among the targets."""
        accounts = list(self._accounts(tokens.access_token))
        if not accounts:
            raise RejectedError(
                "This Google account does not manage any Business Profile.", platform=self.name
            )
        # The user's own (PERSONAL) account first; location groups follow.
        account = next((a for a in accounts if a.get("type") == "PERSONAL"), accounts[0])
        return Profile(
            platform_account_id=str(account["name"]),
            handle=None,
            display_name=account.get("accountName") or None,
            metadata={"account_name": str(account["name"]), "account_ids": [str(a["name"]) for a in accounts]},
        )

    def list_targets(self, tokens: TokenSet, profile: Profile) -> list[Target]:
        targets: list[Target] = []
        for account in self._accounts(tokens.access_token):
            for location in self._locations(tokens.access_token, str(account["name"])):
                targets.append(_location_target(str(account["name"]), location))
        return targets

    def apply_target(self, tokens: TokenSet, target: Target) -> tuple[TokenSet, Profile]:
        return tokens, Profile(
            platform_account_id=target.id,
            handle=target.handle,
            display_name=target.name,
            avatar_url=self._location_avatar(tokens.access_token, target.id),
            metadata=dict(target.metadata),
        )

    def _accounts(self, access_token: str) -> Iterator[Mapping[str, Any]]:
        for page in self._pages(access_token, f"{ACCOUNTS_API}/accounts", {"pageSize": "20"}):
            for account in page.get("accounts") or []:
                if isinstance(account, Mapping) and account.get("name"):
                    yield account

    def _locations(self, access_token: str, account_name: str) -> Iterator[Mapping[str, Any]]:
        # [Locations list]: readMask is required, and the names come back as `locations/{id}` without the account.
        params = {"readMask": LOCATION_READ_MASK, "pageSize": "100"}
        for page in self._pages(access_token, f"{INFO_API}/{account_name}/locations", params):
            for location in page.get("locations") or []:
                if isinstance(location, Mapping) and location.get("name"):
                    yield location

    def _pages(self, access_token: str, url: str, params: Mapping[str, str]) -> Iterator[dict[str, Any]]:
        page_token: str | None = None
        for _ in range(PAGE_LIMIT):
            query = dict(params)
            if page_token:
                query["pageToken"] = page_token
            response = self.http.request(
                "GET", url, params=query, headers=self.bearer(access_token), classify=self.classify_error
            )
            page = self.json(response)
            yield page
            page_token = page.get("nextPageToken") or None
            if not page_token:
                return

    def _location_avatar(self, access_token: str, parent: str) -> str | None:
        """The profile photo (else the logo) from the v4 location media list ([Media list])."""
        try:
            response = self.http.request(
                "GET", f"{V4_API}/{parent}/media", headers=self.bearer(access_token), classify=self.classify_error
            )
        except RejectedError:
            # The picture is cosmetic: a location without media access still connects.
            return None
        items = [m for m in self.json(response).get("mediaItems") or [] if isinstance(m, Mapping)]
        for category in ("PROFILE", "LOGO"):
            for item in items:
                if (item.get("locationAssociation") or {}).get("category") == category and item.get("googleUrl"):
                    return str(item["googleUrl"])
        return None

    # -- publishing -------------------------------------------------------------------------------------

    def publish(self, account: Account, post: OutboundPost) -> PublishResult:
        """[localPosts.create]: `POST v4/accounts/{a}/locations/{l}/localPosts`; Google's verdict is in `state`."""
        parent = str(account.metadata.get("post_parent") or account.platform_account_id)
        if not parent.startswith("accounts/") or "/locations/" not in parent:
            raise RejectedError("Pick a Business Profile location for this connection first.", platform=self.name)
        body = self._local_post(post)
        # No idempotency key ([localPosts.create]); a post with this exact text from the last day is this publish's own
        # earlier attempt whose answer was lost, so it is returned instead of posting twice.
        existing = self._recent_duplicate(account, parent, body["summary"])
        if existing is not None:
            return self._result(existing)
        response = self.http.request(
            "POST",
            f"{V4_API}/{parent}/localPosts",
            json=body,
            headers=self.bearer(account.access_token),
            classify=self.classify_error,
        )
        return self._result(self.json(response))

    def check_publish(self, account: Account, poll: Mapping[str, Any]) -> PublishResult:
        name = str(poll.get("name") or "")
        if "/localPosts/" not in name:
            raise RejectedError("Nothing to check: the Google post has no name.", platform=self.name)
        response = self.http.request(
            "GET", f"{V4_API}/{name}", headers=self.bearer(account.access_token), classify=self.classify_error
        )
        return self._result(self.json(response))

    def _local_post(self, post: OutboundPost) -> dict[str, Any]:
        options = post.options
        summary = post.text.strip()
        if not summary:
            raise RejectedError("A Google Business Profile post needs some text.", platform=self.name)
        if len(summary) > MAX_SUMMARY_CHARS:
            raise RejectedError(f"Google posts are limited to {MAX_SUMMARY_CHARS} characters.", platform=self.name)
        topic = str(options.get("topic_type") or "STANDARD").upper()
        if topic not in TOPIC_TYPES:
            raise RejectedError(f"Unknown Google post type {topic!r}.", platform=self.name)
        body: dict[str, Any] = {
            "languageCode": str(options.get("language_code") or "en-US"),
            "summary": summary,
            "topicType": topic,
        }
        # [LocalPost]: EVENT and OFFER posts need an `event` with a title and a schedule.
        if topic in ("EVENT", "OFFER"):
            event = options.get("event")
            if not isinstance(event, Mapping) or not event.get("title") or not event.get("schedule"):
                raise RejectedError(
                    f"A Google {topic.lower()} post needs an event title and dates.", platform=self.name
                )
            body["event"] = dict(event)
            if topic == "OFFER" and isinstance(options.get("offer"), Mapping):
                body["offer"] = dict(options["offer"])
        action = str(options.get("call_to_action") or ("LEARN_MORE" if post.link else "")).upper()
        if action:
            if action not in ACTION_TYPES:
                raise RejectedError(f"Unknown Google call-to-action {action!r}.", platform=self.name)
            if action == "CALL":
                body["callToAction"] = {"actionType": "CALL"}  # [LocalPost]: no url for CALL
            elif post.link and topic != "OFFER":  # [LocalPost]: the button is ignored on offers
                body["callToAction"] = {"actionType": action, "url": post.link}
        images = [item for item in post.media if item.kind == "image"]
        if any(item.kind == "video" for item in post.media):
            raise RejectedError("Google Business Profile posts cannot carry a video.", platform=self.name)
        if len(images) > 1:
            raise RejectedError("Google Business Profile posts carry at most one photo.", platform=self.name)
        if images:
            # [LocalPost]: Google fetches `sourceUrl` itself; it is the only media field posts accept.
            body["media"] = [{"mediaFormat": "PHOTO", "sourceUrl": images[0].url}]
        return body

    def _recent_duplicate(self, account: Account, parent: str, summary: str) -> Mapping[str, Any] | None:
        response = self.http.request(
            "GET",
            f"{V4_API}/{parent}/localPosts",
            params={"pageSize": "20"},
            headers=self.bearer(account.access_token),
            classify=self.classify_error,
        )
        cutoff = self.clock() - DUPLICATE_WINDOW
        for local_post in self.json(response).get("localPosts") or []:
            if not isinstance(local_post, Mapping) or local_post.get("summary") != summary:
                continue
            created = _parse_time(local_post.get("createTime"))
            if created is not None and created >= cutoff and local_post.get("state") != "REJECTED":
                return local_post
        return None

    def _result(self, local_post: Mapping[str, Any]) -> PublishResult:
        name = str(local_post.get("name") or "")
        if not name:
            raise TransientError("Google did not return the created post.", platform=self.name)
        state = local_post.get("state")
        # [LocalPost] state: Google moderates at creation and can answer 200 with REJECTED (observed): a failure.
        if state == "REJECTED":
            raise RejectedError(
                "Google rejected the post after review (check for phone numbers, prohibited content or the photo).",
                platform=self.name,
                code="REJECTED",
            )
        permalink = local_post.get("searchUrl") or None
        if state == "PROCESSING":
            return PublishResult(state="processing", platform_post_id=name, permalink=permalink, poll={"name": name})
        return PublishResult(state="published", platform_post_id=name, permalink=permalink)


def _location_target(account_name: str, location: Mapping[str, Any]) -> Target:
    location_name = str(location["name"])  # "locations/{l}"
    account_id = account_name.split("/", 1)[-1]
    location_id = location_name.split("/", 1)[-1]
    # [localPosts.create] wants accounts/{a}/locations/{l}; [Locations list] and Performance want locations/{l}.
    parent = f"accounts/{account_id}/locations/{location_id}"
    address = location.get("storefrontAddress") or {}
    metadata = location.get("metadata") or {}
    locality = address.get("locality") if isinstance(address, Mapping) else None
    return Target(
        id=parent,
        name=str(location.get("title") or location_name),
        kind="location",
        handle=None,  # a location has no handle; its town is shown beside it instead
        metadata={
            "locality": str(locality) if locality else None,
            "account_id": account_id,
            "location_id": location_id,
            "location_name": location_name,
            "post_parent": parent,
            "maps_uri": metadata.get("mapsUri") if isinstance(metadata, Mapping) else None,
            "place_id": metadata.get("placeId") if isinstance(metadata, Mapping) else None,
            "address": ", ".join(str(line) for line in (address.get("addressLines") or []) if line)
            if isinstance(address, Mapping) else None,
        },
    )


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    text = value.replace("Z", "+00:00")
    # Google sends up to nanoseconds; Python reads up to microseconds.
    if "." in text:
        head, _, rest = text.partition(".")
        tail = rest.lstrip("0123456789")
        digits = rest[: len(rest) - len(tail)]
        text = f"{head}.{digits[:6]}{tail}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
