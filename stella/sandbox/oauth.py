"""OAuth 2.0 checks the platform stand-ins share: the consent request, client authentication, RFC 6749 errors.

Each platform keeps its own strictness and wording (real platforms differ, and the differences are what Stella
must cope with); these helpers only hold the steps they all take in the same order, parametrised by those
differences. The consent page itself and PKCE live in `stella.sandbox.core`.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from flask import Response, request

from stella.sandbox import core
from stella.sandbox.store import Client

# Why a token request's client was refused: no usable credentials, an unknown client id, or a wrong secret.
ClientProblem = Literal["missing", "unknown", "secret"]


# -- RFC 6749 error answers ----------------------------------------------------------------------------------


def oauth_error(status: int, error: str, description: str, **extra: Any) -> Response:
    """The token endpoint's JSON error, plus any field a platform adds (TikTok's `log_id`).

    Shape: https://www.rfc-editor.org/rfc/rfc6749#section-5.2
    """
    return core.json_error(status, {"error": error, "error_description": description, **extra})


def redirect_error(redirect_uri: str, state: str | None, error: str, description: str) -> Response:
    """Back to the client with an OAuth error (https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1).

    Only once its redirect URI is trusted.
    """
    params = {"error": error, "error_description": description}
    if state is not None:  # RFC 6749 4.1.2.1: echoed whenever the request carried one, as Allow/Deny does
        params["state"] = state
    response = Response(status=302)
    response.headers["Location"] = core.add_query(redirect_uri, params)
    return response


# -- clients -----------------------------------------------------------------------------------------------------


def find_client(platforms: str | Iterable[str], client_id: str | None) -> Client | None:
    """The client registered under `client_id` on the first of `platforms` that has it (one sign-in can serve two
    platforms: Facebook Login for Facebook and Instagram, Google's for YouTube and Google Business Profile)."""
    if not client_id:
        return None
    for platform in (platforms,) if isinstance(platforms, str) else platforms:
        client = core.store().client(platform, client_id)
        if client is not None:
            return client
    return None


def authenticate_client(
    platforms: str | Iterable[str],
    refuse: Callable[[ClientProblem], Response],
    *,
    styles: tuple[str, ...] = ("basic",),
    id_field: str = "client_id",
    lookup: Callable[[str], Client | None] | None = None,
) -> Client | Response:
    """The client a token/revoke request authenticates as, or the platform's refusal built by `refuse(problem)`.

    `styles` are the ways the platform accepts credentials, tried in order ('basic' header, 'body' form/query);
    `lookup` replaces the plain registry lookup where a client is scoped further (a Mastodon app per instance).
    """
    sent = next(
        (found for found in (core.client_credentials_from_request(style, id_field=id_field) for style in styles)
         if found is not None),
        None,
    )
    if sent is None:
        return refuse("missing")
    client = lookup(sent[0]) if lookup is not None else find_client(platforms, sent[0])
    if client is None:
        return refuse("unknown")
    # Bytes, so that a secret with non-ASCII characters is simply wrong rather than an error.
    if not hmac.compare_digest(client.client_secret.encode(), sent[1].encode()):
        return refuse("secret")
    return client


# -- the consent request ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """How a consent page refuses a bad request, in the platform's words.

    With an OAuth `error` code the user is sent back to the (already verified) redirect URI with it; without one
    the platform shows its own error page with `status`. `{value}` in the message stands for the offending value.
    """

    message: str
    error: str | None = None
    status: int = 400

    def worded(self, value: str) -> Refusal:
        return Refusal(self.message.replace("{value}", value), self.error, self.status)


# What a platform says of the requested scopes (given the client asking), or None when they are acceptable.
ScopeCheck = Callable[[list[str], Client], Refusal | None]


def known_scopes(known: Collection[str], *, unknown: Refusal, missing: Refusal | None = None) -> ScopeCheck:
    """Scopes must all be in `known` (`{value}` = the unknown ones); with `missing`, at least one is required."""

    def check(scopes: list[str], client: Client) -> Refusal | None:
        if not scopes and missing is not None:
            return missing
        bad = [scope for scope in scopes if scope not in known]
        return unknown.worded(", ".join(bad)) if bad else None

    return check


def any_scopes(scopes: list[str], client: Client) -> Refusal | None:
    """A ScopeCheck that accepts everything (the scopes are ignored or checked later)."""
    return None


@dataclass(frozen=True)
class ConsentRequest:
    """A consent request that passed the platform's checks."""

    client: Client
    platform: core.SandboxPlatform  # the client's platform: the consent page is drawn in its colours
    redirect_uri: str
    state: str | None
    scopes: list[str]

    def page(self, *, account_id: str, account_label: str, scopes: list[str] | None = None,
             **options: Any) -> Response:
        """The consent page (GET) or the Allow/Deny redirect (POST) for this request; see `core.authorize_page`.
        `scopes` replaces the requested ones where the platform grants others (a Meta login configuration)."""
        return core.authorize_page(
            self.platform, client_id=self.client.client_id, redirect_uri=self.redirect_uri, state=self.state,
            scopes=self.scopes if scopes is None else scopes, account_id=account_id, account_label=account_label,
            **options,
        )


def split_scopes(raw: str, separator: str | re.Pattern[str] | None, *, strip: bool = False) -> list[str]:
    """The scope list as the platform reads it: split on `separator` (None: any whitespace), empty items dropped."""
    items = separator.split(raw) if isinstance(separator, re.Pattern) else raw.split(separator)
    if strip:
        items = [item.strip() for item in items]
    return [item for item in items if item]


def check_consent_request(
    platform: core.SandboxPlatform,
    *,
    unknown_client: Refusal,
    redirect_mismatch: Refusal,
    bad_response_type: Refusal | None,
    check_scopes: ScopeCheck,
    scope_separator: str | re.Pattern[str] | None = " ",
    strip_scopes: bool = False,
    default_scope: str = "",
    default_response_type: str | None = None,
    client_param: str = "client_id",
    lookup: Callable[[str], Client | None] | None = None,
    error_pages: core.SandboxPlatform | None = None,
) -> ConsentRequest | Response:
    """The checks every consent page makes, in the order platforms make them: the client, the exact redirect URI
    (both always shown on the platform's page: an unverified redirect URI must never be followed), then
    `response_type=code` and the scopes (a page or a redirect, as each `Refusal` says).

    `bad_response_type=None` leaves the response type to the view (X reports it with its other problems).
    Error pages are drawn as `error_pages`, or else as the client's platform.
    """
    args = request.args
    client_id = args.get(client_param) or ""
    client = lookup(client_id) if lookup is not None else find_client(platform.name, client_id)
    if client is None:
        return core.oauth_error_page(error_pages or platform, unknown_client.message, unknown_client.status)
    declared = core.declaration(client.platform)
    shown = error_pages or declared
    redirect_uri = args.get("redirect_uri") or ""
    if redirect_uri not in client.redirect_uris:  # exact match: no prefix, no wildcard
        return core.oauth_error_page(shown, redirect_mismatch.message, redirect_mismatch.status)
    state = args.get("state")

    def refuse(refusal: Refusal) -> Response:
        if refusal.error is None:
            return core.oauth_error_page(shown, refusal.message, refusal.status)
        return redirect_error(redirect_uri, state, refusal.error, refusal.message)

    response_type = args.get("response_type", default_response_type)
    if bad_response_type is not None and response_type != "code":
        return refuse(bad_response_type.worded(response_type or "(missing)"))
    scopes = split_scopes(args.get("scope") or default_scope, scope_separator, strip=strip_scopes)
    refusal = check_scopes(scopes, client)
    if refusal is not None:
        return refuse(refusal)
    return ConsentRequest(client=client, platform=declared, redirect_uri=redirect_uri, state=state, scopes=scopes)
