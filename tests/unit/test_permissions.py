"""The role → ability table, `can()` and the `requires()` decorator, without a database."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import pytest
from werkzeug.exceptions import Forbidden

import stella.permissions as permissions
from stella.models.user import ROLES
from stella.permissions import ROLE_ABILITIES, ROLE_DESCRIPTIONS, Ability, can, public, requires

# The whole table, written out: a change to who may do what must change this test too.
EXPECTED = {
    "staff": {Ability.VIEW},
    "marketing": {Ability.VIEW, Ability.CREATE_POSTS, Ability.SCHEDULE_POSTS, Ability.MANAGE_CONNECTIONS},
    "approver": {
        Ability.VIEW, Ability.CREATE_POSTS, Ability.SCHEDULE_POSTS, Ability.MANAGE_CONNECTIONS, Ability.APPROVE_POSTS,
    },
    "admin": set(Ability),
}


@dataclass
class FakeUser:
    role: str
    is_active: bool = True
    is_authenticated: bool = True


@pytest.mark.parametrize("role", ROLES)
def test_each_role_has_exactly_the_expected_abilities(role):
    assert set(ROLE_ABILITIES[role]) == EXPECTED[role]
    assert {ability for ability in Ability if can(FakeUser(role), ability)} == EXPECTED[role]


def test_every_database_role_has_abilities_and_a_description():
    assert set(ROLE_ABILITIES) == set(ROLES) == set(ROLE_DESCRIPTIONS)


def test_roles_are_ordered_so_each_grants_everything_the_previous_one_does():
    for lower, higher in pairwise(ROLES):
        assert ROLE_ABILITIES[lower] < ROLE_ABILITIES[higher], f"{higher} should extend {lower}"


def test_only_admins_manage_users():
    assert [role for role in ROLES if can(FakeUser(role), Ability.MANAGE_USERS)] == ["admin"]


def test_anonymous_none_inactive_and_unknown_role_can_do_nothing():
    for user in (None, FakeUser("admin", is_authenticated=False), FakeUser("admin", is_active=False),
                 FakeUser("superuser")):
        assert not any(can(user, ability) for ability in Ability)


def test_can_accepts_the_ability_value_as_a_string():
    assert can(FakeUser("approver"), "approve_posts")
    with pytest.raises(ValueError):
        can(FakeUser("admin"), "launch_rockets")


def test_requires_aborts_403_without_the_ability_and_calls_the_view_with_it(monkeypatch):
    calls = []

    @requires(Ability.APPROVE_POSTS)
    def approve(post_id: int) -> str:
        calls.append(post_id)
        return "approved"

    monkeypatch.setattr(permissions, "current_user", FakeUser("marketing"))
    with pytest.raises(Forbidden):
        approve(1)
    assert calls == []

    monkeypatch.setattr(permissions, "current_user", FakeUser("approver"))
    assert approve(2) == "approved" and calls == [2]
    assert approve.__name__ == "approve"  # functools.wraps keeps endpoint names stable


def test_public_marks_the_view_without_wrapping_it():
    def view() -> str:
        return "hi"

    assert public(view) is view and view.is_public is True
