"""Run the same call in several threads released at once, each on its own database connection (the way two
workers or two requests race on PostgreSQL)."""

import threading
from collections.abc import Callable
from typing import TypeVar

from django.db import connection

T = TypeVar("T")


def at_once(call: Callable[[], T], *, times: int = 2) -> list[T]:
    """The results of `times` concurrent calls (in completion order); an exception in a thread fails the test."""
    barrier = threading.Barrier(times)
    results: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(call())
        except BaseException as exc:  # surfaced below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results
