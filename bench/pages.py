"""Benchmarks 4 and 5: page render times with 10,000 posts and 20,000 analytics rows, and the memory it takes.

Pages are requested through the test client as a signed-in user, so every request runs the sign-in check, the
view, the page's service queries and the template, but no network. SQLite always; PostgreSQL too when
STELLA_TEST_DATABASE_URL is set (a temporary database, dropped afterwards).
"""

from __future__ import annotations

import random
import resource
import time
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask.testing import FlaskClient

from bench.core import BenchEnv, Figure, Sizes, bench_env, latency_figures
from stella.extensions import db
from stella.models import SocialAnalytics, SocialPost, User
from stella.platforms import PLATFORMS
from tests.databases import temporary_postgres

PAGES = ("/", "/posts/", "/calendar/", "/analytics/")
TARGET_P95_MS = 300.0
TARGET_RSS_MB = 400.0
BATCH = 2_000
OWNERS = 8
# Posts spread over a year either side of today: a busy team's history and plan.
SPREAD_DAYS = 365
STATUS_WEIGHTS = {"published": 50, "scheduled": 25, "draft": 15, "failed": 5, "queued": 5}


def run(sizes: Sizes) -> list[Figure]:
    figures = _run_backend("sqlite", sizes, None)
    if sizes.postgres_url:
        with temporary_postgres(sizes.postgres_url, prefix="stella_bench") as url:
            figures += _run_backend("postgresql", sizes, url)
    figures += _memory_figures()
    return figures


def _run_backend(label: str, sizes: Sizes, database_url: str | None) -> list[Figure]:
    figures: list[Figure] = []
    with bench_env(with_sandbox=False, database_url=database_url) as env:
        started = time.perf_counter()
        seed(env, posts=sizes.page_posts, analytics=sizes.page_analytics)
        figures.append(Figure(f"pages.{label}.seed", time.perf_counter() - started, "s",
                              note=f"{sizes.page_posts} posts, {sizes.page_analytics} analytics rows"))
        client, _ = env.signed_in_client("marketing")
        for path in PAGES:
            render(client, path)  # warm: first-request compilation of templates and statements
            samples = []
            for _ in range(sizes.page_runs):
                started = time.perf_counter()
                render(client, path)
                samples.append((time.perf_counter() - started) * 1000)
            figures += latency_figures(f"pages.{label}.{_page_name(path)}", samples, target_p95=TARGET_P95_MS)
        if label == "sqlite":
            # One pass of every page under tracemalloc: Python allocations a request needs at its peak.
            tracemalloc.start()
            try:
                for path in PAGES:
                    render(client, path)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            figures.append(Figure("memory.tracemalloc_peak", peak / 2**20, "MB", note="one pass of the four pages"))
    return figures


def _memory_figures() -> list[Figure]:
    # ru_maxrss is in kilobytes on Linux: the whole process's high-water mark so far.
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return [Figure("memory.peak_rss", rss_mb, "MB", target=TARGET_RSS_MB, note="after the page benchmark")]


def render(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    if response.status_code != 200:
        raise RuntimeError(f"{path} answered HTTP {response.status_code}")
    return response.get_data(as_text=True)


def _page_name(path: str) -> str:
    return path.strip("/") or "dashboard"


def seed(env: BenchEnv, *, posts: int, analytics: int, rng_seed: int = 7) -> None:
    """Bulk-insert `posts` posts (a realistic status mix around today) and `analytics` metric rows."""
    rng = random.Random(rng_seed)
    now = datetime.now(UTC)
    statuses = list(STATUS_WEIGHTS)
    weights = list(STATUS_WEIGHTS.values())
    with env.app.app_context():
        owners = []
        for n in range(OWNERS):
            user = User(email=f"agent{n}@harborvine.example", password_hash="!", display_name=f"Agent {n}",
                        role="marketing")
            db.session.add(user)
            owners.append(user)
        db.session.flush()
        owner_ids = [user.id for user in owners]

        post_rows: list[dict[str, Any]] = []
        published: list[tuple[uuid.UUID, list[str]]] = []
        for n in range(posts):
            status = rng.choices(statuses, weights)[0]
            offset = timedelta(minutes=rng.randint(0, SPREAD_DAYS * 24 * 60))
            past, future = now - offset, now + offset
            platforms = rng.sample(PLATFORMS, rng.randint(1, 3))
            owner = rng.choice(owner_ids)
            row: dict[str, Any] = {
                "id": uuid.uuid4(),
                "content": f"Open house #{n}: 3-bed craftsman, Saturday 11–2. Details at harborvine.example/{n}",
                "platforms": platforms,
                "status": status,
                "timezone": "UTC",
                "created_by": owner,
                "owner_id": owner,
                "approval_required": n % 10 == 0,
                "approval_status": "pending" if n % 10 == 0 and status != "published" else None,
                "scheduled_at": None if status == "draft" else (past if status in ("published", "failed") else future),
                "posted_at": past if status == "published" else None,
                "failure_reason": "Rate limited by the platform" if status == "failed" else None,
                "created_at": past - timedelta(days=2),
                "updated_at": past,
            }
            post_rows.append(row)
            if status == "published":
                published.append((row["id"], platforms))
        for start in range(0, len(post_rows), BATCH):
            db.session.execute(sa.insert(SocialPost), post_rows[start:start + BATCH])

        metric_rows: list[dict[str, Any]] = []
        for n in range(analytics if published else 0):
            post_id, platforms = rng.choice(published)
            impressions = rng.randint(50, 5000)
            metric_rows.append({
                "id": uuid.uuid4(),
                "post_id": post_id,
                "platform": rng.choice(platforms),
                "platform_post_id": f"bench-{n}",
                "impressions": impressions,
                "engagement": impressions // rng.randint(10, 40),
                "likes": impressions // rng.randint(20, 60),
                "comments": rng.randint(0, 30),
                "shares": rng.randint(0, 20),
                "fetched_at": now - timedelta(hours=rng.randint(0, 72)),
            })
        for start in range(0, len(metric_rows), BATCH):
            db.session.execute(sa.insert(SocialAnalytics), metric_rows[start:start + BATCH])
        db.session.commit()
