"""Local wall-clock times to UTC: gaps refused with a sentence, overlaps asking which, past times refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from stella.services.errors import ValidationError
from stella.services.schedule_time import (
    AmbiguousTimeError,
    NonexistentTimeError,
    describe_duration,
    local_to_utc,
    require_future,
    zone_named,
)

BERLIN = ZoneInfo("Europe/Berlin")


def test_an_ordinary_berlin_morning_is_stored_in_utc():
    assert local_to_utc(datetime(2026, 12, 6, 9, 0), BERLIN) == datetime(2026, 12, 6, 8, 0, tzinfo=UTC)


def test_summer_time_is_taken_into_account():
    assert local_to_utc(datetime(2026, 7, 1, 9, 0), BERLIN) == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)


def test_a_time_inside_the_spring_forward_gap_is_refused_with_a_sentence():
    # Berlin jumps from 02:00 to 03:00 on the last Sunday of March 2026 (29 March).
    with pytest.raises(NonexistentTimeError) as refused:
        local_to_utc(datetime(2026, 3, 29, 2, 30), BERLIN)
    message = refused.value.message
    assert "02:30 on Sunday 29 March 2026 does not exist in Europe/Berlin" in message
    assert "Choose 03:00 or later" in message
    assert refused.value.field == "scheduled_at"


def test_a_fall_back_time_asks_which_of_the_two_is_meant():
    # Berlin goes back from 03:00 CEST to 02:00 CET on 25 October 2026: 02:30 happens twice.
    with pytest.raises(AmbiguousTimeError) as asked:
        local_to_utc(datetime(2026, 10, 25, 2, 30), BERLIN)
    first, second = asked.value.choices
    assert first.instant == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert second.instant == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert first.label == "02:30 CEST (UTC+02:00)" and second.label == "02:30 CET (UTC+01:00)"
    assert "happens twice in Europe/Berlin" in asked.value.message


@pytest.mark.parametrize(("fold", "hour"), [(0, 0), (1, 1)])
def test_the_chosen_fold_settles_an_ambiguous_time(fold, hour):
    expected = datetime(2026, 10, 25, hour, 30, tzinfo=UTC)
    assert local_to_utc(datetime(2026, 10, 25, 2, 30), BERLIN, fold=fold) == expected


def test_new_york_gap_and_overlap_too():
    new_york = ZoneInfo("America/New_York")
    with pytest.raises(NonexistentTimeError):
        local_to_utc(datetime(2026, 3, 8, 2, 15), new_york)
    with pytest.raises(AmbiguousTimeError):
        local_to_utc(datetime(2026, 11, 1, 1, 15), new_york)


def test_an_aware_time_is_a_programming_error_not_a_user_error():
    with pytest.raises(ValueError, match="naive"):
        local_to_utc(datetime(2026, 12, 6, 9, 0, tzinfo=UTC), BERLIN)


@pytest.mark.parametrize("name", ["", "   ", "Mars/Olympus", "../../etc/passwd", "Europe/Berlin\x00"])
def test_unknown_zones_get_a_clear_message(name):
    with pytest.raises(ValidationError) as refused:
        zone_named(name)
    assert refused.value.field == "timezone"


def test_a_known_zone_is_returned():
    assert zone_named(" Europe/Berlin ").key == "Europe/Berlin"


def test_a_past_time_is_refused_saying_by_how_much():
    now = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    with pytest.raises(ValidationError, match="That time is 3 hours 5 minutes in the past"):
        require_future(now - timedelta(hours=3, minutes=5), now)
    with pytest.raises(ValidationError, match="less than a minute in the past"):
        require_future(now, now)
    require_future(now + timedelta(minutes=1), now)


@pytest.mark.parametrize(("span", "words"), [
    (timedelta(seconds=59), "less than a minute"),
    (timedelta(minutes=1), "1 minute"),
    (timedelta(days=2, hours=1, minutes=7), "2 days 1 hour"),
    (timedelta(hours=5), "5 hours"),
])
def test_durations_read_as_words(span, words):
    assert describe_duration(span) == words
