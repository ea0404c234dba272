"""The sandbox's own state: OAuth clients, codes, tokens, posts and multi-step objects, in its own SQLite file.

It never touches Stella's database. One connection guarded by a lock keeps it simple and lets an in-memory
store serve a threaded test server.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS clients (
    platform TEXT NOT NULL, client_id TEXT NOT NULL, client_secret TEXT NOT NULL,
    redirect_uris TEXT NOT NULL, scopes TEXT NOT NULL, extra TEXT NOT NULL, created_at TEXT NOT NULL,
    PRIMARY KEY (platform, client_id)
);
CREATE TABLE IF NOT EXISTS codes (
    code TEXT PRIMARY KEY, platform TEXT NOT NULL, client_id TEXT NOT NULL, redirect_uri TEXT NOT NULL,
    scopes TEXT NOT NULL, account_id TEXT NOT NULL, code_challenge TEXT, code_challenge_method TEXT,
    extra TEXT NOT NULL, expires_at TEXT NOT NULL, used_at TEXT
);
CREATE TABLE IF NOT EXISTS tokens (
    access_token TEXT PRIMARY KEY, platform TEXT NOT NULL, client_id TEXT NOT NULL, account_id TEXT NOT NULL,
    scopes TEXT NOT NULL, refresh_token TEXT, access_expires_at TEXT, refresh_expires_at TEXT,
    revoked_at TEXT, replaced_at TEXT, created_at TEXT NOT NULL, extra TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_tokens_refresh ON tokens (platform, refresh_token);
CREATE TABLE IF NOT EXISTS posts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, platform TEXT NOT NULL, account_id TEXT NOT NULL,
    platform_post_id TEXT NOT NULL, permalink TEXT, text TEXT NOT NULL, media TEXT NOT NULL,
    idempotency_key TEXT, created_at TEXT NOT NULL, extra TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS ux_posts_platform_id ON posts (platform, platform_post_id);
CREATE TABLE IF NOT EXISTS objects (
    platform TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, data TEXT NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (platform, kind, key)
);
CREATE TABLE IF NOT EXISTS counters (
    platform TEXT NOT NULL, kind TEXT NOT NULL, value INTEGER NOT NULL, PRIMARY KEY (platform, kind)
);
"""


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def _dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


@dataclass(frozen=True)
class Client:
    platform: str
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Code:
    code: str
    platform: str
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    account_id: str
    code_challenge: str | None
    code_challenge_method: str | None
    extra: dict[str, Any]
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True)
class Token:
    access_token: str
    platform: str
    client_id: str
    account_id: str
    scopes: tuple[str, ...]
    refresh_token: str | None
    access_expires_at: datetime | None
    refresh_expires_at: datetime | None
    revoked_at: datetime | None
    replaced_at: datetime | None
    created_at: datetime
    extra: dict[str, Any]

    def access_expired(self, now: datetime) -> bool:
        return self.access_expires_at is not None and now >= self.access_expires_at

    def refresh_expired(self, now: datetime) -> bool:
        return self.refresh_expires_at is not None and now >= self.refresh_expires_at

    @property
    def expires_in(self) -> int | None:
        if self.access_expires_at is None:
            return None
        return max(0, int((self.access_expires_at - self.created_at).total_seconds()))

    @property
    def refresh_expires_in(self) -> int | None:
        if self.refresh_expires_at is None:
            return None
        return max(0, int((self.refresh_expires_at - self.created_at).total_seconds()))


@dataclass(frozen=True)
class Post:
    seq: int
    platform: str
    account_id: str
    platform_post_id: str
    permalink: str | None
    text: str
    media: list[dict[str, Any]]
    idempotency_key: str | None
    created_at: datetime
    extra: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "account": self.account_id,
            "platform_post_id": self.platform_post_id,
            "permalink": self.permalink,
            "text": self.text,
            "media": self.media,
            "idempotency_key": self.idempotency_key,
            "created_at": self.created_at.isoformat(),
            "extra": self.extra,
        }


