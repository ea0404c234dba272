"""The OpenAPI 3.1 document, generated from the declared routes (`routing.ROUTES`) and their pydantic schemas.

Nothing here is written by hand per endpoint: paths and methods come from the route declarations, parameters
from the Flask rule and the query/header models, bodies and responses from the models' JSON Schemas (2020-12,
OpenAPI 3.1's own dialect), and the error responses from what each declaration implies (a token → 401, an
ability → 403, a path argument → 404, a body → 400/413/415/422).
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from stella.api.routing import ROUTES, ApiRoute, api_route
from stella.api.schemas import ApiResponse, ErrorBody
from stella.permissions import ROLE_ABILITIES

OPENAPI_VERSION = "3.1.0"
API_VERSION = "1.0.0"
SECURITY_SCHEME = "bearerAuth"
_SCHEMA_REF = "#/components/schemas/{model}"

API_DESCRIPTION = """\
The same actions as Stella's pages, as JSON, through the same rules and permissions.

**Authentication.** Create a personal API token on your profile page (or `flask api-tokens create`) and send it
as `Authorization: Bearer stl_…`. A token acts with your role. The browser session is never accepted here.

**Errors.** Every error answers `{"errors": [{"field": …, "platform": …, "message": …}]}`: `field` names the
request field at fault (dotted for nested fields) or is null, `platform` names the platform whose rule refused
the value, and `message` is safe to show to a person. Unknown request fields are refused, not ignored.
"""

# Error responses shared by every operation that can produce them (components.responses).
ERROR_RESPONSES: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "The body is not valid JSON."),
    401: ("Unauthorized", "No valid API token was sent."),
    403: ("Forbidden", "The token's user is not allowed to do this."),
    404: ("NotFound", "No such object, or it belongs to someone else."),
    409: ("Conflict", "The object's current state does not allow this."),
    413: ("PayloadTooLarge", "The request body is too large."),
    415: ("UnsupportedMediaType", "The body was not sent as `application/json`."),
    422: ("UnprocessableEntity", "A field is missing, unknown or invalid; `field` says which."),
}

# Flask URL converters as JSON Schemas for path parameters.
_CONVERTER_SCHEMAS: dict[str, dict[str, Any]] = {
    "default": {"type": "string"},
    "string": {"type": "string"},
    "path": {"type": "string"},
    "uuid": {"type": "string", "format": "uuid"},
    "int": {"type": "integer", "minimum": 0},
    "float": {"type": "number", "minimum": 0},
}
_RULE_ARGUMENT = re.compile(r"<(?:(?P<converter>\w+)(?:\((?P<args>[^)]*)\))?:)?(?P<name>\w+)>")


def openapi_path(rule: str) -> str:
    """`/api/v1/tokens/<uuid:token_id>` → `/api/v1/tokens/{token_id}`."""
    return _RULE_ARGUMENT.sub(lambda match: "{" + match.group("name") + "}", rule)


def _path_parameters(rule: str) -> list[dict[str, Any]]:
    parameters = []
    for match in _RULE_ARGUMENT.finditer(rule):
        converter = match.group("converter") or "default"
        if converter == "any":
            choices = [choice.strip().strip("'\"") for choice in (match.group("args") or "").split(",")]
            schema: dict[str, Any] = {"type": "string", "enum": choices}
        else:
            schema = dict(_CONVERTER_SCHEMAS.get(converter, {"type": "string"}))
        parameters.append({"name": match.group("name"), "in": "path", "required": True, "schema": schema})
    return parameters


def _models(routes: list[ApiRoute]) -> list[tuple[type[BaseModel], JsonSchemaMode]]:
    found: list[tuple[type[BaseModel], JsonSchemaMode]] = [(ErrorBody, "serialization")]
    for route in routes:
        for model in (route.body, route.query, route.headers):
            if model is not None:
                found.append((model, "validation"))
        for model in (route.response, *route.responses.values()):
            if model is not None:
                found.append((model, "serialization"))
    return list(dict.fromkeys(found))


def _model_parameters(
    model: type[BaseModel], location: str, ref: dict[str, Any], schemas: dict[str, Any]
) -> list[dict[str, Any]]:
    """A query or header model's fields as OpenAPI parameters."""
    name = ref["$ref"].rsplit("/", 1)[-1]
    schema = schemas[name]
    required = set(schema.get("required", ()))
    parameters = []
    for field, field_schema in schema.get("properties", {}).items():
        parameter: dict[str, Any] = {"name": field, "in": location, "required": field in required}
        description = field_schema.get("description")
        if description:
            parameter["description"] = description
        parameter["schema"] = field_schema
        if location == "query" and field_schema.get("type") == "array":
            parameter.update(style="form", explode=True)
        parameters.append(parameter)
    return parameters


