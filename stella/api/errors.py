"""Every failure under /api/v1 becomes `{"errors": [{field, platform, message}]}` — never HTML, never a traceback.

The one place where errors map to statuses: domain errors (NotFoundError 404, PermissionDeniedError 403,
ConflictError 409, any other DomainError 422), request validation (400 malformed JSON, 415 not JSON, 422 invalid
fields), HTTP errors (401, 404, 405, 413, ...) and unexpected exceptions (500, logged, transaction rolled back).
Routing failures (unknown path, wrong method) happen before any blueprint is chosen, so an app-wide hook answers
those for paths under /api/v1 (see `routing_error_response`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pydantic
from flask import Blueprint, Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from stella.api.schemas import ErrorBody, ErrorItem
from stella.extensions import db
from stella.services.errors import ConflictError, DomainError, NotFoundError, PermissionDeniedError

API_PREFIX = "/api/v1"

# Statuses for domain errors, most specific class first; any other DomainError is a 422.
DOMAIN_STATUSES: tuple[tuple[type[DomainError], int], ...] = (
    (NotFoundError, 404),
    (PermissionDeniedError, 403),
    (ConflictError, 409),
)

# What each HTTP error says; werkzeug's own descriptions talk about "the browser" and "the server".
HTTP_MESSAGES: dict[int, str] = {
    400: "The request could not be read.",
    401: "Send a valid API token: `Authorization: Bearer stl_…`. Create one on your profile page.",
    403: "Your role does not allow this.",
    404: "There is nothing at this address.",
    405: "This address does not accept that method.",
    406: "This API only answers in JSON.",
    413: "The request body is too large.",
    415: "Send the request body as JSON, with `Content-Type: application/json`.",
    429: "Too many requests; wait a moment and try again.",
    500: "Something went wrong on our side. It has been logged; please try again later.",
}

# Response headers from an HTTPException worth keeping (Allow on a 405, Retry-After on a 429/503, ...).
_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


class ApiError(Exception):
    """Raised by the API layer itself (request parsing, authentication) with a status and the problems found."""

    def __init__(self, status: int, items: Iterable[ErrorItem], headers: Mapping[str, str] | None = None) -> None:
        self.status = status
        self.items = list(items)
        self.headers = dict(headers or {})
        super().__init__(f"{status}: {'; '.join(item.message for item in self.items)}")

    @classmethod
    def single(cls, status: int, message: str, *, field: str | None = None, **headers: str) -> ApiError:
        return cls(status, [ErrorItem(field=field, platform=None, message=message)], headers)


def error_response(status: int, items: Iterable[ErrorItem], headers: Mapping[str, str] | None = None) -> Response:
    body = ErrorBody(errors=list(items)).model_dump_json()
    response = current_app.response_class(body, status=status, mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def message_response(status: int, message: str, *, headers: Mapping[str, str] | None = None) -> Response:
    return error_response(status, [ErrorItem(field=None, platform=None, message=message)], headers)


def domain_status(error: DomainError) -> int:
    for cls, status in DOMAIN_STATUSES:
        if isinstance(error, cls):
            return status
    return 422


def validation_items(error: pydantic.ValidationError) -> list[ErrorItem]:
    """pydantic's errors as ours: the field named by its dotted location, the message in plain words."""
    items = []
    for problem in error.errors(include_url=False, include_input=False):
        location = [str(part) for part in problem.get("loc", ())]
        field = ".".join(location) or None
        kind = problem.get("type", "")
        if kind == "extra_forbidden":
            message = f"Unknown field '{field}'."
        elif kind == "missing":
            message = "This field is required."
        elif kind in ("model_type", "model_attributes_type", "dict_type") and field is None:
            message = "The request body must be a JSON object."
        else:
            message = str(problem.get("msg", "This value is not valid.")).rstrip(".") + "."
        items.append(ErrorItem(field=field, platform=None, message=message))
    return items


def http_exception_response(error: HTTPException) -> Response:
    code = error.code or 500
    message = HTTP_MESSAGES.get(code) or error.name or "The request failed."
    kept = {name: value for name, value in error.get_headers() if name in _KEPT_HEADERS}
    return message_response(code, message, headers=kept)


def is_api_path(path: str) -> bool:
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


def routing_error_response() -> Response | None:
    """App-wide `before_request`: an unknown path or wrong method under /api/v1 answers in JSON, not an HTML page.

    Routing errors are raised only when the request is dispatched, after every `before_request` hook, and no
    blueprint's error handlers see them; answering here keeps the rest of the app's error pages untouched.
    """
    error = request.routing_exception
    if error is None or isinstance(error, RequestRedirect) or not is_api_path(request.path):
        return None
    if isinstance(error, HTTPException):
        return http_exception_response(error)
    return None


def register_error_handlers(bp: Blueprint) -> None:
    @bp.errorhandler(ApiError)
    def api_error(error: ApiError) -> Response:
        db.session.rollback()
        return error_response(error.status, error.items, error.headers)

    @bp.errorhandler(DomainError)
    def domain_error(error: DomainError) -> Response:
        db.session.rollback()
        item = ErrorItem(field=error.field, platform=getattr(error, "platform", None), message=error.message)
        return error_response(domain_status(error), [item])

    @bp.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        db.session.rollback()
        return http_exception_response(error)

    @bp.errorhandler(Exception)
    def unexpected_error(error: Exception) -> Any:
        if current_app.config.get("TESTING"):
            raise error
        current_app.logger.exception("Unhandled API error on %s %s", request.method, request.path)
        db.session.rollback()
        return message_response(500, HTTP_MESSAGES[500])


def register_app_hooks(app: Flask) -> None:
    app.before_request(routing_error_response)
