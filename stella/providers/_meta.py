"""What Facebook Pages, Instagram and Threads share: Facebook Login, the Graph error envelope, container publishing.

Meta's documentation, cited below by the names in brackets:
- [Manual login flow] https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow
- [Long-lived tokens] https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived
- [Graph errors] https://developers.facebook.com/docs/graph-api/guides/error-handling (Threads uses the same envelope)
- [Graph rate limits] https://developers.facebook.com/docs/graph-api/overview/rate-limiting/
- [IG error codes] https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/error-codes
- [IG publishing] https://developers.facebook.com/docs/instagram-platform/content-publishing/
- [IG Container] https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-container
- [Threads posts] https://developers.facebook.com/docs/threads/posts
- [Page tokens] https://developers.facebook.com/docs/business-sdk/common-scenarios/token-switch
- [IG OAuth authorize] https://developers.facebook.com/docs/instagram-platform/reference/oauth-authorize
Each platform module keeps only its own declarations and quirks.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar
from urllib.parse import urlencode

import requests

from stella.providers.base import (
    Account,
    MediaItem,
    OutboundPost,
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
)

GRAPH_VERSION = "v23.0"
GRAPH_URL = f"https://graph.facebook.com/{GRAPH_VERSION}"
FACEBOOK_DIALOG_URL = f"https://www.facebook.com/{GRAPH_VERSION}/dialog/oauth"

# Throttling codes 4, 17, 32, 341, 613 [Graph errors]; BUC 80001-80006 as clients report them (not in Meta's docs).
THROTTLE_CODES = frozenset({4, 17, 32, 341, 613, 80001, 80002, 80004, 80005, 80006})
# Subcodes of code 190 meaning "the token is no longer usable": 458-460 [Graph errors]; the rest as clients report.
TOKEN_SUBCODES = frozenset({458, 459, 460, 463, 464, 467, 492})
# Authorization-code problems at the token endpoint: expired, redirect_uri mismatch, already used.
CODE_SUBCODES = frozenset({36007, 36008, 36009})
# Publishing subcodes worth retrying later: 2207003 download timeout [IG error codes]; 2207082 as clients report.
RETRYABLE_SUBCODES = frozenset({2207003, 2207082})
DAILY_LIMIT_SUBCODES = frozenset({2207042})
PAGE_SIZE = 100
MAX_PAGES = 20


def graph_error_fields(body: Mapping[str, Any]) -> tuple[int, int, str, bool]:
    """(code, subcode, message, is_transient) from a Graph error body, whichever of Meta's shapes it uses."""
    error = body.get("error")
    if isinstance(error, Mapping):
        source: Mapping[str, Any] = error
        message = error.get("error_user_msg") or error.get("message") or ""
    else:
        # Instagram/Threads token endpoints answer flat: {"error_type", "code", "error_message"}.
        source = body
        message = body.get("error_message") or (error if isinstance(error, str) else "") or body.get("message") or ""
    try:
        code = int(source.get("code") or 0)
    except (TypeError, ValueError):
        code = 0
    try:
        subcode = int(source.get("error_subcode") or 0)
    except (TypeError, ValueError):
        subcode = 0
    return code, subcode, str(message), bool(source.get("is_transient"))


def usage_retry_after(response: requests.Response) -> float | None:
    """[Graph rate limits]: no Retry-After; `X-Business-Use-Case-Usage` says minutes until access is regained."""
    header = response.headers.get("X-Business-Use-Case-Usage")
    if header:
        try:
            usage = jsonlib.loads(header)
        except ValueError:
            usage = {}
        minutes = [
            float(entry.get("estimated_time_to_regain_access") or 0)
            for entries in (usage.values() if isinstance(usage, dict) else [])
            if isinstance(entries, list)
            for entry in entries
            if isinstance(entry, dict)
        ]
        if minutes and max(minutes) > 0:
            return max(minutes) * 60
    return retry_after_seconds(response)


def graph_code(code: int, subcode: int) -> str:
    """The error's code as kept on `ProviderError.code`: "506", or "100:2207010" with a subcode."""
    return f"{code}:{subcode}" if subcode else str(code)


