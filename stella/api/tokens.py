"""`/api/v1/tokens`: the caller's personal API tokens. The token itself is in the create response only."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from stella.api.routing import api_route
from stella.api.schemas import ApiQuery, ApiRequest, ApiResponse
from stella.extensions import db
from stella.models import ApiToken, User
from stella.models.types import now_utc
from stella.services import api_tokens as token_service

# What the service accepts: no control characters (C0, DEL, C1) and at least one character that is not a space.
NAME_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"


class TokenCreate(ApiRequest):
    name: str = Field(
        min_length=1,
        max_length=token_service.NAME_MAX_LENGTH,
        pattern=NAME_PATTERN,
        description="A label to tell the token apart later, e.g. the script or service that uses it.",
        examples=["Listing import script"],
    )


class Token(ApiResponse):
    id: uuid.UUID
    name: str
    prefix: str = Field(description="The token's first characters, to recognise it; the rest is never shown again.")
    created_at: datetime
    last_used_at: datetime | None = Field(description="Updated at most once a minute.")
    revoked_at: datetime | None
    active: bool

    @classmethod
    def from_row(cls, token: ApiToken) -> Token:
        return cls(
            id=token.id,
            name=token.name,
            prefix=token.prefix,
            created_at=token.created_at,
            last_used_at=token.last_used_at,
            revoked_at=token.revoked_at,
            active=token.revoked_at is None,
        )


class CreatedToken(Token):
    token: str = Field(description="The token to send as `Authorization: Bearer …`. Shown only in this response.")


class TokenList(ApiResponse):
    tokens: list[Token]


class TokenFilters(ApiQuery):
    active: bool | None = Field(default=None, description="`true`: only active tokens; `false`: only revoked ones.")


@api_route("GET", "/tokens", query=TokenFilters, response=TokenList, ability=None, summary="List your API tokens")
def list_tokens(user: User, query: TokenFilters) -> TokenList:
    """Active tokens first, newest first; revoked ones stay listed so you can see what was used when."""
    tokens = token_service.list_api_tokens(user)
    if query.active is not None:
        tokens = [token for token in tokens if (token.revoked_at is None) == query.active]
    return TokenList(tokens=[Token.from_row(token) for token in tokens])


@api_route("POST", "/tokens", body=TokenCreate, response=CreatedToken, status=201, ability=None,
           summary="Create an API token")
def create_token(user: User, body: TokenCreate) -> CreatedToken:
    """The new token acts with your role. Store it now: Stella keeps only a hash and cannot show it again."""
    token, plaintext = token_service.create_api_token(user, body.name, now_utc())
    db.session.commit()
    return CreatedToken(**Token.from_row(token).model_dump(), token=plaintext)


@api_route("DELETE", "/tokens/<uuid:token_id>", status=204, ability=None, summary="Revoke an API token")
def revoke_token(user: User, token_id: uuid.UUID) -> None:
    """The token stops working at once. Revoking a revoked token is not an error."""
    token_service.revoke_api_token(user, token_id, now_utc())
    db.session.commit()
