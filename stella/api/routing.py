"""How an /api/v1 endpoint is declared: one decorator names its method, path, permission and schemas.

    @api_route("POST", "/tokens", body=TokenCreate, response=TokenCreated, status=201, summary="Create a token")
    def create_token(user: User, body: TokenCreate) -> TokenCreated:
        ...

The decorator adds the Flask rule to the API blueprint and records the declaration in `ROUTES`, from which
`stella.api.openapi` builds the document — so what is validated and what is documented cannot drift apart. The
view it installs, in order:

1. (the blueprint's `before_request` has already authenticated the bearer token — see auth.py);
2. checks the declared ability with `stella.permissions.can` (403);
3. validates the query string (`query=`), declared headers (`headers=`) and JSON body (`body=`) with their pydantic
   models: a body must be `application/json` (415) and valid JSON (400); unknown fields and wrong types are 422s
   naming the field;
4. calls the view with keyword arguments: the path arguments, `user` (unless public), `body`, `query`, `headers`;
5. serializes what it returns with the declared response model (None for a 204; a flask Response passes through,
   for views that set their own status or headers — declare those statuses in `responses=`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, TypeVar, get_args, get_origin

import pydantic
from flask import Blueprint, Response, current_app, request
from pydantic import BaseModel

from stella.api.auth import PUBLIC_ATTRIBUTE, current_api_user
from stella.api.errors import API_PREFIX, ApiError, validation_items
from stella.permissions import Ability, can

bp = Blueprint("api", __name__, url_prefix=API_PREFIX)

F = TypeVar("F", bound=Callable[..., Any])
_JSON_TYPES = ("application/json",)


@dataclass(frozen=True)
class ApiRoute:
    """One declared operation: everything the wrapper enforces and the OpenAPI document shows."""

    method: str
    rule: str  # werkzeug syntax, relative to /api/v1: "/tokens/<uuid:token_id>"
    endpoint: str  # "api.<view name>", also the operationId
    summary: str
    description: str | None
    tag: str
    ability: Ability | None  # None: any active user with a token
    public: bool
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    headers: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    # Further statuses the view itself may answer with, and their body schema (None for no body).
    responses: Mapping[int, type[BaseModel] | None] = field(default_factory=dict)
    # Error statuses a view's services may raise beyond those the declaration implies (404, 409, ...).
    errors: tuple[int, ...] = ()

    @property
    def path(self) -> str:
        return API_PREFIX + self.rule


# Every declared operation, in declaration order (the order of the OpenAPI document).
ROUTES: list[ApiRoute] = []


def api_route(
    method: str,
    rule: str,
    *,
    summary: str,
    response: type[BaseModel] | None = None,
    status: int = 200,
    ability: Ability | None = Ability.VIEW,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    headers: type[BaseModel] | None = None,
    responses: Mapping[int, type[BaseModel] | None] | None = None,
    errors: tuple[int, ...] = (),
    public: bool = False,
    tag: str | None = None,
) -> Callable[[F], F]:
    """Declare an API operation (see the module docstring). The view's docstring becomes its description."""
    method = method.upper()
    if (response is None) != (status == 204):
        raise ValueError(f"{method} {rule}: a 204 has no response model; every other status needs one")

    def decorate(view: F) -> F:
        route = ApiRoute(
            method=method,
            rule=rule,
            endpoint=f"{bp.name}.{view.__name__}",
            summary=summary,
            description=(view.__doc__ or "").strip() or None,
            tag=tag or view.__module__.rsplit(".", 1)[-1],
            ability=None if public else ability,
            public=public,
            body=body,
            query=query,
            headers=headers,
            response=response,
            status=status,
            responses=dict(responses or {}),
            errors=errors,
        )

        @wraps(view)
        def endpoint(**path_args: Any) -> Any:
            return _dispatch(route, view, path_args)

        setattr(endpoint, PUBLIC_ATTRIBUTE, public)
        bp.add_url_rule(rule, endpoint=view.__name__, view_func=endpoint, methods=[method])
        ROUTES.append(route)
        return view

    return decorate


def _dispatch(route: ApiRoute, view: Callable[..., Any], path_args: dict[str, Any]) -> Any:
    kwargs = dict(path_args)
    if not route.public:
        user = current_api_user()
        if route.ability is not None and not can(user, route.ability):
            raise ApiError.single(403, "Your role does not allow this.")
        kwargs["user"] = user
    if route.query is not None:
        kwargs["query"] = _validate(route.query, _query_values(route.query), strict=False)
    if route.headers is not None:
        kwargs["headers"] = _validate(route.headers, _header_values(route.headers), strict=False)
    if route.body is not None:
        kwargs["body"] = _json_body(route.body)
    result = view(**kwargs)
    return _respond(route, result)


def _validate(model: type[BaseModel], values: dict[str, Any], *, strict: bool) -> BaseModel:
    try:
        return model.model_validate(values, strict=strict)
    except pydantic.ValidationError as error:
        raise ApiError(422, validation_items(error)) from None


def _query_values(model: type[BaseModel]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in request.args:
        all_values = request.args.getlist(name)
        info = model.model_fields.get(name)
        values[name] = all_values if info is not None and _is_sequence(info.annotation) else all_values[-1]
    return values


def _is_sequence(annotation: Any) -> bool:
    """`list[str]`, `list[str] | None`, ...: a query parameter that may repeat (`?status=draft&status=failed`)."""
    if get_origin(annotation) in (list, tuple, set, frozenset):
        return True
    return any(_is_sequence(arg) for arg in get_args(annotation))


def _header_values(model: type[BaseModel]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        header = info.alias or name
        if header in request.headers:
            values[header] = request.headers[header]
    return values


def _json_body(model: type[BaseModel]) -> BaseModel:
    if request.mimetype not in _JSON_TYPES and not request.mimetype.endswith("+json"):
        raise ApiError.single(415, "Send the request body as JSON, with `Content-Type: application/json`.")
    data = request.get_data(cache=True)  # over MAX_CONTENT_LENGTH: werkzeug raises a 413
    try:
        return model.model_validate_json(data)
    except pydantic.ValidationError as error:
        if any(problem.get("type") == "json_invalid" for problem in error.errors(include_url=False)):
            raise ApiError.single(400, "The request body is not valid JSON.") from None
        raise ApiError(422, validation_items(error)) from None


def _respond(route: ApiRoute, result: Any) -> Response:
    if isinstance(result, Response):
        return result
    if route.response is None:
        if result is not None:
            raise TypeError(f"{route.endpoint} is declared 204 but returned {type(result).__name__}")
        response = current_app.response_class(status=204)
        del response.headers["Content-Type"]  # no body, so no type
        return response
    if not isinstance(result, route.response):
        raise TypeError(f"{route.endpoint} returned {type(result).__name__}, not {route.response.__name__}")
    return json_response(result, route.status)


def json_response(model: BaseModel, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON response from a schema instance: for views that choose their own status or headers."""
    response = current_app.response_class(model.model_dump_json(), status=status, mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response
