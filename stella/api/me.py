"""`/api/v1/me`: who the token belongs to and what it may do."""

from __future__ import annotations

import uuid

from pydantic import Field

from stella.api.routing import api_route
from stella.api.schemas import ApiResponse
from stella.models import User
from stella.models.user import ROLES
from stella.permissions import ROLE_ABILITIES, Ability


class Me(ApiResponse):
    id: uuid.UUID
    email: str
    display_name: str
    role: str = Field(json_schema_extra={"enum": list(ROLES)})
    timezone: str = Field(description="IANA time zone the user reads times in, e.g. `America/Chicago`.")
    abilities: list[Ability] = Field(description="What the role allows; every endpoint says which one it needs.")


@api_route("GET", "/me", response=Me, ability=None, summary="The token's user")
def get_me(user: User) -> Me:
    """The account the token acts for, with its role and what that role allows."""
    return Me(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        role=user.role,
        timezone=user.timezone,
        abilities=sorted(ROLE_ABILITIES.get(user.role, frozenset())),
    )
