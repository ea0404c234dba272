"""`/api/v1/connections`: the caller's social accounts, as the Connections page shows them — never their tokens."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from stella.api.routing import api_route
from stella.api.schemas import ApiResponse
from stella.models import User
from stella.models.connection import CONNECTION_STATUSES
from stella.platforms import PLATFORMS
from stella.services.connections import PlatformCard, list_platform_cards
from stella.services.errors import NotFoundError


class Connection(ApiResponse):
    platform: str = Field(json_schema_extra={"enum": list(PLATFORMS)}, description="Platform id, e.g. `linkedin`.")
    platform_name: str = Field(description="The platform's name as people know it.")
    status: str = Field(
        json_schema_extra={"enum": list(CONNECTION_STATUSES)},
        description="`pending`: a page or channel still has to be chosen; `error`: reconnect (see `error_reason`)."
    )
    handle: str | None = Field(description="The account's handle or username on the platform.")
    display_name: str | None
    avatar_url: str | None
    connected_at: datetime | None
    token_expires_at: datetime | None = Field(description="When the platform's access expires, if it says.")
    error_reason: str | None = Field(description="Why the connection stopped working, when `status` is `error`.")

    @classmethod
    def from_card(cls, card: PlatformCard) -> Connection:
        connection, token = card.connection, card.token
        assert connection is not None
        return cls(
            platform=card.name,
            platform_name=card.display_name,
            status=connection.status,
            handle=token.account_handle if token else None,
            display_name=token.display_name if token else None,
            avatar_url=token.profile_image_url if token else None,
            connected_at=connection.connected_at,
            token_expires_at=token.token_expires_at if token else None,
            error_reason=card.error_reason,
        )


class ConnectionList(ApiResponse):
    connections: list[Connection]


@api_route("GET", "/connections", response=ConnectionList, summary="List your connected accounts")
def list_connections(user: User) -> ConnectionList:
    """One entry per platform you have connected (or started connecting); platforms never connected are left out."""
    cards = list_platform_cards(user)
    return ConnectionList(connections=[Connection.from_card(card) for card in cards if card.connection is not None])


@api_route("GET", "/connections/<platform>", response=Connection, summary="One connected account")
def get_connection(user: User, platform: str) -> Connection:
    """Your connection to `platform`; 404 when you have none."""
    # Checked first so a junk path segment never reaches the database.
    if platform in PLATFORMS:
        for card in list_platform_cards(user):
            if card.name == platform and card.connection is not None:
                return Connection.from_card(card)
    raise NotFoundError("You have no connection to that platform.")
