"""Engine settings and connection hooks that make SQLite behave like a careful embedded database.

PostgreSQL needs nothing special beyond pre-ping; SQLite gets foreign keys, WAL, a busy timeout and transactions
that SQLAlchemy (not pysqlite) begins.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

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
        connection.exec_driver_sql("BEGIN")
