"""The benchmark command runs end to end in a tiny configuration and prints every figure it promises.

No timing is asserted here: the targets are printed by `make bench`, not enforced by the test suite.
"""

from __future__ import annotations

import io
import math
import os
from dataclasses import replace

import pytest

import bench.__main__ as cli
import stella.providers as registry
from bench.core import Figure, Sizes, format_table, percentile
from bench.faults import Tally, _figures

TINY = Sizes(connect_runs=1, publish_runs=1, throughput_posts_per_platform=1, threads=2, fault_posts=3,
             page_posts=60, page_analytics=120, page_runs=1, postgres_url=None)


def expected_names(postgres: bool) -> list[str]:
    names = [f"{kind}.{cls.name}.{stat}" for kind in ("connect", "publish")
             for cls in registry.PROVIDER_CLASSES for stat in ("median", "p95")]
    names += ["publish.throughput", "publish.ground_truth_mismatches"]
    names += [f"faults.{p}.{f}" for p in ("x", "mastodon")
              for f in ("success_rate", "retries", "duplicates", "lost", "failed_but_published")]
    for backend in ("sqlite", "postgresql") if postgres else ("sqlite",):
        names += [f"pages.{backend}.{page}.{stat}" for page in ("dashboard", "posts", "calendar", "analytics")
                  for stat in ("median", "p95")]
    names += ["memory.peak_rss", "memory.tracemalloc_peak"]
    return names


def test_a_tiny_full_run_prints_every_figure_name_with_targets_and_exits_zero():
    # Pages run on PostgreSQL too when the suite has one (a temporary database, dropped afterwards).
    postgres_url = os.environ.get(cli.PG_ENV) or None
    out, progress = io.StringIO(), io.StringIO()
    code = cli.main([], sizes=replace(TINY, postgres_url=postgres_url), out=out, progress=progress)
    text = out.getvalue()
    assert code == 0, text
    printed = {line.split()[0] for line in text.splitlines() if line and "." in line.split()[0]}
    missing = [name for name in expected_names(postgres_url is not None) if name not in printed]
    assert not missing, text
    assert "< 250" in text and "< 300" in text and "< 400" in text  # the targets sit beside the figures
    # Nothing published twice or lost on a healthy sandbox, and Mastodon never duplicates under faults.
    for line in text.splitlines():
        if line.startswith(("publish.ground_truth_mismatches", "faults.mastodon.duplicates", "faults.x.lost",
                            "faults.mastodon.lost")):
            assert line.split()[1] == "0", line


def test_only_runs_the_named_benchmark_and_memory_means_the_page_run():
    assert cli.selected(["memory"]) == ["pages"]
    assert cli.selected(["pages,connect"]) == ["connect", "pages"]
    assert cli.selected(None) == ["connect", "publish", "faults", "pages"]


def test_an_unknown_benchmark_name_is_refused_with_the_choices():
    progress = io.StringIO()
    assert cli.main(["--only", "nope"], sizes=TINY, out=io.StringIO(), progress=progress) == 2
    assert "unknown benchmark 'nope'" in progress.getvalue() and "connect" in progress.getvalue()


def test_strict_exits_one_only_when_a_target_is_missed(monkeypatch: pytest.MonkeyPatch):
    figures = [Figure("fake.p95", 500.0, "ms", target=300.0)]
    monkeypatch.setitem(cli.BENCHMARKS, "pages", lambda sizes: figures)
    out = io.StringIO()
    assert cli.main(["--only", "pages"], sizes=TINY, out=out, progress=io.StringIO()) == 0
    assert "OVER" in out.getvalue() and "1 target(s) missed: fake.p95" in out.getvalue()
    assert cli.main(["--only", "pages", "--strict"], sizes=TINY, out=io.StringIO(), progress=io.StringIO()) == 1
    figures[0] = Figure("fake.p95", 100.0, "ms", target=300.0)
    assert cli.main(["--only", "pages", "--strict"], sizes=TINY, out=io.StringIO(), progress=io.StringIO()) == 0


def test_figures_compare_against_their_target_in_the_stated_direction():
    assert Figure("a", 249.9, "ms", target=250).ok is True
    assert Figure("a", 250, "ms", target=250).ok is False
    assert Figure("a", 0, "posts", target=0, mode="at_most").ok is True
    assert Figure("a", 1, "posts", target=0, mode="at_most").ok is False
    assert Figure("a", 95, "%", target=99, mode="at_least").ok is False
    assert Figure("a", 3, "ms").ok is None
    assert Figure("a", math.nan, "ms", target=1).ok is None
    table = format_table([Figure("slow.p95", 512.25, "ms", target=300), Figure("fast.p95", 12.5, "ms", target=300)])
    assert "slow.p95" in table and "512" in table and "OVER" in table and "ok" in table


def test_p95_is_the_nearest_rank_not_an_interpolation():
    samples = [float(n) for n in range(1, 21)]  # 1..20
    assert percentile(samples, 95) == 19.0
    assert percentile(samples, 50) == 10.0
    assert percentile([7.0], 95) == 7.0
    assert math.isnan(percentile([], 95))


def test_fault_figures_count_duplicates_losses_and_ghosts_from_the_ground_truth():
    tally = Tally(published={"fault-x-0", "fault-x-1", "fault-x-2"}, failed={"fault-x-3": "RejectedError"},
                  retries=4, unknown_outcomes=1)
    truth = [{"text": "Just listed [fault-x-0]"}, {"text": "Just listed [fault-x-0]"},
             {"text": "Just listed [fault-x-1]"}, {"text": "Just listed [fault-x-3]"}, {"text": "unrelated"}]
    by_name = {f.name: f for f in _figures("x", tally, truth, attempted=4)}
    assert by_name["faults.x.success_rate"].value == 75.0
    assert by_name["faults.x.duplicates"].value == 1
    assert by_name["faults.x.lost"].value == 1  # fault-x-2 reported published, absent
    assert by_name["faults.x.lost"].ok is False
    assert by_name["faults.x.failed_but_published"].value == 1
    assert "RejectedError x1" in by_name["faults.x.failed_but_published"].note