def classify_graph_error(provider: Provider, response: requests.Response) -> ProviderError:
    """[Graph errors]: classify by `error.code` / `error_subcode`, not by HTTP status (Graph answers 400 for most)."""
    name, platform = provider.display_name, provider.name
    code, subcode, message, transient = graph_error_fields(safe_json(response))
    status = response.status_code
    message = message or response.reason or f"HTTP {status}"
    ident = graph_code(code, subcode) if code else str(status)
    if code == 190 or code == 102 or subcode in TOKEN_SUBCODES:
        return AuthExpiredError(
            f"{name} no longer accepts Stella's access ({message}). Please reconnect.", platform=platform, code=ident
        )
    if code in THROTTLE_CODES or status == 429:
        return RateLimitedError(
            f"{name} is rate limiting requests ({message}).",
            retry_after=usage_retry_after(response), platform=platform, code=ident,
        )
    if subcode in DAILY_LIMIT_SUBCODES:
        return RateLimitedError(
            f"{name} refused: the daily limit of API-published posts is reached ({message}).",
            retry_after=None, platform=platform, code=ident,
        )
    if status >= 500 or transient or code in (1, 2) or subcode in RETRYABLE_SUBCODES:
        return TransientError(f"{name} is having trouble ({message}).", platform=platform, code=ident)
    return RejectedError(f"{name} refused the request: {message}", platform=platform, code=ident)


def classify_meta_token_error(provider: Provider, response: requests.Response) -> ProviderError:
    """Token-endpoint errors: a bad, reused or expired code or token means "connect again"."""
    code, subcode, message, _ = graph_error_fields(safe_json(response))
    if response.status_code < 500 and (code == 190 or subcode in CODE_SUBCODES):
        return AuthExpiredError(
            f"{provider.display_name} refused the authorization ({message}). Please reconnect.",
            platform=provider.name, code=graph_code(code, subcode),
        )
    if response.status_code < 500 and code in (1, 101) and not _is_generic_unknown(message):
        # "Error validating client secret." / "Invalid application ID": Stella's app settings are wrong.
        return RejectedError(
            f"{provider.display_name} refused Stella's app credentials: {message}", platform=provider.name,
            code=str(code),
        )
    return classify_graph_error(provider, response)


def _is_generic_unknown(message: str) -> bool:
    return message.lower().startswith("an unknown error")


def renewed(tokens: TokenSet, fresh: TokenSet) -> TokenSet:
    """A renewed long-lived token: Meta's renewal answers carry no scopes, so the granted ones are kept."""
    return TokenSet(
        access_token=fresh.access_token,
        expires_at=fresh.expires_at,
        scopes=tokens.scopes,
        extra={**tokens.extra, **fresh.extra},
    )


def strip_redirect_suffix(code: str) -> str:
    """[IG OAuth authorize]: Meta appends "#_" to the redirect; it is never part of the authorization code."""
    return code.removesuffix("#_")


class GraphApiProvider(Provider):
    """A Meta Graph host (graph.facebook.com or graph.threads.net): token as a parameter, Graph error envelope."""

    graph_base: ClassVar[str]  # the versioned API root, e.g. https://graph.facebook.com/v23.0

    def graph_url(self, path: str) -> str:
        return f"{self.graph_base}/{path.lstrip('/')}"

    def graph_get(self, path: str, access_token: str, **params: Any) -> dict[str, Any]:
        response = self.http.request(
            "GET", self.graph_url(path), params={**params, "access_token": access_token}, classify=self.classify_error
        )
        return self.json(response)

    def graph_post(
        self, path: str, access_token: str, data: Mapping[str, Any] | None = None, *, json: Any = None
    ) -> dict[str, Any]:
        # The token travels as the documented `access_token` parameter; it is scrubbed from every error.
        response = self.http.request(
            "POST",
            self.graph_url(path),
            params={"access_token": access_token},
            data=dict(data) if data is not None else None,
            json=json,
            classify=self.classify_error,
        )
        return self.json(response)

    def can_refresh(self, tokens: TokenSet) -> bool:
        # [Long-lived tokens]: no refresh grant; a long-lived token is renewed with itself, only while still valid.
        return tokens.expires_at is not None and tokens.expires_at > self.clock()

    def classify_error(self, response: requests.Response) -> ProviderError:
        return classify_graph_error(self, response)

    def classify_token_error(self, response: requests.Response) -> ProviderError:
        return classify_meta_token_error(self, response)


