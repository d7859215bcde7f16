"""Timing and query counting for one operation."""

import gc
import time
from collections.abc import Callable

from django.db import connection
from django.test.utils import CaptureQueriesContext


def time_calls(call: Callable[[], object], *, repeat: int, warmup: int) -> list[float]:
    """Milliseconds of `repeat` calls, after `warmup` untimed ones."""
    for _ in range(warmup):
        call()
    gc.collect()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def capture_queries(call: Callable[[], object]) -> list[str]:
    """The SQL one call sends (parameters interpolated), from a separate untimed call: capturing slows queries."""
    with CaptureQueriesContext(connection) as captured:
        call()
    return [query["sql"] for query in captured.captured_queries]
