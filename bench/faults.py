"""Benchmark 3: publishing to X and Mastodon through a sandbox that fails 20 % of requests, with a simple retry.

Two kinds of fault are injected. The sandbox's base `fault_rate` answers 503 before doing anything (safe to
retry anywhere). A few create calls also hang past Stella's read timeout *after* the post was stored
(`timeout_after_create`): the client sees UnknownOutcomeError, and a blind retry publishes twice unless the
platform deduplicates — Mastodon does through the Idempotency-Key Stella sends; X has no such key.
The sandbox's `GET /_sandbox/posts` is the ground truth the figures are checked against.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field

from bench.core import BenchEnv, Figure, Sizes, bench_env
from bench.flows import connect_until_connected, outbound_post, publish_until_done
from stella.extensions import db
from stella.models import SocialConnection
from stella.providers.errors import ProviderError, UnknownOutcomeError

PLATFORMS = ("x", "mastodon")
MAX_ATTEMPTS = 6
# Where each platform creates a post (the only calls a hang-after-create fault is armed on).
CREATE_ENDPOINTS = {"x": "/2/tweets", "mastodon": "/api/v1/statuses"}
# Short enough to keep the run quick, longer than any healthy loopback answer.
READ_TIMEOUT_SECONDS = 0.75
HANG_SECONDS = 1.5


@dataclass
class Tally:
    published: set[str] = field(default_factory=set)
    failed: dict[str, str] = field(default_factory=dict)  # tag -> error class
    retries: int = 0
    unknown_outcomes: int = 0


def run(sizes: Sizes) -> list[Figure]:
    figures: list[Figure] = []
    with bench_env(fault_rate=sizes.fault_rate, hang_seconds=HANG_SECONDS,
                   http_read_timeout=READ_TIMEOUT_SECONDS) as env:
        client, user_id = env.signed_in_client("marketing")
        # Connecting goes through the same faulty sandbox: a person clicks Connect again, and so do we.
        connections = {name: connect_until_connected(env.app, client, user_id, name, attempts=20)
                       for name in PLATFORMS}
        for name in PLATFORMS:
            if sizes.fault_timeout_rate:
                env.add_sandbox_fault(kind="timeout_after_create", platform=name, endpoint=CREATE_ENDPOINTS[name],
                                      method="POST", rate=sizes.fault_timeout_rate)

        tallies = {name: Tally() for name in PLATFORMS}
        for index in range(sizes.fault_posts):
            for name in PLATFORMS:
                _publish_with_retry(env, connections[name], name, f"fault-{name}-{index}", tallies[name])

        for name in PLATFORMS:
            figures += _figures(name, tallies[name], env.sandbox_posts(name), sizes.fault_posts)
    return figures


def _publish_with_retry(env: BenchEnv, connection_id: uuid.UUID, name: str, tag: str, tally: Tally) -> None:
    """Try up to MAX_ATTEMPTS times while the error is retryable, with the same idempotency key each time."""
    post = outbound_post(name, tag)
    with env.app.app_context():
        connection = db.session.get(SocialConnection, connection_id)
        assert connection is not None
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                publish_until_done(connection, post, env.advance_sandbox_clock)
            except ProviderError as exc:
                if isinstance(exc, UnknownOutcomeError):
                    tally.unknown_outcomes += 1
                if exc.retryable and attempt < MAX_ATTEMPTS:
                    tally.retries += 1
                    continue
                tally.failed[tag] = type(exc).__name__
                break
            else:
                tally.published.add(tag)
                break
        db.session.commit()


def _figures(name: str, tally: Tally, ground_truth: list[dict[str, object]], attempted: int) -> list[Figure]:
    seen: Counter[str] = Counter()
    for post in ground_truth:
        text = str(post.get("text") or "")
        if "[fault-" in text:
            seen[text.rsplit("[", 1)[1].rstrip("]")] += 1
    duplicates = sum(count - 1 for count in seen.values() if count > 1)
    lost = len([tag for tag in tally.published if tag not in seen])
    ghosts = len([tag for tag in tally.failed if tag in seen])
    failure_kinds = ", ".join(f"{kind} x{count}" for kind, count in Counter(tally.failed.values()).items())
    is_mastodon = name == "mastodon"
    return [
        Figure(f"faults.{name}.success_rate", 100 * len(tally.published) / attempted, "%",
               note=f"{len(tally.published)}/{attempted} reported published"),
        Figure(f"faults.{name}.retries", tally.retries, "retries",
               note=f"{tally.unknown_outcomes} after a timeout with unknown outcome"),
        Figure(f"faults.{name}.duplicates", duplicates, "posts", target=0 if is_mastodon else None, mode="at_most",
               note="Idempotency-Key" if is_mastodon else "no idempotency key on X"),
        Figure(f"faults.{name}.lost", lost, "posts", target=0, mode="at_most",
               note="reported published, absent from the sandbox"),
        Figure(f"faults.{name}.failed_but_published", ghosts, "posts",
               note=f"reported failed, present in the sandbox; failures: {failure_kinds or 'none'}"),
    ]