class MetaGraphProvider(GraphApiProvider):
    """Facebook Login (authorization-code flow over the Graph API), shared by Facebook Pages and Instagram."""

    graph_base = GRAPH_URL
    authorize_url = FACEBOOK_DIALOG_URL
    token_url = f"{GRAPH_URL}/oauth/access_token"
    scope_separator = ","  # [Manual login flow]: `scope` is a comma-separated list
    client_auth = "body"  # [Manual login flow]: the secret goes in the query, never HTTP Basic
    uses_pkce = False  # Meta documents PKCE only for its OIDC flow, marked "still in testing"
    # Re-ask for permissions the user unticked last time when they reconnect.
    extra_authorize_params: ClassVar[Mapping[str, str]] = {"auth_type": "rerequest"}
    has_targets = True
    # 60-day user tokens can only be re-exchanged while still valid: renew well before the end.
    refresh_margin = timedelta(days=7)
    developer_portal = "https://developers.facebook.com/apps/"
    # Permissions without which publishing cannot work (the others only enable metrics).
    required_scopes: ClassVar[frozenset[str]] = frozenset()

    # -- authorization ---------------------------------------------------------------------------------

    @property
    def login_config_id(self) -> str | None:
        """The Facebook Login for Business configuration (`STELLA_<NAME>_LOGIN_CONFIG_ID`), when one is set."""
        return self.options.get("login_config_id") or None

    @property
    def requested_scopes(self) -> tuple[str, ...]:
        """With a Login for Business configuration the permissions are the configuration's, granted all or nothing
        (FLfB docs): Stella then checks only the ones publishing needs, rather than its own wish list."""
        if self.login_config_id:
            return tuple(sorted(self.required_scopes))
        return super().requested_scopes

    def authorization_url(self, *, redirect_uri: str, state: str, code_challenge: str | None = None) -> str:
        """The Facebook Login dialog; with a Login for Business configuration, `config_id` replaces `scope`."""
        if not self.login_config_id:
            return super().authorization_url(redirect_uri=redirect_uri, state=state, code_challenge=code_challenge)
        # docs/platform-verification.md item 2: Login for Business "no longer uses scope ... requires config_id"
        # (restfb #1529): the configuration holds the permissions, so `scope` is omitted, not sent alongside.
        params = {
            "client_id": self.credentials.client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "state": state,
            "config_id": self.login_config_id,
            **self.extra_authorize_params,
        }
        return self.http.browser_url(f"{self.authorize_url}?{urlencode(params)}")

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str | None = None) -> TokenSet:
        """Code → short-lived user token → long-lived (~60 days) user token, with the permissions granted."""
        code = strip_redirect_suffix(code)
        # [Manual login flow]: the code exchange is a GET with client_id/client_secret/redirect_uri/code in the query.
        short = self.token_request({"code": code, "redirect_uri": redirect_uri}, method="GET")
        if not short.get("access_token"):
            raise RejectedError(f"{self.display_name} did not return an access token.", platform=self.name)
        tokens = self._long_lived(str(short["access_token"]))
        granted = self._granted_permissions(tokens.access_token)
        missing = self.required_scopes - granted
        if missing and self.login_config_id:
            # Nothing the user can untick: the configuration itself lacks the permission.
            raise RejectedError(
                f"{self.display_name} did not grant {', '.join(sorted(missing))}, which Stella needs to publish. "
                "Add it to the Facebook Login for Business configuration named in "
                f"STELLA_{self.name.upper()}_LOGIN_CONFIG_ID, then connect again.",
                platform=self.name,
                code="permissions_declined",
            )
        if missing:
            raise RejectedError(
                f"{self.display_name} did not grant {', '.join(sorted(missing))}, which Stella needs to publish. "
                "Connect again and keep every permission ticked.",
                platform=self.name,
                code="permissions_declined",
            )
        return TokenSet(
            access_token=tokens.access_token,
            expires_at=tokens.expires_at,
            scopes=frozenset(granted),
            extra=tokens.extra,
        )

    def _long_lived(self, access_token: str) -> TokenSet:
        # [Long-lived tokens]: fb_exchange_token swaps a valid user token for a ~60-day one.
        payload = self.token_request(
            {"grant_type": "fb_exchange_token", "fb_exchange_token": access_token}, method="GET"
        )
        return self.parse_token_response(payload)

    def _granted_permissions(self, access_token: str) -> frozenset[str]:
        # [Manual login flow]: users can decline permissions in the dialog; keep status=granted only.
        payload = self.graph_get("me/permissions", access_token)
        return frozenset(
            str(entry.get("permission"))
            for entry in payload.get("data") or []
            if isinstance(entry, dict) and entry.get("status") == "granted"
        )

    def refresh(self, tokens: TokenSet) -> TokenSet:
        """Re-run the long-lived exchange with the still-valid token (Meta has no refresh_token grant)."""
        if tokens.expires_at is None:
            raise AuthExpiredError(
                f"{self.display_name} access cannot be renewed automatically; please reconnect.", platform=self.name
            )
        if tokens.expires_at <= self.clock():
            # [Long-lived tokens]: an expired token cannot be exchanged.
            raise AuthExpiredError(f"{self.display_name} access has expired; please reconnect.", platform=self.name)
        return renewed(tokens, self._long_lived(tokens.access_token))

    def fetch_profile(self, tokens: TokenSet) -> Profile:
        """The Facebook user who signed in; the account to publish to is picked among the targets."""
        me = self.graph_get("me", tokens.access_token, fields="id,name,picture.type(large)")
        user_id = str(me.get("id") or "")
        if not user_id:
            raise RejectedError(f"{self.display_name} did not say who signed in.", platform=self.name)
        return Profile(
            platform_account_id=user_id,
            handle=None,
            display_name=me.get("name"),
            avatar_url=picture_url(me),
            metadata={"facebook_user_id": user_id},
        )

    def managed_pages(self, access_token: str, fields: str) -> list[dict[str, Any]]:
        """Every Page the user shared with Stella ([Page tokens]: /me/accounts, paginated with cursors)."""
        pages: list[dict[str, Any]] = []
        params: dict[str, Any] = {"fields": fields, "limit": PAGE_SIZE}
        for _ in range(MAX_PAGES):
            payload = self.graph_get("me/accounts", access_token, **params)
            pages.extend(entry for entry in payload.get("data") or [] if isinstance(entry, dict))
            paging = payload.get("paging") or {}
            after = (paging.get("cursors") or {}).get("after")
            # Follow the cursor ourselves rather than the `next` URL, which carries the token in its query.
            if not paging.get("next") or not after:
                break
            params["after"] = after
        return pages


