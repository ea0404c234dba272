"""Who is calling: `Authorization: Bearer <personal API token>`, and nothing else.

The API never reads the browser session. A session cookie is an ambient credential — the browser attaches it to
any request, including one a hostile page makes — which is why the HTML forms need CSRF tokens. A bearer token is
only sent by code that was given it, so the API is exempt from CSRF; and because the cookie is ignored here, a page
cannot borrow a signed-in user's session to call the API either.

Deny by default: every API endpoint requires a valid token unless its view is marked public (only the OpenAPI
document is).
"""

from __future__ import annotations

from flask import Response, current_app, g, request

from stella.api.errors import message_response
from stella.extensions import db
from stella.models import User
from stella.models.types import now_utc
from stella.services.api_tokens import authenticate_token

PUBLIC_ATTRIBUTE = "api_public"
_CHALLENGE = 'Bearer realm="stella"'
_INVALID_CHALLENGE = 'Bearer realm="stella", error="invalid_token"'


def _unauthorized(message: str, challenge: str) -> Response:
    return message_response(401, message, headers={"WWW-Authenticate": challenge})


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None when absent or not that shape."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token


def authenticate_request() -> Response | None:
    """Blueprint `before_request`: a 401 unless the request carries a valid token; sets the caller otherwise."""
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, PUBLIC_ATTRIBUTE, False):
        return None
    header = request.headers.get("Authorization")
    if not header:
        return _unauthorized("This API needs a token: send `Authorization: Bearer stl_…`.", _CHALLENGE)
    token = bearer_token(header)
    if token is None:
        return _unauthorized("Send the token as `Authorization: Bearer stl_…`.", _INVALID_CHALLENGE)
    user = authenticate_token(token, now_utc())
    if user is None:
        db.session.rollback()
        return _unauthorized("That API token is not valid: it may have been revoked.", _INVALID_CHALLENGE)
    # The token's last-use time (if it changed) is committed now, apart from whatever the request then does.
    db.session.commit()
    g.api_user = user
    # Flask-Login's `current_user` is the token's user for the rest of the request, so nothing downstream can pick
    # up the browser session's user by accident (Flask-Login reads the user from `g._login_user` when it is set).
    g._login_user = user
    return None


def current_api_user() -> User:
    """The authenticated caller of this API request (only valid inside a non-public API view)."""
    user: User | None = g.get("api_user")
    if user is None:
        raise RuntimeError("current_api_user() called outside an authenticated API request")
    return user
