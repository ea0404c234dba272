"""The migration history: head builds exactly the models' schema, and every revision goes down and up again.

Each test starts from its own empty database (a temp file on SQLite, a temp database on PostgreSQL when
STELLA_TEST_DATABASE_URL is set), because migrations must work on a database nobody has touched.
"""

from __future__ import annotations

import os
import shutil
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask

from stella import create_app
from stella.extensions import db as _db
from stella.extensions import migrate
from tests.conftest import PG_ENV, make_test_config
from tests.databases import temporary_postgres

# The seed's migrations, in the seed's order and with its timestamps as ids, after the users table.
SEED_REVISIONS = ["20251019120000", "20251019121500", "20251019123000", "20251102120000", "20251102120100"]


@contextmanager
def empty_database(backend: str, directory: Path) -> Iterator[str]:
    """The URL of a brand-new empty database on `backend`, dropped afterwards (PostgreSQL skips without a server)."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / f'empty-{uuid.uuid4().hex[:8]}.db'}"
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"PostgreSQL tests need {PG_ENV} (e.g. postgresql://postgres@127.0.0.1/test)")
    with temporary_postgres(base, prefix="stella_mig") as url:
        yield url


@contextmanager
def app_for(database_url: str, instance: Path) -> Iterator[Flask]:
    """A Stella app on `database_url`, inside its app context (env.py reads the engine from current_app)."""
    app = create_app(make_test_config(database_url, instance))
    with app.app_context():
        try:
            yield app
        finally:
            _db.engine.dispose()


def alembic_config() -> AlembicConfig:
    config: AlembicConfig = migrate.get_config()
    return config


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@contextmanager
def expression_index_warnings_ignored() -> Iterator[None]:
    """SQLAlchemy cannot reflect SQLite's expression index on lower(email) and says so on every reflection;
    schema_snapshot reads that index from sqlite_master instead, and test_constraints checks what it enforces."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression-based index")
        yield


def schema_snapshot(engine: sa.Engine) -> dict[str, Any]:
    """Everything about the schema that a migration can get wrong, in a form two databases can be compared by.

    Primary-key, foreign-key and unique-constraint names are left out: the models leave some unnamed (the
    engine names them) while the revisions name them all. Index definitions are read from the catalogue
    because SQLAlchemy cannot reflect SQLite's expression index on lower(email).
    """
    inspector = sa.inspect(engine)
    tables: dict[str, Any] = {}
    for table in sorted(set(inspector.get_table_names()) - {"alembic_version"}):
        with expression_index_warnings_ignored():
            tables[table] = _table_snapshot(inspector, table)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.execute(sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"))
        else:
            rows = conn.execute(sa.text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"))
        # Engine-made indexes behind primary keys and unique constraints are compared above, by columns.
        indexes = sorted((name, sql) for name, sql in rows if not name.endswith(("_pkey", "_key", "_pkc")))
    return {"tables": tables, "indexes": indexes}


def _table_snapshot(inspector: Any, table: str) -> dict[str, Any]:
    return {
        "columns": [
            (c["name"], str(c["type"]), c["nullable"], str(c.get("default"))) for c in inspector.get_columns(table)
        ],
        "primary_key": inspector.get_pk_constraint(table)["constrained_columns"],
        "foreign_keys": sorted(
            (
                tuple(fk["constrained_columns"]),
                fk["referred_table"],
                tuple(fk["referred_columns"]),
                str(fk.get("options", {}).get("ondelete")),
            )
            for fk in inspector.get_foreign_keys(table)
        ),
        "unique": sorted(tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)),
        "checks": sorted((c["name"], " ".join(c["sqltext"].split())) for c in inspector.get_check_constraints(table)),
    }


def compare_server_default(
    context: Any, inspector_column: Any, metadata_column: Any, inspected: Any, metadata_default: Any, rendered: Any
) -> bool | None:
    """Alembic's SQLite comparison reports DEFAULT '' as differing from server_default="": it is the same."""
    if context.dialect.name == "sqlite" and rendered == "" and inspected in ("''", "('')"):
        return False
    return None  # let alembic decide


def metadata_diff(engine: sa.Engine) -> list[Any]:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": compare_server_default}
        )
        with expression_index_warnings_ignored():
            return list(compare_metadata(context, _db.metadata))


@pytest.fixture()
def empty_url(backend: str, tmp_path: Path) -> Iterator[str]:
    with empty_database(backend, tmp_path) as url:
        yield url


def test_revision_history_is_one_line_from_users_through_the_seed_order_to_a_single_head() -> None:
    script = ScriptDirectory(str(Path(__file__).resolve().parents[2] / "migrations"))
    assert len(script.get_heads()) == 1, f"several heads: {script.get_heads()}"
    assert len(script.get_bases()) == 1
    chain = [rev.revision for rev in reversed(list(script.walk_revisions()))]
    assert chain[: len(SEED_REVISIONS)] == SEED_REVISIONS
    assert chain[len(SEED_REVISIONS) : len(SEED_REVISIONS) + 3] == [
        "20261124090000",
        "20261124090100",
        "20261124090200",
    ]
    assert chain == sorted(chain), "revision ids are timestamps and must stay in order"


def test_upgrade_head_on_an_empty_database_matches_the_models(empty_url: str, tmp_path: Path) -> None:
    with app_for(empty_url, tmp_path):
        command.upgrade(alembic_config(), "head")
        assert current_revision(_db.engine) == ScriptDirectory.from_config(alembic_config()).get_current_head()
        diff = metadata_diff(_db.engine)
        assert diff == [], f"migrations and models disagree: {diff}"


