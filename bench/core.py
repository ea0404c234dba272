"""What every benchmark shares: figures and their targets, sizes, statistics, the table, and a running Stella.

`BenchEnv` is Stella as an operator runs it in sandbox mode: `create_app` on a temporary SQLite file (or a given
database URL), no provider credentials, every platform request routed to the platform sandbox served on a
loopback port by `serve_in_thread`.
"""

from __future__ import annotations

import logging
import math
import re
import shutil
import statistics
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import requests
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from stella import create_app
from stella.config import Config, normalize_database_url
from stella.extensions import db
from stella.models import User

# Must equal the sandbox's `stella_public_url`: its registered redirect URIs point there.
PUBLIC_URL = "http://127.0.0.1:5000"
BENCH_PASSWORD = "bench horse battery staple"
# A fixed, valid Fernet key: the temporary database is thrown away with everything encrypted under it.
BENCH_ENCRYPTION_KEY = "x3M1cE1Y0lZr2n6b8wQ2m9Yw1pW0vHq3s5t7u9v1x2A="

Mode = Literal["below", "at_most", "at_least"]


@dataclass(frozen=True)
class Figure:
    """One measured number, with the target it is held to (if any)."""

    name: str
    value: float
    unit: str
    target: float | None = None
    mode: Mode = "below"
    note: str = ""

    @property
    def ok(self) -> bool | None:
        """True/False against the target; None when the figure has no target."""
        if self.target is None or math.isnan(self.value):
            return None
        if self.mode == "below":
            return self.value < self.target
        if self.mode == "at_most":
            return self.value <= self.target
        return self.value >= self.target

    def target_text(self) -> str:
        if self.target is None:
            return ""
        sign = {"below": "<", "at_most": "<=", "at_least": ">="}[self.mode]
        return f"{sign} {_number(self.target)}"


@dataclass(frozen=True)
class Sizes:
    """How much work each benchmark does. `default()` keeps a full run near three minutes, `quick()` near 30 s."""

    connect_runs: int = 20
    publish_runs: int = 20
    throughput_posts_per_platform: int = 10
    threads: int = 4
    fault_posts: int = 200
    fault_rate: float = 0.2
    # Share of create calls that hang past Stella's read timeout after the post is stored: the case where
    # a retry can publish twice, and the one Mastodon's Idempotency-Key exists for.
    fault_timeout_rate: float = 0.03
    page_posts: int = 10_000
    page_analytics: int = 20_000
    page_runs: int = 30
    postgres_url: str | None = None

    @classmethod
    def default(cls, postgres_url: str | None = None) -> Sizes:
        return cls(postgres_url=postgres_url)

    @classmethod
    def quick(cls, postgres_url: str | None = None) -> Sizes:
        return cls(connect_runs=3, publish_runs=3, throughput_posts_per_platform=2, fault_posts=40,
                   page_runs=5, postgres_url=postgres_url)


# -- statistics -------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (p95 of 20 runs is the 19th fastest): no interpolation towards a guess."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def latency_figures(prefix: str, samples_ms: Sequence[float], *, target_p95: float | None = None,
                    note: str = "") -> list[Figure]:
    """The usual pair: median and p95 in milliseconds, the target on the p95."""
    return [
        Figure(f"{prefix}.median", median(samples_ms), "ms", note=note),
        Figure(f"{prefix}.p95", percentile(samples_ms, 95), "ms", target=target_p95, note=note),
    ]


# -- output -----------------------------------------------------------------------------------------------


