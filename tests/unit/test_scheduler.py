"""The scheduler's job table: every entry runs a real service that takes `now`."""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from stella import scheduler
from stella.scheduler import JOBS, _run_in_app

calls: list[datetime] = []


def resolve(target: str) -> Callable[..., Any]:
    module_name, _, func_name = target.partition(":")
    return getattr(importlib.import_module(module_name), func_name)  # type: ignore[no-any-return]


@pytest.mark.parametrize(("job_id", "interval", "target"), JOBS, ids=[job[0] for job in JOBS])
def test_every_job_points_at_an_importable_function_taking_now(job_id: str, interval: timedelta, target: str) -> None:
    module_name, separator, func_name = target.partition(":")
    assert separator == ":" and module_name.startswith("stella.services.") and func_name, target
    func = resolve(target)
    assert callable(func)
    parameters = inspect.signature(func).parameters
    assert "now" in parameters
    assert parameters["now"].kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    # The scheduler passes `now` and nothing else, so every other parameter needs a default.
    others = [p for name, p in parameters.items() if name != "now"]
    assert all(p.default is not inspect.Parameter.empty for p in others), f"{target} needs more than `now`"


def test_job_ids_are_unique_and_intervals_positive() -> None:
    ids = [job_id for job_id, _, _ in JOBS]
    assert len(ids) == len(set(ids))
    assert all(interval > timedelta(0) for _, interval, _ in JOBS)


def test_login_attempts_are_pruned_hourly() -> None:
    assert ("prune_login_attempts", timedelta(hours=1), "stella.services.auth:prune_login_attempts") in JOBS


def record_now(now: datetime) -> None:
    calls.append(now)


def fail(now: datetime) -> None:
    raise RuntimeError("boom")


def test_a_job_runs_with_the_current_utc_time(app: Flask) -> None:
    calls.clear()
    _run_in_app(app, "record", f"{__name__}:record_now")()
    assert len(calls) == 1
    assert calls[0].utcoffset() == timedelta(0)


def test_a_failing_job_is_logged_and_does_not_stop_the_scheduler(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger=scheduler.__name__):
        _run_in_app(app, "fail", f"{__name__}:fail")()  # must not raise
    assert "scheduler job fail failed" in caplog.text


locked_once: list[datetime] = []


def locked_the_first_time(now: datetime) -> None:
    import sqlalchemy as sa

    locked_once.append(now)
    if len(locked_once) == 1:
        raise sa.exc.OperationalError("UPDATE ...", {}, Exception("database is locked"))


def test_a_job_whose_write_met_a_locked_database_runs_once_more(app: Flask) -> None:
    locked_once.clear()
    _run_in_app(app, "locked", f"{__name__}:locked_the_first_time")()
    assert len(locked_once) == 2


def test_a_job_that_keeps_meeting_a_locked_database_is_tried_twice_not_forever(app: Flask, caplog) -> None:
    import sqlalchemy as sa

    attempts: list[int] = []

    def always_locked(now: datetime) -> None:
        attempts.append(1)
        raise sa.exc.OperationalError("UPDATE ...", {}, Exception("database is locked"))

    globals()["always_locked"] = always_locked
    with caplog.at_level(logging.ERROR, logger="stella.scheduler"):
        _run_in_app(app, "locked", f"{__name__}:always_locked")()
    assert len(attempts) == 2
    assert "scheduler job locked failed" in caplog.text
