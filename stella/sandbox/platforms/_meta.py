"""What the Meta stand-ins (Facebook, Instagram, Threads) share: the Graph error envelope, the checks of an app's
credentials and of an access token, Graph request parsing, and the publishing containers' life cycle.

Rules follow Meta's documentation, cited below by the names in brackets:
- [Graph errors] https://developers.facebook.com/docs/graph-api/guides/error-handling: the envelope
  `{"error": {message, type, code, error_subcode, fbtrace_id}}`, HTTP 400 for OAuthException.
- [Manual login flow] https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow and
  [Threads tokens] https://developers.facebook.com/docs/threads/get-started/get-access-tokens-and-permissions:
  app credentials as parameters, never HTTP Basic.
- [IG Container] https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-container
  and [Threads posts] https://developers.facebook.com/docs/threads/posts: containers.
- [IG Media Publish] https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media_publish
  and [Threads overview] https://developers.facebook.com/docs/threads/overview: daily publishing limits.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from flask import Response, request

from stella.sandbox import core, oauth
from stella.sandbox.store import Client, Code, Token

CONTAINER_LIFETIME = timedelta(hours=24)  # [IG Container] EXPIRED: an unpublished container expires after 24 h
SHORTCODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


# -- the Graph error envelope ([Graph errors]) -----------------------------------------------------------------


def graph_error(
    message: str,
    code: int,
    *,
    subcode: int | None = None,
    status: int = 400,
    user_title: str | None = None,
    user_msg: str | None = None,
    transient: bool | None = None,
    headers: dict[str, str] | None = None,
    error_type: str = "OAuthException",
) -> Response:
    error: dict[str, Any] = {"message": message, "type": error_type, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    if transient is not None:
        error["is_transient"] = transient
    if user_title:
        error["error_user_title"] = user_title
    if user_msg:
        error["error_user_msg"] = user_msg
    error["fbtrace_id"] = "A" + secrets.token_urlsafe(15)
    return core.json_error(status, {"error": error}, headers)


def expired_token_error() -> Response:
    return graph_error(
        "Error validating access token: Session has expired on Monday, 02-Mar-26 06:00:00 PST. "
        "The current time is Monday, 02-Mar-26 07:00:00 PST.",
        190, subcode=463,
    )


def invalid_token_error() -> Response:
    return graph_error("Invalid OAuth access token - Cannot parse access token", 190)


def revoked_token_error() -> Response:
    return graph_error("Error validating access token: The user has not authorized application.", 190, subcode=458)


def server_error(status: int = 503) -> Response:
    return graph_error("An unexpected error has occurred. Please retry your request later.", 2, status=status,
                       transient=True)


# -- app credentials and access tokens -------------------------------------------------------------------------


def app_client(values: Mapping[str, str], platforms: str | Iterable[str]) -> Client | Response:
    """The app a token request names with `client_id` and proves with `client_secret`, both plain parameters."""
    client_id = values.get("client_id")
    if not client_id:
        return graph_error("Missing client_id parameter.", 101)
    client = oauth.find_client(platforms, client_id)
    if client is None:
        return graph_error("Error validating application. Invalid application ID.", 101)
    if not hmac.compare_digest(client.client_secret.encode(), (values.get("client_secret") or "").encode()):
        return graph_error("Error validating client secret.", 1)
    return client


def redeem_code(client: Client, value: str, redirect_uri: str | None) -> Code | Response:
    """The authorization code `client` exchanges, used up now, or Graph's answer (subcodes 36007-36010, modelled)."""
    code, reason = core.store().consume_code(client.platform, value, now=core.now())
    if code is None:
        return graph_error("Invalid verification code format.", 100, subcode=36010)
    if reason == "used":
        return graph_error("This authorization code has been used.", 100, subcode=36009)
    if reason == "expired":
        return graph_error("This authorization code has expired.", 100, subcode=36007)
    if code.client_id != client.client_id or code.redirect_uri != redirect_uri:
        return graph_error("Error validating verification code. Please make sure your redirect_uri is identical to "
                           "the one you used in the OAuth dialog request", 100, subcode=36008)
    return code


def live_token(token: Token | None) -> Token | Response:
    """`token` if it can still be used, or Graph's answer: unknown (190), revoked (190/458), expired (190/463)."""
    if token is None:
        return invalid_token_error()
    if token.revoked_at is not None:
        return revoked_token_error()
    if token.access_expired(core.now()):
        return expired_token_error()
    return token


# -- Graph requests --------------------------------------------------------------------------------------------


def param(name: str) -> Any:
    """A parameter from the query, the form or a JSON body (Graph accepts all three)."""
    if name in request.values:
        return request.values.get(name)
    body = request.get_json(silent=True) if request.is_json else None
    if isinstance(body, dict):
        return body.get(name)
    return None


def requested_fields(default: tuple[str, ...] = ("id",)) -> list[str]:
    """Top-level names in `fields` (`picture.type(large)` → picture, `reactions.summary(true)` → reactions)."""
    raw = request.args.get("fields") or request.values.get("fields")
    if not raw:
        return list(default)
    names, depth, current = [], 0, ""
    for ch in raw:
        if ch in "({":
            depth += 1
        elif ch in ")}":
            depth -= 1
        if ch == "," and depth == 0:
            names.append(current)
            current = ""
        else:
            current += ch
    names.append(current)
    return [re.split(r"[.{(]", name.strip(), maxsplit=1)[0] for name in names if name.strip()]


def pick(node: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    return {key: node[key] for key in fields if key in node and node[key] is not None}


# -- publishing containers ([IG Container], [Threads posts]) -------------------------------------------------


def container_status(container: dict[str, Any], lifetime: timedelta = CONTAINER_LIFETIME) -> str:
    """IN_PROGRESS, FINISHED, ERROR, EXPIRED (unpublished past its lifetime) or PUBLISHED."""
    now = core.now()
    if container.get("published_media_id"):
        return "PUBLISHED"
    if container.get("error"):
        return "ERROR"
    if now >= datetime.fromisoformat(container["created"]) + lifetime:
        return "EXPIRED"
    if now < datetime.fromisoformat(container["ready_at"]):
        return "IN_PROGRESS"
    return "FINISHED"


def posts_last_day(platform: str, account_id: str) -> int:
    """Posts this account published in the rolling 24 hours, as the daily publishing limits count them."""
    cutoff = core.now() - timedelta(hours=24)
    return sum(1 for post in core.store().posts(platform)
               if post.account_id == account_id and post.created_at >= cutoff)


def shortcode(media_id: str) -> str:
    """The permalink code of a media id: its base-64 digits (Instagram's and Threads' alphabet), 11 at most."""
    number, chars = int(media_id), []
    while number:
        number, rest = divmod(number, 64)
        chars.append(SHORTCODE_ALPHABET[rest])
    return "".join(reversed(chars))[-11:]
