"""The suite under pytest-xdist (scripts/test.sh runs `-n 2 --dist load`). Loaded before anything reads the
Django settings (`-p tests.parallel` in pyproject's addopts), so it can give each worker its own share of the
services the workers have in common:

- PostgreSQL: pytest-django already suffixes the test database per worker (test_<name>_gw0, _gw1...); tests that
  make databases of their own name them with `worker_suffix()` (tests/contract/test_live_contract.py).
- Redis cache: every worker gets its own key prefix (CACHE_KEY_PREFIX=gw1, read by config/settings.py), which the
  processes a test starts inherit with the environment, and tests/conftest.py empties only its own worker's keys
  between tests (`clear_cache()`), never the whole Redis database under the other worker's feet.
- Celery broker: shared; a test that runs a worker gives it a queue of its own (tests/reminders/processes.py).

Under xdist the longest test (the live contract run, both roles in one worker's first batch) is handed out
first, so that it does not start last and become the tail. Only tests that do not use the test database may move:
the others keep pytest-django's order (plain database tests, then transactional ones, whose flush empties the
tables).
A serial run (`-p no:xdist` or `-n 0`) changes nothing: no worker id, no prefix, no reordering, `cache.clear()`.
"""

import os

import pytest

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")

# Node id prefixes of long tests that use no test database, longest first.
LONG_FIRST = ("tests/contract/",)  # setup and two schemathesis runs against gunicorn: minutes
DATABASE_FIXTURES = {
    "db",
    "transactional_db",
    "live_server",
    "django_db_reset_sequences",
    "django_db_serialized_rollback",
}


def worker_suffix() -> str:
    """`_gw0`, `_gw1`... under xdist, empty in a serial run: for names a test makes that must differ per worker."""
    return f"_{WORKER}" if WORKER else ""


def prefixed(prefix: str, name: str) -> str:
    """A cache key prefix under another (CACHE_KEY_PREFIX, config/settings.py)."""
    return f"{prefix}-{name}" if prefix else name


if WORKER:
    os.environ["CACHE_KEY_PREFIX"] = prefixed(os.environ.get("CACHE_KEY_PREFIX", ""), WORKER)


def _uses_database(item: pytest.Item) -> bool:
    fixtures = set(getattr(item, "fixturenames", ()))
    return item.get_closest_marker("django_db") is not None or bool(fixtures & DATABASE_FIXTURES)


def _rank(item: pytest.Item) -> int:
    for rank, prefix in enumerate(LONG_FIRST):
        if item.nodeid.startswith(prefix):
            assert not _uses_database(item), f"{item.nodeid} uses the test database: it may not jump the queue"
            return rank
    return len(LONG_FIRST)


@pytest.hookimpl(trylast=True)  # after pytest-django's own ordering
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Stable: everything else keeps its order. Every worker collects the same list, as xdist requires.
    if WORKER:
        items.sort(key=_rank)