def _ability_note(route: ApiRoute) -> str | None:
    if route.public:
        return "No token needed."
    if route.ability is None:
        return "Any valid token."
    roles = [role for role, abilities in ROLE_ABILITIES.items() if route.ability in abilities]
    return f"Needs the `{route.ability}` ability (roles: {', '.join(roles)})."


def _error_statuses(route: ApiRoute) -> list[int]:
    statuses = set(route.errors)
    if not route.public:
        statuses.add(401)
        if route.ability is not None:
            statuses.add(403)
    if _RULE_ARGUMENT.search(route.rule):
        statuses.add(404)
    if route.body is not None:
        statuses.update((400, 413, 415, 422))
    if route.query is not None or route.headers is not None:
        statuses.add(422)
    return sorted(statuses - {route.status} - set(route.responses))


def _response(model: type[BaseModel] | None, refs: dict[Any, Any], description: str) -> dict[str, Any]:
    if model is None:
        return {"description": description}
    schema = refs[(model, "serialization")]
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _operation(route: ApiRoute, refs: dict[Any, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    description = "\n\n".join(part for part in (route.description, _ability_note(route)) if part)
    operation: dict[str, Any] = {
        "operationId": route.endpoint.split(".", 1)[1],
        "summary": route.summary,
        "description": description,
        "tags": [route.tag],
    }
    parameters = _path_parameters(route.rule)
    if route.query is not None:
        parameters += _model_parameters(route.query, "query", refs[(route.query, "validation")], schemas)
    if route.headers is not None:
        parameters += _model_parameters(route.headers, "header", refs[(route.headers, "validation")], schemas)
    if parameters:
        operation["parameters"] = parameters
    if route.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(route.body, "validation")]}},
        }
    responses: dict[str, Any] = {str(route.status): _response(route.response, refs, route.summary)}
    for status, model in sorted(route.responses.items()):
        responses[str(status)] = _response(model, refs, route.summary)
    for status in _error_statuses(route):
        responses[str(status)] = {"$ref": f"#/components/responses/{ERROR_RESPONSES[status][0]}"}
    operation["responses"] = responses
    operation["security"] = [] if route.public else [{SECURITY_SCHEME: []}]
    return operation


def build_document(routes: list[ApiRoute] | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document for `routes` (every declared route by default)."""
    routes = list(ROUTES if routes is None else routes)
    refs, top = models_json_schema(_models(routes), ref_template=_SCHEMA_REF)
    schemas: dict[str, Any] = dict(top.get("$defs", {}))
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(openapi_path(route.path), {})[route.method.lower()] = _operation(route, refs, schemas)
    # Query and header models became parameters: drop their own schemas unless something else refers to them.
    parameter_models = {route.query for route in routes} | {route.headers for route in routes}
    used = json.dumps([paths, schemas])
    for model in parameter_models:
        if model is not None:
            name = refs[(model, "validation")]["$ref"].rsplit("/", 1)[-1]
            if f'"{_SCHEMA_REF.format(model=name)}"' not in used:
                schemas.pop(name, None)
    error_ref = refs[(ErrorBody, "serialization")]
    error_responses: dict[str, Any] = {}
    for name, description in ERROR_RESPONSES.values():
        error_responses[name] = {
            "description": description,
            "content": {"application/json": {"schema": error_ref}},
        }
    error_responses["Unauthorized"]["headers"] = {
        "WWW-Authenticate": {"description": "`Bearer` challenge (RFC 6750).", "schema": {"type": "string"}}
    }
    tags = list(dict.fromkeys(route.tag for route in routes))
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "Stella API", "version": API_VERSION, "description": API_DESCRIPTION},
        "tags": [{"name": tag} for tag in tags],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": error_responses,
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A personal API token (`stl_…`) from your profile page.",
                }
            },
        },
        "security": [{SECURITY_SCHEME: []}],
    }


@cache
def _cached_document() -> str:
    # Routes are all declared at import time, so the document never changes while the process runs.
    return json.dumps(build_document())


class OpenApiDocument(ApiResponse):
    """An OpenAPI 3.1 document (only its top level is described here)."""

    model_config = ConfigDict(extra="allow")

    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]


@api_route("GET", "/openapi.json", response=OpenApiDocument, public=True, tag="meta",
           summary="This API's OpenAPI 3.1 document")
def openapi_document() -> OpenApiDocument:
    """Generated from the same schemas that validate requests and shape responses."""
    return OpenApiDocument.model_validate_json(_cached_document())
