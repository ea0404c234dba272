"""A connection's status moves only along CONNECTION_TRANSITIONS, and refusals say whether their side effects stand."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from stella.models.connection import CONNECTION_STATUSES, CONNECTION_TRANSITIONS, SocialConnection
from stella.models.post import InvalidTransitionError
from stella.services import errors
from stella.services.connections import ConnectFailedError
from stella.services.errors import DomainError, NotFoundError, ValidationError, settle

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
MOVES = [(source, target) for source in CONNECTION_TRANSITIONS for target in CONNECTION_STATUSES]


def connection(status: str | None, **metadata: Any) -> SocialConnection:
    return SocialConnection(provider="x", status=status, auth_metadata=dict(metadata))


def test_the_table_has_a_row_for_a_new_connection_and_every_status_and_names_only_statuses():
    assert set(CONNECTION_TRANSITIONS) == {None, *CONNECTION_STATUSES}
    for targets in CONNECTION_TRANSITIONS.values():
        assert targets <= set(CONNECTION_STATUSES)


@pytest.mark.parametrize(("source", "target"), MOVES)
def test_move_to_follows_the_table(source: str | None, target: str):
    item = connection(source)
    if target in CONNECTION_TRANSITIONS[source]:
        item.move_to(target, now=NOW)
        assert item.status == target
    else:
        with pytest.raises(InvalidTransitionError):
            item.move_to(target, now=NOW)
        assert item.status == source


@pytest.mark.parametrize("source", list(CONNECTION_TRANSITIONS))
def test_a_status_outside_the_workflow_is_refused(source: str | None):
    item = connection(source)
    with pytest.raises(InvalidTransitionError, match="cannot become 'disconnected'"):
        item.move_to("disconnected", now=NOW)
    assert item.status == source


def test_a_stored_status_the_workflow_does_not_know_cannot_move():
    with pytest.raises(InvalidTransitionError):
        connection("revoked").move_to("connected", now=NOW)


def test_connecting_stamps_connected_at_and_clears_the_error_it_was_shown_with():
    item = connection("error", error_reason="Expired.", error_at=NOW.isoformat(), page_id="101")
    item.move_to("connected", now=NOW)
    assert item.connected_at == NOW and item.auth_metadata == {"page_id": "101"}


def test_failing_again_keeps_the_error_details_for_the_caller_to_replace():
    item = connection("error", error_reason="Expired.")
    item.move_to("error", now=NOW)
    assert item.auth_metadata == {"error_reason": "Expired."} and item.connected_at is None


def test_refusals_say_whether_what_was_done_before_them_stands():
    assert not ValidationError("no").keep_changes and not NotFoundError("no").keep_changes
    assert ConnectFailedError("the state is spent").keep_changes
    assert DomainError("kept", keep_changes=True).keep_changes
    assert not ConnectFailedError("nothing to keep", keep_changes=False).keep_changes


class RecordingSession:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def commit(self) -> None:
        self.calls.append("commit")

    def rollback(self) -> None:
        self.calls.append("rollback")


@pytest.mark.parametrize(("error", "expected"), [
    (None, "commit"),
    (ConnectFailedError("state spent"), "commit"),
    (ValidationError("bad input"), "rollback"),
])
def test_settle_commits_success_and_kept_side_effects_and_rolls_back_the_rest(monkeypatch, error, expected):
    session = RecordingSession()
    monkeypatch.setattr(errors, "db", type("FakeDb", (), {"session": session})())
    settle(error)
    assert session.calls == [expected]
