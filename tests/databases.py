"""Throwaway PostgreSQL databases for tests and benchmarks: created next to a base URL's, dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from stella.config import normalize_database_url


@contextmanager
def temporary_postgres(base_url: str, *, prefix: str = "stella_test") -> Iterator[str]:
    """The URL of a brand-new database on `base_url`'s server (e.g. STELLA_TEST_DATABASE_URL), dropped on exit."""
    url = sa.engine.make_url(normalize_database_url(base_url))
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
