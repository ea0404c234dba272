"""`python -m bench [--quick] [--only NAME ...] [--strict]`: run the benchmarks and print a table of figures.

Exit status 0 whatever the figures (a benchmark informs, it does not gate), 1 with --strict when a target is
missed, 2 on bad arguments. Progress goes to stderr so stdout is the table alone.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from typing import TextIO

from bench import connect, faults, pages, publish
from bench.core import Figure, Sizes, format_table, missed, safe_label

PG_ENV = "STELLA_TEST_DATABASE_URL"

# Order matters: memory is read after the page benchmark, so pages run last.
BENCHMARKS: dict[str, Callable[[Sizes], list[Figure]]] = {
    "connect": connect.run,
    "publish": publish.run,
    "faults": faults.run,
    "pages": pages.run,
}
# `memory` is measured by the page run (peak RSS after it, tracemalloc during it).
ALIASES = {"memory": "pages"}


def selected(only: Sequence[str] | None) -> list[str]:
    """Benchmark names to run, in their fixed order; raises ValueError naming any unknown one."""
    if not only:
        return list(BENCHMARKS)
    wanted = set()
    for item in only:
        for name in filter(None, (part.strip().lower() for part in item.split(","))):
            name = ALIASES.get(name, name)
            if name not in BENCHMARKS:
                choices = ", ".join([*BENCHMARKS, *ALIASES])
                raise ValueError(f"unknown benchmark {name!r}; choose from {choices}")
            wanted.add(name)
    return [name for name in BENCHMARKS if name in wanted]


def run_benchmarks(names: Sequence[str], sizes: Sizes, progress: TextIO = sys.stderr) -> list[Figure]:
    figures: list[Figure] = []
    for name in names:
        started = time.perf_counter()
        progress.write(f"bench: {name} ...\n")
        progress.flush()
        figures += BENCHMARKS[name](sizes)
        progress.write(f"bench: {name} done in {time.perf_counter() - started:.1f} s\n")
    return figures


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs (about 30 s instead of 3 minutes)")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help=f"run only these ({', '.join([*BENCHMARKS, *ALIASES])}); repeat or comma-separate")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a figure misses its target")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None, *, sizes: Sizes | None = None, out: TextIO = sys.stdout,
         progress: TextIO = sys.stderr) -> int:
    args = parse_args(argv)
    try:
        names = selected(args.only)
    except ValueError as exc:
        progress.write(f"python -m bench: error: {exc}\n")
        return 2
    postgres_url = os.environ.get(PG_ENV) or None
    if sizes is None:
        sizes = Sizes.quick(postgres_url) if args.quick else Sizes.default(postgres_url)
    started = time.perf_counter()
    figures = run_benchmarks(names, sizes, progress)
    elapsed = time.perf_counter() - started

    databases = "SQLite" + (f" and PostgreSQL ({safe_label(sizes.postgres_url)})" if sizes.postgres_url else "")
    # The load average says how far to trust the latencies: other work on the machine inflates them.
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    out.write(f"Stella benchmarks ({'quick' if args.quick else 'full'}): {', '.join(names)}; "
              f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average {load}; "
              f"pages on {databases}\n\n")
    out.write(format_table(figures) + "\n\n")
    over = missed(figures)
    if over:
        out.write(f"{len(over)} target(s) missed: {', '.join(f.name for f in over)}\n")
    else:
        out.write("every target met\n")
    out.write(f"ran in {elapsed:.1f} s\n")
    return 1 if args.strict and over else 0


if __name__ == "__main__":
    sys.exit(main())
