"""APScheduler wiring: each job pushes an app context and calls one service, then commits."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from stella.database import retry_if_locked
from stella.extensions import db

log = logging.getLogger(__name__)

# (job id, interval, "module:function") — the function takes `now` and returns a short summary.
JOBS: tuple[tuple[str, timedelta, str], ...] = (
    ("refresh_tokens", timedelta(minutes=5), "stella.services.tokens:refresh_expiring_tokens"),
    ("prune_login_attempts", timedelta(hours=1), "stella.services.auth:prune_login_attempts"),
    ("prune_user_sessions", timedelta(hours=1), "stella.services.auth:prune_user_sessions"),
)


def start_scheduler(app: Flask) -> BackgroundScheduler:
    """Start the background scheduler in this process (the serving process only)."""
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
    for job_id, interval, target in JOBS:
        scheduler.add_job(
            _run_in_app(app, job_id, target), "interval", seconds=interval.total_seconds(), id=job_id
        )
    scheduler.start()
    app.extensions["stella.scheduler"] = scheduler
    log.info("scheduler started with jobs: %s", ", ".join(j[0] for j in JOBS) or "none")
    return scheduler


def _run_in_app(app: Flask, job_id: str, target: str) -> Callable[[], None]:
    def run() -> None:
        import importlib

        from stella.models.types import now_utc

        module_name, _, func_name = target.partition(":")
        func = getattr(importlib.import_module(module_name), func_name)
        def work() -> None:
            func(now=now_utc())
            db.session.commit()

        with app.app_context():
            try:
                retry_if_locked(db.session, work)
            except Exception:
                db.session.rollback()
                log.exception("scheduler job %s failed", job_id)
            finally:
                db.session.remove()

    return run
