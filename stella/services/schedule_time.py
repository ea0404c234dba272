"""Turning the time a person typed (a wall-clock time in their zone) into the UTC instant Stella stores.

Wall-clock times are not always instants: when clocks spring forward an hour of local times never happens, and when
they fall back an hour happens twice. Neither is guessed: a missing time is refused with a sentence saying so, an
ambiguous one asks which of the two is meant (`fold`, as in PEP 495: 0 the first, 1 the second).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from stella.services.errors import ValidationError


class NonexistentTimeError(ValidationError):
    """The local time falls in a spring-forward gap."""


class AmbiguousTimeError(ValidationError):
    """The local time happens twice (fall-back); `choices` are the two instants, in order."""

    def __init__(self, message: str, *, choices: tuple[ZonedChoice, ZonedChoice], field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.choices = choices


@dataclass(frozen=True)
class ZonedChoice:
    fold: int
    instant: datetime  # aware UTC
    label: str  # "01:30 CEST (UTC+02:00)"


def zone_named(name: str | None, *, field: str = "timezone") -> ZoneInfo:
    """The IANA zone called `name`; a clear error for an unknown or empty one."""
    cleaned = (name or "").strip()
    if not cleaned:
        raise ValidationError("Choose a time zone.", field=field)
    try:
        return ZoneInfo(cleaned)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"“{cleaned[:60]}” is not a time zone Stella knows. Use an IANA name such as Europe/Berlin.", field=field
        ) from None


def local_to_utc(local: datetime, zone: ZoneInfo, *, fold: int | None = None, field: str = "scheduled_at") -> datetime:
    """The UTC instant of the naive wall-clock time `local` in `zone`.

    Raises NonexistentTimeError in a gap and, unless `fold` says which one, AmbiguousTimeError in an overlap.
    """
    if local.tzinfo is not None:
        raise ValueError("local_to_utc takes a naive wall-clock time")
    first = local.replace(tzinfo=zone, fold=0)
    second = local.replace(tzinfo=zone, fold=1)
    if _round_trips(first, local) is False and _round_trips(second, local) is False:
        raise NonexistentTimeError(_gap_sentence(local, zone), field=field)
    if first.utcoffset() != second.utcoffset():
        choices = (_choice(first, 0), _choice(second, 1))
        if fold is None:
            raise AmbiguousTimeError(
                f"{_clock(local)} on {_day(local)} happens twice in {zone.key} because the clocks go back an hour. "
                f"Choose {choices[0].label} (the first) or {choices[1].label} (the second).",
                choices=choices,
                field=field,
            )
        return (second if fold else first).astimezone(UTC)
    return first.astimezone(UTC)


def require_future(when: datetime, now: datetime, *, field: str = "scheduled_at") -> None:
    """Refuse a time that has passed, saying by how much."""
    if when <= now:
        raise ValidationError(f"That time is {describe_duration(now - when)} in the past. Choose a later time.",
                              field=field)


def describe_duration(span: timedelta) -> str:
    """'3 days 2 hours', '5 minutes', 'less than a minute': the two largest units, for sentences."""
    seconds = int(span.total_seconds())
    if seconds < 60:
        return "less than a minute"
    parts = []
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}{'s' if count != 1 else ''}")
    return " ".join(parts[:2])


def _round_trips(aware: datetime, local: datetime) -> bool:
    # A time in a gap comes back from UTC as a different wall-clock time.
    return aware.astimezone(UTC).astimezone(aware.tzinfo).replace(tzinfo=None) == local


def _gap_sentence(local: datetime, zone: ZoneInfo) -> str:
    # Walk forward to the first local time that exists: where the clocks land after the jump.
    probe = local.replace(minute=0, second=0, microsecond=0)
    for _ in range(6 * 60):
        probe += timedelta(minutes=1)
        if _round_trips(probe.replace(tzinfo=zone), probe):
            break
    return (
        f"{_clock(local)} on {_day(local)} does not exist in {zone.key}: the clocks jump forward then. "
        f"Choose {_clock(probe)} or later, or a time before the change."
    )


def _choice(aware: datetime, fold: int) -> ZonedChoice:
    offset = aware.utcoffset() or timedelta(0)
    sign = "+" if offset >= timedelta(0) else "-"
    minutes = abs(int(offset.total_seconds())) // 60
    label = f"{_clock(aware)} {aware.tzname()} (UTC{sign}{minutes // 60:02d}:{minutes % 60:02d})"
    return ZonedChoice(fold=fold, instant=aware.astimezone(UTC), label=label)


def _clock(moment: datetime) -> str:
    return moment.strftime("%H:%M")


def _day(moment: datetime) -> str:
    return f"{moment.strftime('%A')} {moment.day} {moment.strftime('%B %Y')}"
