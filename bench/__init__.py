"""Stella's benchmarks: `python -m bench [--quick] [--only NAME] [--strict]` prints figures beside their targets.

The speed and memory targets live here, never in timed unit tests: a loaded CI machine makes timing asserts
flaky, while a benchmark run on a quiet machine gives figures worth comparing.
"""

from bench.core import Figure, Sizes

__all__ = ["Figure", "Sizes"]