def _number(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    if value == int(value) and abs(value) < 1e12:
        return f"{int(value)}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def format_table(figures: Sequence[Figure]) -> str:
    """A fixed-width table: name, figure, unit, target, ok/over (blank when there is no target)."""
    header = ("name", "figure", "unit", "target", "status", "note")
    rows = [header] + [
        (f.name, _number(f.value), f.unit, f.target_text(),
         "" if f.ok is None else ("ok" if f.ok else "OVER"), f.note)
        for f in figures
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = []
    for index, row in enumerate(rows):
        cells = [row[0].ljust(widths[0]), row[1].rjust(widths[1])] + [
            row[i].ljust(widths[i]) for i in range(2, len(widths))
        ]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def missed(figures: Sequence[Figure]) -> list[Figure]:
    return [f for f in figures if f.ok is False]


# -- a running Stella against a running sandbox -----------------------------------------------------------


@contextmanager
def quiet_logs() -> Iterator[None]:
    """The sandbox's WSGI server logs every request; a benchmark's output is its table. Levels are restored
    afterwards so a benchmark run inside the test suite leaves other tests' logging alone."""
    loggers = [logging.getLogger(name) for name in ("werkzeug", "stella", "urllib3")]
    previous = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, previous, strict=True):
            logger.setLevel(level)


def stella_config(database_url: str, instance_path: Path, **overrides: Any) -> Config:
    return Config(
        secret_key="bench-secret-key",
        database_url=normalize_database_url(database_url),
        public_url=PUBLIC_URL,
        environment="testing",
        scheduler_enabled=False,
        encryption_keys=(BENCH_ENCRYPTION_KEY,),
        allow_private_hosts=True,  # the sandbox listens on loopback
        instance_path=instance_path,
        provider_credentials={},
        testing=True,  # an unexpected error stops the benchmark instead of timing a 500 page
        csrf_enabled=False,  # the test client posts forms without scraping tokens
        **overrides,
    )


@dataclass
class BenchEnv:
    app: Flask
    workdir: Path
    sandbox_url: str | None = None
    sandbox_app: Flask | None = None
    _stoppers: list[Any] = field(default_factory=list)

    def signed_in_client(self, role: str = "admin") -> tuple[FlaskClient, uuid.UUID]:
        """A test client signed in through the real login form as a new user with `role`."""
        email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
        with self.app.app_context():
            user = User(email=email, password_hash=generate_password_hash(BENCH_PASSWORD),
                        display_name="Bench User", role=role)
            db.session.add(user)
            db.session.commit()
            user_id = user.id
        client = self.app.test_client()
        response = client.post("/login", data={"email": email, "password": BENCH_PASSWORD})
        if response.status_code not in (302, 303):
            raise RuntimeError(f"the bench user could not sign in (HTTP {response.status_code})")
        return client, user_id

    def sandbox_posts(self, platform: str | None = None) -> list[dict[str, Any]]:
        """The sandbox's ground truth of what was published."""
        assert self.sandbox_url
        params = {"platform": platform} if platform else {}
        response = requests.get(f"{self.sandbox_url}/_sandbox/posts", params=params, timeout=10)
        response.raise_for_status()
        posts: list[dict[str, Any]] = response.json()
        return posts

    def advance_sandbox_clock(self, seconds: float) -> None:
        assert self.sandbox_url
        requests.post(f"{self.sandbox_url}/_sandbox/clock", json={"advance_seconds": seconds},
                      timeout=10).raise_for_status()

    def add_sandbox_fault(self, **rule: Any) -> None:
        assert self.sandbox_url
        requests.post(f"{self.sandbox_url}/_sandbox/faults", json=rule, timeout=10).raise_for_status()


@contextmanager
def bench_env(*, with_sandbox: bool = True, database_url: str | None = None, fault_rate: float = 0.0,
              hang_seconds: float = 35.0, **config_overrides: Any) -> Iterator[BenchEnv]:
    """Stella (and, unless told otherwise, the platform sandbox) for one benchmark; everything goes afterwards."""
    from stella.sandbox.core import SandboxSettings, create_sandbox_app
    from stella.sandbox.server import serve_in_thread

    workdir = Path(tempfile.mkdtemp(prefix="stella-bench-"))
    with quiet_logs(), ExitStack() as cleanup:
        # Unwound in reverse: the database is released, then the sandbox stops, then the files go.
        cleanup.callback(shutil.rmtree, workdir, ignore_errors=True)
        sandbox_app = None
        sandbox_url = None
        if with_sandbox:
            settings = SandboxSettings(stella_public_url=PUBLIC_URL, fault_rate=fault_rate, hang_seconds=hang_seconds)
            sandbox_app = create_sandbox_app(db_path=str(workdir / "sandbox.db"), sandbox_settings=settings)
            running = serve_in_thread(sandbox_app)
            cleanup.callback(running.stop)
            sandbox_url = running.url
        url = database_url or f"sqlite:///{(workdir / 'stella.db').as_posix()}"
        app = create_app(stella_config(url, workdir / "instance", sandbox_url=sandbox_url, **config_overrides))
        cleanup.callback(_release_database, app)
        with app.app_context():
            db.create_all()
        yield BenchEnv(app=app, workdir=workdir, sandbox_url=sandbox_url, sandbox_app=sandbox_app)


def _release_database(app: Flask) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def safe_label(text: str) -> str:
    """A database URL without its password, for a note."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", text)
