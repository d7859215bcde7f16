"""Start the product's own processes (a Celery worker with a fake FCM at the library boundary, the web server)
against this test's database, for fault tests that kill or starve them."""

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """The URL of the database this test runs in (pytest-django's test database)."""
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def child_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("FAKE_PUSH_", "PYTEST_"))}
    env.update(DATABASE_URL=database_url(), CELERY_BROKER_URL=settings.CELERY_BROKER_URL, DJANGO_ENV="development")
    env.update(extra)
    return env


def start_worker(queue: str, **env: str) -> subprocess.Popen[bytes]:
    """`python -m tests.fake_push_worker` consuming `queue` only (so that parallel runs never share work)."""
    args = ["--pool=solo", "--without-gossip", "--without-mingle", "--without-heartbeat", "-Q", queue, "-l", "WARNING"]
    command = [sys.executable, "-m", "tests.fake_push_worker", *args]
    return subprocess.Popen(command, cwd=ROOT, env=child_env(**env))  # noqa: S603 (our own fixed command)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(port: int, **env: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload", "--skip-checks"]
    return subprocess.Popen(command, cwd=ROOT, env=child_env(**env))  # noqa: S603 (our own fixed command)


@contextlib.contextmanager
def running(process: subprocess.Popen[bytes]) -> Iterator[subprocess.Popen[bytes]]:
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def wait_for(condition: Callable[[], Any], *, timeout: float, what: str, every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def push_log(path: Path) -> list[dict[str, Any]]:
    """The messages the fake provider was handed, across processes (see tests/fake_push_worker.py)."""
    if not path.exists():
        return []
    # A worker may be appending right now: a last line without its newline is not written yet.
    complete, _, _ = path.read_text().rpartition("\n")
    return [json.loads(line) for line in complete.splitlines() if line.strip()]
