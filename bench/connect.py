"""Benchmark 1: the full connect flow for each platform, through Stella's views and services and the sandbox."""

from __future__ import annotations

import time

from bench.core import Figure, Sizes, bench_env, latency_figures
from bench.flows import FlowError, connect_via_browser, connection_status, platform_names

TARGET_P95_MS = 250.0


def run(sizes: Sizes) -> list[Figure]:
    """Time connect → consent → callback (→ target choice) per platform; disconnect (untimed) between runs.

    One untimed connect per platform first: its first request compiles templates and statements, a once-per-
    process cost that would otherwise be the p95 of a --quick run.
    """
    figures: list[Figure] = []
    with bench_env() as env:
        client, user_id = env.signed_in_client("marketing")
        for name in platform_names():
            samples: list[float] = []
            for run in range(sizes.connect_runs + 1):
                started = time.perf_counter()
                connect_via_browser(client, name)
                elapsed = (time.perf_counter() - started) * 1000
                _, status = connection_status(env.app, user_id, name)
                if status != "connected":
                    raise FlowError(f"{name} did not connect (status {status})")
                if run:
                    samples.append(elapsed)
                # A fresh connect each time, not a reconnect over a stored account.
                response = client.post(f"/connections/{name}/disconnect")
                if response.status_code != 302:
                    raise FlowError(f"{name} disconnect answered {response.status_code}")
            figures += latency_figures(f"connect.{name}", samples, target_p95=TARGET_P95_MS)
    return figures