class SandboxStore:
    def __init__(self, path: str = ":memory:", *, stella_public_url: str = "http://127.0.0.1:5000") -> None:
        self.stella_public_url = stella_public_url.rstrip("/")
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        with self._lock:
            self._conn.executescript(SCHEMA)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def reset(self) -> None:
        with self._tx() as conn:
            for table in ("clients", "codes", "tokens", "posts", "objects", "counters"):
                conn.execute(f"DELETE FROM {table}")

    # -- clients ---------------------------------------------------------------------------------------

    def default_redirect_uri(self, platform: str) -> str:
        return f"{self.stella_public_url}/connections/{platform}/callback"

    def client(self, platform: str, client_id: str) -> Client | None:
        """A registered client; the default `sandbox-<platform>-id` client always exists."""
        with self._lock:
            row = self._conn.execute(
                "SELECT * FROM clients WHERE platform = ? AND client_id = ?", (platform, client_id)
            ).fetchone()
        if row is not None:
            return Client(
                platform=row["platform"],
                client_id=row["client_id"],
                client_secret=row["client_secret"],
                redirect_uris=tuple(json.loads(row["redirect_uris"])),
                scopes=tuple(json.loads(row["scopes"])),
                extra=json.loads(row["extra"]),
            )
        if client_id == f"sandbox-{platform}-id":
            return Client(
                platform=platform,
                client_id=client_id,
                client_secret=f"sandbox-{platform}-secret",
                redirect_uris=(self.default_redirect_uri(platform),),
            )
        return None

    def register_client(
        self,
        platform: str,
        *,
        redirect_uris: list[str],
        scopes: list[str] | tuple[str, ...] = (),
        extra: dict[str, Any] | None = None,
    ) -> Client:
        client = Client(
            platform=platform,
            client_id=secrets.token_urlsafe(24),
            client_secret=secrets.token_urlsafe(32),
            redirect_uris=tuple(redirect_uris),
            scopes=tuple(scopes),
            extra=dict(extra or {}),
        )
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO clients VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    platform, client.client_id, client.client_secret, json.dumps(list(client.redirect_uris)),
                    json.dumps(list(client.scopes)), json.dumps(client.extra), _iso(datetime.now(UTC)),
                ),
            )
        return client

    # -- authorization codes ---------------------------------------------------------------------------

    def issue_code(
        self,
        platform: str,
        *,
        client_id: str,
        redirect_uri: str,
        scopes: list[str] | tuple[str, ...],
        account_id: str,
        now: datetime,
        code_challenge: str | None = None,
        code_challenge_method: str | None = None,
        extra: dict[str, Any] | None = None,
        ttl: timedelta = timedelta(minutes=10),
    ) -> str:
        code = secrets.token_urlsafe(24)
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO codes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                (
                    code, platform, client_id, redirect_uri, json.dumps(list(scopes)), account_id, code_challenge,
                    code_challenge_method, json.dumps(extra or {}), _iso(now + ttl),
                ),
            )
        return code

    def consume_code(self, platform: str, code: str, *, now: datetime) -> tuple[Code | None, str | None]:
        """Use a code once. Returns (code, None) or (None-or-code, reason) with reason 'unknown'/'used'/'expired'."""
        with self._tx() as conn:
            row = conn.execute("SELECT * FROM codes WHERE code = ? AND platform = ?", (code, platform)).fetchone()
            if row is None:
                return None, "unknown"
            record = Code(
                code=row["code"],
                platform=row["platform"],
                client_id=row["client_id"],
                redirect_uri=row["redirect_uri"],
                scopes=tuple(json.loads(row["scopes"])),
                account_id=row["account_id"],
                code_challenge=row["code_challenge"],
                code_challenge_method=row["code_challenge_method"],
                extra=json.loads(row["extra"]),
                expires_at=_dt(row["expires_at"]) or now,
                used_at=_dt(row["used_at"]),
            )
            if record.used_at is not None:
                return record, "used"
            conn.execute("UPDATE codes SET used_at = ? WHERE code = ?", (_iso(now), code))
            if now >= record.expires_at:
                return record, "expired"
            return record, None

    # -- tokens ------------------------------------------------------------------------------------------

    def issue_token(
        self,
        platform: str,
        *,
        client_id: str,
        account_id: str,
        scopes: list[str] | tuple[str, ...],
        now: datetime,
        access_ttl: timedelta | None,
        refresh_ttl: timedelta | None = None,
        with_refresh: bool = True,
        refresh_token: str | None = None,
        refresh_expires_at: datetime | None = None,
        prefix: str = "",
        extra: dict[str, Any] | None = None,
    ) -> Token:
        """Store and return a new token. Pass `refresh_token` to keep an existing (non-rotating) one."""
        access = prefix + secrets.token_urlsafe(32)
        refresh = refresh_token or ((prefix + "r_" + secrets.token_urlsafe(32)) if with_refresh else None)
        refresh_expiry = refresh_expires_at or (now + refresh_ttl if (refresh and refresh_ttl) else None)
        token = Token(
            access_token=access,
            platform=platform,
            client_id=client_id,
            account_id=account_id,
            scopes=tuple(scopes),
            refresh_token=refresh,
            access_expires_at=now + access_ttl if access_ttl else None,
            refresh_expires_at=refresh_expiry,
            revoked_at=None,
            replaced_at=None,
            created_at=now,
            extra=dict(extra or {}),
        )
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO tokens VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?)",
                (
                    token.access_token, platform, client_id, account_id, json.dumps(list(token.scopes)),
                    token.refresh_token, _iso(token.access_expires_at), _iso(token.refresh_expires_at),
                    _iso(now), json.dumps(token.extra),
                ),
            )
        return token

    def token(self, platform: str, access_token: str) -> Token | None:
        """The token record for an access token, revoked ones included (check `revoked_at`)."""
        return self._token_where("access_token = ?", (access_token,), platform)

    def token_by_refresh(self, platform: str, refresh_token: str) -> Token | None:
        """The newest token record carrying this refresh token."""
        return self._token_where("refresh_token = ?", (refresh_token,), platform)

    def _token_where(self, clause: str, args: tuple[Any, ...], platform: str) -> Token | None:
        with self._lock:
            row = self._conn.execute(
                f"SELECT * FROM tokens WHERE platform = ? AND {clause} ORDER BY created_at DESC LIMIT 1",
                (platform, *args),
            ).fetchone()
        if row is None:
            return None
        return Token(
            access_token=row["access_token"],
            platform=row["platform"],
            client_id=row["client_id"],
            account_id=row["account_id"],
            scopes=tuple(json.loads(row["scopes"])),
            refresh_token=row["refresh_token"],
            access_expires_at=_dt(row["access_expires_at"]),
            refresh_expires_at=_dt(row["refresh_expires_at"]),
            revoked_at=_dt(row["revoked_at"]),
            replaced_at=_dt(row["replaced_at"]),
            created_at=_dt(row["created_at"]) or datetime.now(UTC),
            extra=json.loads(row["extra"]),
        )

    def mark_replaced(self, platform: str, refresh_token: str, *, now: datetime) -> None:
        """A rotated refresh token stops working (after any grace period the platform checks itself)."""
        with self._tx() as conn:
            conn.execute(
                "UPDATE tokens SET replaced_at = ? WHERE platform = ? AND refresh_token = ? AND replaced_at IS NULL",
                (_iso(now), platform, refresh_token),
            )

    def revoke(self, platform: str, token_value: str, *, now: datetime) -> bool:
        """Revoke by access or refresh token; True when something was revoked."""
        with self._tx() as conn:
            cursor = conn.execute(
                "UPDATE tokens SET revoked_at = ? WHERE platform = ? AND revoked_at IS NULL "
                "AND (access_token = ? OR refresh_token = ?)",
                (_iso(now), platform, token_value, token_value),
            )
            return cursor.rowcount > 0

    def expire_access_tokens(self, platform: str | None, *, now: datetime) -> int:
        """Make live access tokens expire now (tests and demos of the refresh path)."""
        with self._tx() as conn:
            if platform:
                cursor = conn.execute(
                    "UPDATE tokens SET access_expires_at = ? WHERE platform = ? AND revoked_at IS NULL",
                    (_iso(now), platform),
                )
            else:
                cursor = conn.execute(
                    "UPDATE tokens SET access_expires_at = ? WHERE revoked_at IS NULL", (_iso(now),)
                )
            return cursor.rowcount

    # -- posts ---------------------------------------------------------------------------------------------

    def record_post(
        self,
        platform: str,
        *,
        account_id: str,
        platform_post_id: str,
        text: str,
        now: datetime,
        permalink: str | None = None,
        media: list[dict[str, Any]] | None = None,
        idempotency_key: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Post:
        with self._tx() as conn:
            cursor = conn.execute(
                "INSERT INTO posts (platform, account_id, platform_post_id, permalink, text, media, idempotency_key,"
                " created_at, extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    platform, account_id, platform_post_id, permalink, text, json.dumps(media or []),
                    idempotency_key, _iso(now), json.dumps(extra or {}),
                ),
            )
            seq = int(cursor.lastrowid or 0)
        return Post(
            seq=seq,
            platform=platform,
            account_id=account_id,
            platform_post_id=platform_post_id,
            permalink=permalink,
            text=text,
            media=list(media or []),
            idempotency_key=idempotency_key,
            created_at=now,
            extra=dict(extra or {}),
        )

    def posts(self, platform: str | None = None) -> list[Post]:
        with self._lock:
            if platform:
                rows = self._conn.execute("SELECT * FROM posts WHERE platform = ? ORDER BY seq", (platform,)).fetchall()
            else:
                rows = self._conn.execute("SELECT * FROM posts ORDER BY seq").fetchall()
        return [self._post(row) for row in rows]

    def post(self, platform: str, platform_post_id: str) -> Post | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT * FROM posts WHERE platform = ? AND platform_post_id = ?", (platform, platform_post_id)
            ).fetchone()
        return None if row is None else self._post(row)

    def post_by_idempotency_key(self, platform: str, account_id: str, key: str) -> Post | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT * FROM posts WHERE platform = ? AND account_id = ? AND idempotency_key = ?"
                " ORDER BY seq LIMIT 1",
                (platform, account_id, key),
            ).fetchone()
        return None if row is None else self._post(row)

    @staticmethod
    def _post(row: sqlite3.Row) -> Post:
        return Post(
            seq=row["seq"],
            platform=row["platform"],
            account_id=row["account_id"],
            platform_post_id=row["platform_post_id"],
            permalink=row["permalink"],
            text=row["text"],
            media=json.loads(row["media"]),
            idempotency_key=row["idempotency_key"],
            created_at=_dt(row["created_at"]) or datetime.now(UTC),
            extra=json.loads(row["extra"]),
        )

    # -- multi-step objects (containers, uploads, publish jobs) ----------------------------------------

    def put_object(self, platform: str, kind: str, key: str, data: dict[str, Any], *, now: datetime) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO objects VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (platform, kind, key) "
                "DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
                (platform, kind, key, json.dumps(data), _iso(now), _iso(now)),
            )

    def get_object(self, platform: str, kind: str, key: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT data FROM objects WHERE platform = ? AND kind = ? AND key = ?", (platform, kind, key)
            ).fetchone()
        return None if row is None else dict(json.loads(row["data"]))

    def objects(self, platform: str, kind: str) -> list[tuple[str, dict[str, Any]]]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT key, data FROM objects WHERE platform = ? AND kind = ? ORDER BY created_at", (platform, kind)
            ).fetchall()
        return [(row["key"], dict(json.loads(row["data"]))) for row in rows]

    def next_number(self, platform: str, kind: str, *, start: int = 1) -> int:
        """A per-platform increasing number, for ids in the platform's format."""
        with self._tx() as conn:
            row = conn.execute(
                "SELECT value FROM counters WHERE platform = ? AND kind = ?", (platform, kind)
            ).fetchone()
            value = start if row is None else int(row["value"]) + 1
            conn.execute(
                "INSERT INTO counters VALUES (?, ?, ?)"
                " ON CONFLICT (platform, kind) DO UPDATE SET value = excluded.value",
                (platform, kind, value),
            )
        return value
