"""Column types that behave the same from Python on PostgreSQL and SQLite.

PostgreSQL gets its native types (UUID, TEXT[], JSONB, TIMESTAMPTZ); SQLite gets portable stand-ins
so lists stay lists, dicts stay dicts and datetimes come back timezone-aware UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

# TEXT[] on PostgreSQL, a JSON array on SQLite.
TextArray = sa.JSON().with_variant(postgresql.ARRAY(sa.Text()), "postgresql")
# JSONB on PostgreSQL, JSON text on SQLite.
JsonDocument = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


class UTCDateTime(sa.TypeDecorator[datetime]):
    """TIMESTAMPTZ; always returns aware UTC datetimes and refuses naive ones on the way in."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; attach a timezone first")
        value = value.astimezone(UTC)
        # SQLite has no timezone storage: keep naive UTC so string comparison still orders correctly.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class new_uuid(FunctionElement[Any]):
    """Server-side UUID default, so plain-SQL inserts can leave ids out."""

    type = sa.Uuid()
    inherit_cache = True


@compiles(new_uuid, "postgresql")
def _pg_new_uuid(element: Any, compiler: Any, **kw: Any) -> str:
    return "gen_random_uuid()"


@compiles(new_uuid, "sqlite")
def _sqlite_new_uuid(element: Any, compiler: Any, **kw: Any) -> str:
    # SQLAlchemy's Uuid stores 32 lowercase hex characters on SQLite.
    return "(lower(hex(randomblob(16))))"


class utc_now(FunctionElement[Any]):
    """Server-side current timestamp (UTC on SQLite, transaction time on PostgreSQL)."""

    type = UTCDateTime()
    inherit_cache = True


@compiles(utc_now, "postgresql")
def _pg_now(element: Any, compiler: Any, **kw: Any) -> str:
    return "now()"


@compiles(utc_now, "sqlite")
def _sqlite_now(element: Any, compiler: Any, **kw: Any) -> str:
    return "(strftime('%Y-%m-%d %H:%M:%f', 'now'))"


def now_utc() -> datetime:
    return datetime.now(UTC)


class EncryptedText(sa.TypeDecorator[str]):
    """TEXT holding a Fernet token: callers read and write plaintext, the database only ever sees ciphertext."""

    impl = sa.Text()
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: sa.Dialect) -> str | None:
        from stella.crypto import current_cipher

        return None if value is None else current_cipher().encrypt(value)

    def process_result_value(self, value: str | None, dialect: sa.Dialect) -> str | None:
        from stella.crypto import current_cipher

        return None if value is None else current_cipher().decrypt(value)
