"""Alembic environment for Flask-Migrate: the engine and metadata come from the running Stella app."""

from __future__ import annotations

import logging
from logging.config import fileConfig
from typing import Any

from alembic import context
from flask import current_app

config = context.config

# The CLI gets alembic.ini's console logging; tests keep their own handlers (fileConfig would replace them).
if config.config_file_name is not None and not current_app.testing:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db


def _engine() -> Any:
    return target_db.engine


def _configure_args(dialect_name: str) -> dict[str, Any]:
    args: dict[str, Any] = dict(current_app.extensions["migrate"].configure_args)
    # SQLite cannot ALTER most things in place; batch mode rebuilds the table instead.
    args.setdefault("render_as_batch", dialect_name == "sqlite")
    args.setdefault("compare_type", True)
    args.setdefault("process_revision_directives", _skip_empty_autogenerate)
    return args


def _skip_empty_autogenerate(ctx: Any, revision: Any, directives: list[Any]) -> None:
    """`flask db migrate` with no model change writes no empty revision."""
    if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        logger.info("No changes in schema detected.")


def run_migrations_offline() -> None:
    """Emit SQL (`flask db upgrade --sql`) for the configured database's dialect without connecting."""
    engine = _engine()
    context.configure(
        url=engine.url,
        target_metadata=target_db.metadata,
        literal_binds=True,
        **_configure_args(engine.dialect.name),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = _engine()
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # A batch rebuild drops and recreates a table: with foreign keys on (stella/__init__.py turns them
            # on per connection), that DROP would cascade-delete the child rows. SQLite's documented recipe is
            # to switch them off outside the transaction and run foreign_key_check before committing.
            # Through the DBAPI connection, so no transaction is begun first (the pragma is a no-op inside one).
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            context.configure(
                connection=connection,
                target_metadata=target_db.metadata,
                **_configure_args(connection.dialect.name),
            )
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    _check_sqlite_foreign_keys(connection)
        finally:
            if sqlite:
                if connection.in_transaction():
                    connection.commit()
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


def _check_sqlite_foreign_keys(connection: Any) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        tables = sorted({str(row[0]) for row in broken})
        raise RuntimeError(f"migration left rows with dangling foreign keys in: {', '.join(tables)}")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