def test_migrated_schema_equals_create_all_including_checks_defaults_and_indexes(
    backend: str, empty_url: str, tmp_path: Path
) -> None:
    # compare_metadata ignores CHECK constraints and expression indexes; compare the two catalogues instead.
    with app_for(empty_url, tmp_path / "migrated"):
        command.upgrade(alembic_config(), "head")
        migrated = schema_snapshot(_db.engine)
    with empty_database(backend, tmp_path) as other_url, app_for(other_url, tmp_path / "created"):
        _db.create_all()
        created = schema_snapshot(_db.engine)
    assert migrated["tables"].keys() == created["tables"].keys()
    for table in created["tables"]:
        assert migrated["tables"][table] == created["tables"][table], table
    assert migrated["indexes"] == created["indexes"]


def test_every_revision_downgrades_to_the_previous_schema_and_upgrades_again(empty_url: str, tmp_path: Path) -> None:
    with app_for(empty_url, tmp_path):
        config = alembic_config()
        revisions = list(reversed(list(ScriptDirectory.from_config(config).walk_revisions())))
        snapshots: dict[str | None, dict[str, Any]] = {None: schema_snapshot(_db.engine)}
        for rev in revisions:
            command.upgrade(config, rev.revision)
            snapshots[rev.revision] = schema_snapshot(_db.engine)

        for rev in reversed(revisions):
            previous = rev.down_revision
            assert previous is None or isinstance(previous, str), "the history has no merges"
            command.downgrade(config, "-1")
            assert current_revision(_db.engine) == previous
            assert schema_snapshot(_db.engine) == snapshots[previous], f"downgrade of {rev.revision}"
            command.upgrade(config, "+1")
            assert current_revision(_db.engine) == rev.revision
            assert schema_snapshot(_db.engine) == snapshots[rev.revision], f"re-upgrade of {rev.revision}"
            command.downgrade(config, "-1")

        assert schema_snapshot(_db.engine)["tables"] == {}
        command.upgrade(config, "head")
        assert metadata_diff(_db.engine) == []


def test_flask_db_upgrade_command_migrates_a_fresh_database(empty_url: str, tmp_path: Path) -> None:
    with app_for(empty_url, tmp_path) as app:
        result = app.test_cli_runner().invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
        assert current_revision(_db.engine) == ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert "social_posts" in sa.inspect(_db.engine).get_table_names()


def test_downgrade_keeps_rows_in_tables_it_does_not_drop(empty_url: str, tmp_path: Path) -> None:
    # Going back past the rate-limit columns must not lose the connections (or their cascaded tokens).
    with app_for(empty_url, tmp_path):
        config = alembic_config()
        command.upgrade(config, "20261124090000")
        with _db.engine.begin() as conn:
            user_id = conn.execute(
                sa.text("INSERT INTO users (email, password_hash) VALUES ('a@example.com', 'x') RETURNING id")
            ).scalar_one()
            conn.execute(
                sa.text("INSERT INTO social_connections (user_id, provider) VALUES (:u, 'mastodon')"), {"u": user_id}
            )
            conn.execute(
                sa.text(
                    "INSERT INTO social_account_tokens (connection_id, account_handle) "
                    "SELECT id, '@agent' FROM social_connections"
                )
            )
        command.downgrade(config, "20251102120100")
        command.upgrade(config, "20261124090000")
        with _db.engine.connect() as conn:
            row = conn.execute(
                sa.text(
                    "SELECT c.provider, c.api_calls_used, c.rate_limit_tier, t.account_handle "
                    "FROM social_connections c JOIN social_account_tokens t ON t.connection_id = c.id"
                )
            ).one()
        assert tuple(row) == ("mastodon", 0, "free", "@agent")


BATCH_REVISION = """
import sqlalchemy as sa
from alembic import op

revision = "29991231000000"
down_revision = {head!r}
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("social_connections", recreate="always") as batch:
        batch.alter_column("rate_limit_tier", existing_type=sa.Text(), nullable=True)


def downgrade() -> None:
    pass
"""


def test_sqlite_batch_rebuild_of_a_parent_table_keeps_the_child_rows(tmp_path: Path) -> None:
    # A batch rebuild drops and recreates the table; with foreign keys on, that DROP would cascade to the
    # tokens. env.py switches them off around the migration: prove it with a throwaway later revision.
    directory = tmp_path / "migrations"
    shutil.copytree(Path(__file__).resolve().parents[2] / "migrations", directory)
    head = ScriptDirectory(str(directory)).get_current_head()
    assert head is not None
    (directory / "versions" / "29991231000000_batch_probe.py").write_text(BATCH_REVISION.format(head=head))
    with app_for(f"sqlite:///{tmp_path / 'batch.db'}", tmp_path):
        config = migrate.get_config(directory=str(directory))
        command.upgrade(config, head)
        with _db.engine.begin() as conn:
            user_id = conn.execute(
                sa.text("INSERT INTO users (email, password_hash) VALUES ('b@example.com', 'x') RETURNING id")
            ).scalar_one()
            conn.execute(sa.text("INSERT INTO social_connections (user_id, provider) VALUES (:u, 'x')"), {"u": user_id})
            conn.execute(sa.text("INSERT INTO social_account_tokens (connection_id) SELECT id FROM social_connections"))
        with expression_index_warnings_ignored():  # batch mode reflects users through the foreign key
            command.upgrade(config, "head")
        with _db.engine.connect() as conn:
            assert current_revision(_db.engine) == "29991231000000"
            assert conn.execute(sa.text("SELECT count(*) FROM social_account_tokens")).scalar_one() == 1
            assert conn.execute(sa.text("PRAGMA foreign_keys")).scalar_one() == 1, "foreign keys left off"
