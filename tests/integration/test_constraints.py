"""The database itself enforces the seed's rules, so a program writing plain SQL cannot break them either.

Every test runs on each backend (SQLite; PostgreSQL when STELLA_TEST_DATABASE_URL is set) against two schemas:
the one `flask db upgrade` builds and the one the models' create_all builds (what the rest of the suite uses).
Each test works inside a transaction that is rolled back; a rejected insert runs in a savepoint.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from flask import Flask
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from stella import create_app
from stella.extensions import db as _db
from stella.extensions import migrate
from stella.models import SocialAnalytics, SocialConnection, SocialPost, User
from stella.models.types import TextArray, UTCDateTime
from tests.conftest import make_test_config
from tests.integration.test_migrations import empty_database


@pytest.fixture(scope="module", params=["migrations", "create_all"])
def schema_app(
    request: pytest.FixtureRequest, backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    """An app on a fresh database whose schema came from the migrations or from the models."""
    directory = tmp_path_factory.mktemp("constraints")
    with empty_database(backend, directory) as url:
        app = create_app(make_test_config(url, directory))
        with app.app_context():
            if request.param == "migrations":
                command.upgrade(migrate.get_config(), "head")
            else:
                _db.create_all()
        try:
            yield app
        finally:
            with app.app_context():
                _db.engine.dispose()


@pytest.fixture()
def conn(schema_app: Flask) -> Iterator[sa.Connection]:
    with schema_app.app_context(), _db.engine.connect() as connection:
        # On SQLite the app's engine events emit BEGIN themselves, so savepoints nest correctly.
        outer = connection.begin()
        try:
            yield connection
        finally:
            outer.rollback()


def insert(conn: sa.Connection, sql: str, **params: Any) -> Any:
    """Run a plain-SQL INSERT ... RETURNING id and return the id."""
    return conn.execute(sa.text(sql), params).scalar_one()


def rejected(conn: sa.Connection, sql: str, **params: Any) -> bool:
    """True when the database refuses the statement; the outer transaction carries on either way."""
    savepoint = conn.begin_nested()
    try:
        conn.execute(sa.text(sql), params)
    except IntegrityError:
        savepoint.rollback()
        return True
    savepoint.rollback()
    return False


def new_user(conn: sa.Connection, email: str = "agent@example.com") -> Any:
    return insert(conn, "INSERT INTO users (email, password_hash) VALUES (:e, 'hash') RETURNING id", e=email)


def platforms_param(value: list[str]) -> sa.BindParameter[Any]:
    # The column's own type: TEXT[] on PostgreSQL, JSON text on SQLite.
    return sa.bindparam("platforms", value, type_=TextArray)


def insert_post(conn: sa.Connection, platforms: list[str], scheduled_at: datetime | None = None, **columns: Any) -> Any:
    names = ", ".join(["content", "platforms", "scheduled_at", *columns])
    values = ", ".join([":content", ":platforms", ":scheduled_at", *(f":{c}" for c in columns)])
    statement = sa.text(f"INSERT INTO social_posts ({names}) VALUES ({values}) RETURNING id").bindparams(
        platforms_param(platforms), sa.bindparam("scheduled_at", scheduled_at, type_=UTCDateTime())
    )
    return conn.execute(statement, {"content": "Open house", **columns}).scalar_one()


def post_rejected(conn: sa.Connection, platforms: list[str], **columns: Any) -> bool:
    savepoint = conn.begin_nested()
    try:
        insert_post(conn, platforms, **columns)
    except IntegrityError:
        savepoint.rollback()
        return True
    savepoint.rollback()
    return False


def count(conn: sa.Connection, table: str) -> int:
    return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


# --- social_connections -------------------------------------------------------------------------------------


def test_second_connection_for_the_same_user_and_provider_is_rejected(conn: sa.Connection) -> None:
    user = new_user(conn)
    other = new_user(conn, "other@example.com")
    sql = "INSERT INTO social_connections (user_id, provider) VALUES (:u, :p)"
    assert not rejected(conn, sql, u=user, p="instagram")
    conn.execute(sa.text(sql), {"u": user, "p": "instagram"})
    assert rejected(conn, sql, u=user, p="instagram")
    # The same platform for another user, or another platform for the same user, is fine.
    assert not rejected(conn, sql, u=other, p="instagram")
    assert not rejected(conn, sql, u=user, p="facebook")


@pytest.mark.parametrize("provider", ["twitter", "Instagram", "", "google-business"])
def test_connection_with_an_unknown_provider_is_rejected(conn: sa.Connection, provider: str) -> None:
    user = new_user(conn)
    assert rejected(conn, "INSERT INTO social_connections (user_id, provider) VALUES (:u, :p)", u=user, p=provider)


def test_connection_with_an_unknown_status_is_rejected(conn: sa.Connection) -> None:
    user = new_user(conn)
    sql = "INSERT INTO social_connections (user_id, provider, status) VALUES (:u, 'x', :s)"
    assert rejected(conn, sql, u=user, s="active")
    assert not rejected(conn, sql, u=user, s="error")


def test_deleting_a_connection_deletes_its_tokens(conn: sa.Connection) -> None:
    user = new_user(conn)
    connection_id = insert(
        conn, "INSERT INTO social_connections (user_id, provider) VALUES (:u, 'linkedin') RETURNING id", u=user
    )
    keep_id = insert(
        conn, "INSERT INTO social_connections (user_id, provider) VALUES (:u, 'bluesky') RETURNING id", u=user
    )
    for cid in (connection_id, keep_id):
        conn.execute(
            sa.text("INSERT INTO social_account_tokens (connection_id, access_token) VALUES (:c, 'ct')"), {"c": cid}
        )
    conn.execute(sa.text("DELETE FROM social_connections WHERE id = :c"), {"c": connection_id})
    remaining = conn.execute(sa.text("SELECT connection_id FROM social_account_tokens")).scalars().all()
    assert [str(r).replace("-", "") for r in remaining] == [str(keep_id).replace("-", "")]


def test_token_for_a_missing_connection_is_rejected(conn: sa.Connection) -> None:
    assert rejected(
        conn,
        "INSERT INTO social_account_tokens (connection_id) VALUES (:c)",
        c=uuid.uuid4().hex if conn.dialect.name == "sqlite" else uuid.uuid4(),
    )


def test_connection_defaults_fill_a_plain_sql_insert_like_the_seeds_prisma_example(
    conn: sa.Connection, schema_app: Flask
) -> None:
    user = new_user(conn)
    connection_id = insert(
        conn,
        "INSERT INTO social_connections (user_id, provider, status) VALUES (:u, 'instagram', 'connected') RETURNING id",
        u=user,
    )
    with Session(bind=conn, join_transaction_mode="create_savepoint") as session:
        connection = session.get(SocialConnection, uuid.UUID(str(connection_id)))
        assert connection is not None
        assert connection.auth_metadata == {} and isinstance(connection.auth_metadata, dict)
        assert connection.api_calls_used == 0 and connection.rate_limit_tier == "free"
        assert connection.updated_at.tzinfo is not None and connection.updated_at.utcoffset() == timedelta(0)


# --- social_posts -------------------------------------------------------------------------------------------


def test_post_with_no_platforms_is_rejected(conn: sa.Connection) -> None:
    assert post_rejected(conn, [])


@pytest.mark.parametrize("platforms", [["myspace"], ["instagram", "twitter"], ["Instagram"], ["x "], [""]])
def test_post_naming_an_unknown_platform_is_rejected(conn: sa.Connection, platforms: list[str]) -> None:
    assert post_rejected(conn, platforms)


def test_post_for_all_eleven_platforms_is_accepted(conn: sa.Connection) -> None:
    from stella.platforms import PLATFORMS

    assert not post_rejected(conn, list(PLATFORMS))


@pytest.mark.parametrize("raw", ["[[]]", '["instagram", []]', "[{}]", '{"instagram": 1}', '"instagram"', "[1]", "nope"])
def test_sqlite_post_whose_platforms_text_is_not_a_list_of_names_is_rejected(conn: sa.Connection, raw: str) -> None:
    # SQLite stores the list as JSON text, which plain SQL can fill with anything; PostgreSQL's TEXT[] cannot
    # hold these shapes at all.
    if conn.dialect.name != "sqlite":
        pytest.skip("JSON-text platforms exist only on SQLite")
    assert rejected(conn, "INSERT INTO social_posts (content, platforms) VALUES ('hi', :p)", p=raw)


def test_sqlite_post_whose_platforms_json_is_pretty_printed_is_accepted(conn: sa.Connection) -> None:
    if conn.dialect.name != "sqlite":
        pytest.skip("JSON-text platforms exist only on SQLite")
    raw = '[\n\t"instagram",\r\n  "google_business"\n]'
    assert not rejected(conn, "INSERT INTO social_posts (content, platforms) VALUES ('hi', :p)", p=raw)


def test_postgresql_post_with_a_null_platform_is_rejected(conn: sa.Connection) -> None:
    if conn.dialect.name != "postgresql":
        pytest.skip("TEXT[] exists only on PostgreSQL")
    assert rejected(conn, "INSERT INTO social_posts (content, platforms) VALUES ('hi', ARRAY['x', NULL]::text[])")


@pytest.mark.parametrize("status", ["posted", "DRAFT", "", "pending"])
def test_post_with_an_unknown_status_is_rejected(conn: sa.Connection, status: str) -> None:
    assert post_rejected(conn, ["x"], status=status)


@pytest.mark.parametrize("status", ["draft", "scheduled", "queued", "published", "failed"])
def test_post_with_each_seed_status_is_accepted(conn: sa.Connection, status: str) -> None:
    assert not post_rejected(conn, ["x"], status=status)


@pytest.mark.parametrize("approval_status", ["approve", "APPROVED", ""])
def test_post_with_an_unknown_approval_status_is_rejected(conn: sa.Connection, approval_status: str) -> None:
    assert post_rejected(conn, ["x"], approval_status=approval_status)


def test_post_approval_status_may_be_empty_or_a_seed_value(conn: sa.Connection) -> None:
    assert not post_rejected(conn, ["x"])
    for value in ("pending", "approved", "rejected"):
        assert not post_rejected(conn, ["x"], approval_status=value)


def test_post_defaults_fill_a_plain_sql_insert_and_read_back_as_python_values(
    conn: sa.Connection, schema_app: Flask
) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    # 16:00 in UTC+1, as a browser in Paris might send it: stored and read back as 15:00 UTC.
    paris = timezone(timedelta(hours=1))
    post_id = insert_post(
        conn, ["instagram", "facebook"], scheduled_at=datetime(2025, 11, 3, 16, 0, tzinfo=paris), status="scheduled"
    )
    with Session(bind=conn, join_transaction_mode="create_savepoint") as session:
        post = session.get(SocialPost, uuid.UUID(str(post_id)))
        assert post is not None
        assert post.timezone == "UTC" and post.approval_required is False and post.approval_status is None
        assert post.platforms == ["instagram", "facebook"] and isinstance(post.platforms, list)
        assert post.scheduled_at == datetime(2025, 11, 3, 15, 0, tzinfo=UTC)
        for stamp in (post.scheduled_at, post.created_at, post.updated_at):
            assert stamp.tzinfo is not None and stamp.utcoffset() == timedelta(0)
        # PostgreSQL's now() is the transaction's start, a moment before `before` at most.
        assert (post.created_at - before).total_seconds() > -5


def test_post_status_defaults_to_draft(conn: sa.Connection) -> None:
    post_id = insert_post(conn, ["x"])
    status = conn.execute(sa.text("SELECT status FROM social_posts WHERE id = :i"), {"i": post_id}).scalar_one()
    assert status == "draft"


# --- social_analytics ---------------------------------------------------------------------------------------


def test_deleting_a_post_deletes_its_analytics_but_not_account_level_rows(conn: sa.Connection) -> None:
    post_id = insert_post(conn, ["instagram"])
    other_id = insert_post(conn, ["instagram"])
    sql = "INSERT INTO social_analytics (post_id, platform, likes) VALUES (:p, 'instagram', 45)"
    conn.execute(sa.text(sql), {"p": post_id})
    conn.execute(sa.text(sql), {"p": other_id})
    conn.execute(sa.text("INSERT INTO social_analytics (platform) VALUES ('instagram')"))
    conn.execute(sa.text("DELETE FROM social_posts WHERE id = :p"), {"p": post_id})
    rows = conn.execute(sa.text("SELECT post_id FROM social_analytics")).scalars().all()
    assert sorted(str(r) for r in rows) == sorted([str(other_id), "None"])


def test_analytics_for_an_unknown_platform_is_rejected(conn: sa.Connection) -> None:
    assert rejected(conn, "INSERT INTO social_analytics (platform) VALUES ('myspace')")


def test_analytics_counters_default_to_zero(conn: sa.Connection, schema_app: Flask) -> None:
    row_id = insert(conn, "INSERT INTO social_analytics (platform) VALUES ('youtube') RETURNING id")
    with Session(bind=conn, join_transaction_mode="create_savepoint") as session:
        row = session.get(SocialAnalytics, uuid.UUID(str(row_id)))
        assert row is not None
        assert (row.impressions, row.engagement, row.shares, row.comments, row.likes) == (0, 0, 0, 0, 0)


# --- users --------------------------------------------------------------------------------------------------


def test_email_uniqueness_ignores_case(conn: sa.Connection) -> None:
    new_user(conn, "ann@example.com")
    sql = "INSERT INTO users (email, password_hash) VALUES (:e, 'hash')"
    assert rejected(conn, sql, e="Ann@Example.COM")
    assert rejected(conn, sql, e="ann@example.com")
    assert not rejected(conn, sql, e="anne@example.com")


def test_user_with_an_unknown_role_is_rejected(conn: sa.Connection) -> None:
    sql = "INSERT INTO users (email, password_hash, role) VALUES ('r@example.com', 'hash', :r)"
    assert rejected(conn, sql, r="superuser")
    assert not rejected(conn, sql, r="approver")


def test_user_defaults_fill_a_plain_sql_insert(conn: sa.Connection, schema_app: Flask) -> None:
    user_id = new_user(conn)
    with Session(bind=conn, join_transaction_mode="create_savepoint") as session:
        user = session.get(User, uuid.UUID(str(user_id)))
        assert user is not None
        assert (user.role, user.timezone, user.is_active, user.session_version, user.display_name) == (
            "staff",
            "UTC",
            True,
            1,
            "",
        )
        assert user.created_at.tzinfo is not None


def test_server_generated_ids_are_distinct_uuids(conn: sa.Connection) -> None:
    ids = {str(new_user(conn, f"u{n}@example.com")) for n in range(3)}
    assert len(ids) == 3
    for value in ids:
        uuid.UUID(value)  # raises on anything that is not a UUID


def test_auth_metadata_round_trips_as_a_dict(conn: sa.Connection, schema_app: Flask) -> None:
    user = new_user(conn)
    metadata = {"scopes": ["w_member_social"], "instance": "https://mastodon.example"}
    connection_id = insert(
        conn,
        "INSERT INTO social_connections (user_id, provider, auth_metadata) VALUES (:u, 'linkedin', :m) RETURNING id",
        u=user,
        m=json.dumps(metadata),
    )
    with Session(bind=conn, join_transaction_mode="create_savepoint") as session:
        connection = session.get(SocialConnection, uuid.UUID(str(connection_id)))
        assert connection is not None and connection.auth_metadata == metadata