def picture_url(node: Mapping[str, Any]) -> str | None:
    """`picture{data{url}}` as the Graph API nests it."""
    picture = node.get("picture")
    if isinstance(picture, Mapping):
        data = picture.get("data")
        if isinstance(data, Mapping) and data.get("url"):
            return str(data["url"])
    return None


class ContainerPublishing(GraphApiProvider):
    """Meta's create-container → wait until processed → publish flow ([IG publishing], [Threads posts]).

    `publish` creates the containers and tries to finish at once; what is still processing comes back as
    `processing` with a poll that `check_publish` resumes. A container already `PUBLISHED` is never
    published again: the media it became is looked up instead (status PUBLISHED, [IG Container]).
    """

    # Field names differ between the Instagram and Threads flavours of the same flow.
    status_field: ClassVar[str]  # IG `status_code`, Threads `status`
    error_field: ClassVar[str]  # IG `status` (holds the subcode), Threads `error_message`
    create_edge: ClassVar[str]  # IG `media`, Threads `threads`
    publish_edge: ClassVar[str]  # IG `media_publish`, Threads `threads_publish`
    caption_field: ClassVar[str]  # IG `caption`, Threads `text`
    max_carousel_items: ClassVar[int]  # IG 10, Threads 20 (see each module)
    # The container type of a post without media; None where every post needs a photo or video (Instagram).
    text_only_media_type: ClassVar[str | None] = None

    def publish(self, account: Account, post: OutboundPost) -> PublishResult:
        """One container for zero or one item, or one per item then a carousel; then wait and publish."""
        if len(post.media) > self.max_carousel_items:
            raise RejectedError(
                f"{self.display_name} takes at most {self.max_carousel_items} items in one post.", platform=self.name
            )
        if len(post.media) <= 1:
            if post.media:
                fields = self.media_fields(post.media[0], carousel_item=False)
            elif self.text_only_media_type:
                fields = {"media_type": self.text_only_media_type}
            else:
                raise RejectedError(f"{self.display_name} needs at least one photo or video.", platform=self.name)
            fields[self.caption_field] = post.text
            poll: dict[str, Any] = {
                "stage": "container",
                "container_id": self.create_container(account, fields),
                "caption": post.text,
            }
        else:
            children = [
                self.create_container(account, self.media_fields(item, carousel_item=True)) for item in post.media
            ]
            # [IG publishing]: children carry no caption; it goes on the carousel, created once every child is ready.
            poll = {"stage": "children", "children": children, "caption": post.text}
        return self.start_publish(account, poll)

    def media_fields(self, item: MediaItem, *, carousel_item: bool) -> dict[str, str]:
        """The container fields for one photo or video (the platform's media types and URL fields)."""
        raise NotImplementedError

    def create_container(self, account: Account, fields: Mapping[str, str]) -> str:
        created = self.graph_post(f"{account.platform_account_id}/{self.create_edge}", account.access_token, fields)
        container_id = str(created.get("id") or "")
        if not container_id:
            raise RejectedError(f"{self.display_name} did not return a container id.", platform=self.name)
        return container_id

    def start_publish(self, account: Account, poll: dict[str, Any]) -> PublishResult:
        """Try to finish right away; a retryable failure leaves the containers to `check_publish` later.

        That matters most when `media_publish` times out: the post may be live, and only the container's
        status can tell — a fresh `publish()` would create and publish a second one.
        """
        try:
            return self.check_publish(account, poll)
        except ProviderError as exc:
            if not exc.retryable:
                raise
            return PublishResult(state="processing", poll=poll)

    def check_publish(self, account: Account, poll: Mapping[str, Any]) -> PublishResult:
        """Advance the flow: children ready → carousel container; container ready → publish; then the permalink."""
        state = dict(poll)
        if state.get("stage") == "children":
            children = [str(c) for c in state.get("children") or []]
            statuses = [self._container_status(account, child) for child in children]
            if any(status != "FINISHED" for status, _ in statuses):
                return PublishResult(state="processing", poll=state)
            parent = self.create_container(
                account,
                {
                    "media_type": "CAROUSEL",
                    "children": ",".join(children),
                    self.caption_field: str(state.get("caption") or ""),
                },
            )
            state = {"stage": "container", "container_id": parent, "caption": state.get("caption") or ""}
        container_id = str(state.get("container_id") or "")
        if not container_id:
            raise RejectedError(f"Nothing to check: no {self.display_name} container id.", platform=self.name)
        status, _ = self._container_status(account, container_id)
        if status == "PUBLISHED":
            return self._already_published(account, str(state.get("caption") or ""))
        if status != "FINISHED":
            return PublishResult(state="processing", poll=state)
        published = self.graph_post(
            f"{account.platform_account_id}/{self.publish_edge}", account.access_token, {"creation_id": container_id}
        )
        media_id = str(published.get("id") or "")
        if not media_id:
            raise RejectedError(f"{self.display_name} did not return the published media id.", platform=self.name)
        return PublishResult(state="published", platform_post_id=media_id, permalink=self._permalink(account, media_id))

    def _container_status(self, account: Account, container_id: str) -> tuple[str, str]:
        fields = ",".join(dict.fromkeys(("id", self.status_field, self.error_field)))
        node = self.graph_get(container_id, account.access_token, fields=fields)
        status = str(node.get(self.status_field) or "").upper()
        detail = str(node.get(self.error_field) or "")
        if status == "ERROR":
            raise RejectedError(
                f"{self.display_name} could not process the media ({detail or 'no reason given'}).",
                platform=self.name,
                code="container_error",
            )
        if status == "EXPIRED":
            raise RejectedError(
                f"{self.display_name} discarded the prepared post because it was not published within 24 hours.",
                platform=self.name,
                code="container_expired",
            )
        return status, detail

    def _already_published(self, account: Account, caption: str) -> PublishResult:
        """The container was published by an attempt whose answer was lost: find the media it became."""
        try:
            recent = self.graph_get(
                f"{account.platform_account_id}/{self.create_edge}",
                account.access_token,
                fields=f"id,{self.caption_field},permalink",
                limit=25,
            )
        except ProviderError:
            recent = {}
        for media in recent.get("data") or []:
            if isinstance(media, dict) and media.get("id") and (media.get(self.caption_field) or "") == caption:
                return PublishResult(
                    state="published", platform_post_id=str(media["id"]), permalink=media.get("permalink")
                )
        return PublishResult(state="published")

    def _permalink(self, account: Account, media_id: str) -> str | None:
        # [IG publishing]: ask for `permalink`; never build it from the media id. The post is live either way.
        try:
            node = self.graph_get(media_id, account.access_token, fields="permalink")
        except ProviderError:
            return None
        return str(node["permalink"]) if node.get("permalink") else None
