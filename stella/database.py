"""Engine settings and connection hooks that make SQLite behave like a careful embedded database.

PostgreSQL needs nothing special beyond pre-ping; SQLite gets foreign keys, WAL, a busy timeout and transactions
that SQLAlchemy (not pysqlite) begins.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import current_app, has_request_context, request
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# How long a SQLite connection waits for another writer before giving up with "database is locked".
SQLITE_BUSY_TIMEOUT_SECONDS = 30


def engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        # Several threads (requests, scheduler) share the file; wait for locks instead of failing at once.
        return {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}}
    return {"pool_pre_ping": True}


@sa.event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """SQLite: foreign keys on (cascades need them), WAL so readers and the scheduler's writer don't block
    each other, and SQLAlchemy — not pysqlite — decides when transactions begin (see `_sqlite_begin`)."""
    module = type(dbapi_connection).__module__
    if module.startswith("sqlite3"):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if cursor.execute("PRAGMA database_list").fetchone()[2]:  # a file, not :memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


@sa.event.listens_for(Engine, "begin")
def _sqlite_begin(connection: sa.Connection) -> None:
    # pysqlite only opens a transaction before DML, so a RELEASE SAVEPOINT could really commit; emitting
    # BEGIN ourselves is SQLAlchemy's documented recipe for correct transactions and savepoints.
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _request_writes() else "BEGIN")


def writes_database(view: F) -> F:
    """Mark a GET view that writes (an OAuth callback): on SQLite its transaction takes the write lock up front."""
    view.writes_database = True  # type: ignore[attr-defined]
    return view


def _request_writes() -> bool:
    """Whether the current request's transaction will write.

    A SQLite transaction that has read and then writes fails at once with "database is locked" when another
    writer committed in between (its snapshot is stale, so waiting cannot help). A request that writes therefore
    begins with BEGIN IMMEDIATE: it waits (up to the busy timeout) for the write lock before its first read.
    Reads stay deferred, so pages never queue behind a writer (WAL lets them read alongside it).
    """
    if not has_request_context():
        return False
    if request.method not in SAFE_METHODS:
        return True
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "writes_database", False))


def is_locked_error(error: BaseException) -> bool:
    """SQLite's "database is locked"/"busy": another writer held the lock past the busy timeout."""
    return isinstance(error, sa.exc.OperationalError) and any(
        phrase in str(error.orig).lower() for phrase in ("database is locked", "database is busy")
    )


def retry_if_locked(session: Any, work: Callable[[], Any]) -> Any:
    """Run `work` (which commits); if SQLite refused a write as locked, roll back and run it once more.

    Background jobs use this: their transactions begin deferred (outside a request), so a write after a read can
    meet a stale snapshot; the second run starts from a fresh one.
    """
    try:
        return work()
    except sa.exc.OperationalError as error:
        if not is_locked_error(error):
            raise
        session.rollback()
        log.info("database was locked; retrying once")
        return work()
