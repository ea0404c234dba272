"""Base classes for the API's request and response schemas, and the error body every failure uses.

Resource modules declare their own schemas beside their routes by subclassing these. The same pydantic models
validate requests, serialize responses and, through `model_json_schema`, become the OpenAPI document's components
(JSON Schema 2020-12, which OpenAPI 3.1 uses as is).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ApiRequest(BaseModel):
    """A JSON request body: unknown fields are refused and types are not coerced ("5" is not a number)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class ApiQuery(BaseModel):
    """Query-string parameters: unknown ones are refused; values arrive as text, so numbers and booleans are parsed."""

    model_config = ConfigDict(extra="forbid")


class ApiHeaders(BaseModel):
    """Request headers a route reads (declare each with `alias="Header-Name"`); other headers are ignored."""

    model_config = ConfigDict(extra="ignore")


class ApiResponse(BaseModel):
    """A response body. Every field is always present in the JSON (null when empty), and the schema says so."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)


class ErrorItem(ApiResponse):
    field: str | None = Field(
        description="The request field at fault, dotted for nested ones (`targets.0.platform`); null for the whole "
        "request."
    )
    platform: str | None = Field(description="The platform whose rule refused the value, when one did.")
    message: str = Field(description="What went wrong and what to do, safe to show to a person.")


class ErrorBody(ApiResponse):
    """Every error response: one or more problems."""

    errors: list[ErrorItem]
