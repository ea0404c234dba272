"""Benchmark 2: provider.publish (+ check_publish polling on the sandbox clock) per platform, then throughput."""

from __future__ import annotations

import itertools
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from bench.core import BenchEnv, Figure, Sizes, bench_env, latency_figures
from bench.flows import (
    FlowError,
    connect_until_connected,
    outbound_post,
    platform_names,
    post_kind,
    publish_until_done,
)
from stella.extensions import db
from stella.models import SocialConnection

TARGET_P95_MS = 300.0  # for text posts; media posts upload and poll, and carry no target


def run(sizes: Sizes) -> list[Figure]:
    figures: list[Figure] = []
    with bench_env() as env:
        client, user_id = env.signed_in_client("marketing")
        connections = {name: connect_until_connected(env.app, client, user_id, name) for name in platform_names()}
        tags = (f"bench-{n}" for n in itertools.count(1))
        expected: dict[str, int] = dict.fromkeys(connections, 0)

        for name, connection_id in connections.items():
            samples = []
            # The first publish per platform (untimed) pays the process's one-off warm-up costs.
            for run in range(sizes.publish_runs + 1):
                elapsed = _publish_once(env, connection_id, name, next(tags))
                expected[name] += 1
                if run:
                    samples.append(elapsed)
            kind = post_kind(name)
            figures += latency_figures(f"publish.{name}", samples, note=kind,
                                       target_p95=TARGET_P95_MS if kind == "text" else None)

        # Throughput: every platform's posts interleaved over a small pool, as the publisher job may run them.
        jobs = [(name, connections[name], next(tags))
                for _ in range(sizes.throughput_posts_per_platform) for name in connections]
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=sizes.threads) as pool:
            list(pool.map(lambda job: _publish_once(env, job[1], job[0], job[2]), jobs))
        wall = time.perf_counter() - started
        for name, _, _ in jobs:
            expected[name] += 1
        figures.append(Figure("publish.throughput", len(jobs) / wall, "posts/s",
                              note=f"{len(jobs)} posts, {sizes.threads} threads, all platforms"))

        # Ground truth: the sandbox holds exactly what was published, once each.
        wrong = sum(abs(len(env.sandbox_posts(name)) - count) for name, count in expected.items())
        figures.append(Figure("publish.ground_truth_mismatches", wrong, "posts", target=0, mode="at_most"))
    return figures


def _publish_once(env: BenchEnv, connection_id: uuid.UUID, name: str, tag: str) -> float:
    """Milliseconds to publish one post until the platform says published (loading the connection untimed)."""
    with env.app.app_context():
        connection = db.session.get(SocialConnection, connection_id)
        if connection is None:
            raise FlowError(f"{name}: the connection vanished")
        post = outbound_post(name, tag)
        started = time.perf_counter()
        result = publish_until_done(connection, post, env.advance_sandbox_clock)
        elapsed = (time.perf_counter() - started) * 1000
        db.session.commit()  # a token refresh on the way is stored, as the publishing job would
        if not result.platform_post_id:
            raise FlowError(f"{name}: published without a post id")
        return elapsed
