"""`/api/v1/users`: the team's accounts, for admins (as on the Admin → Users page)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from stella.api.routing import api_route
from stella.api.schemas import ApiResponse
from stella.models import User
from stella.models.user import ROLES
from stella.permissions import Ability
from stella.services import users as user_service


class TeamMember(ApiResponse):
    id: uuid.UUID
    email: str
    display_name: str
    role: str = Field(json_schema_extra={"enum": list(ROLES)})
    active: bool
    last_login_at: datetime | None

    @classmethod
    def from_user(cls, user: User) -> TeamMember:
        return cls(
            id=user.id,
            email=user.email,
            display_name=user.display_name,
            role=user.role,
            active=user.is_active,
            last_login_at=user.last_login_at,
        )


class TeamMemberList(ApiResponse):
    users: list[TeamMember]


@api_route("GET", "/users", response=TeamMemberList, ability=Ability.MANAGE_USERS, summary="List every user")
def list_users(user: User) -> TeamMemberList:
    """Active accounts first, then by email."""
    return TeamMemberList(users=[TeamMember.from_user(member) for member in user_service.list_users()])
