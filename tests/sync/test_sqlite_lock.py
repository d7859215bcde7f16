"""On the embedded SQLite default, a request that meets another writer's lock (a long sync push) waits for it, or,
past the lock timeout, answers 503 with Retry-After in the one error shape: never a 500 "database is locked"
(issue 12). Run on a fresh SQLite file in a subprocess (the suite's database is PostgreSQL); see sqlite_lock_probe."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_held_sqlite_write_lock_makes_requests_wait_or_503_never_500(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "CELERY_", "CACHE_"))}
    env |= {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CACHE_URL": "locmemcache://lock-probe",
        "CELERY_BROKER_URL": "memory://",
    }
    result = subprocess.run(
        [sys.executable, "-m", "tests.sync.sqlite_lock_probe"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    # Held a quarter of the timeout: the push and the REST write waited for the lock and were applied.
    assert seen["push_short"]["status"] == 200, seen
    assert seen["rest_short"]["status"] == 201, seen
    # Held past the timeout: a push and a REST write are told to come back, in the one error shape.
    for name in ("push_long", "rest_long"):
        assert seen[name]["status"] == 503, seen
        assert seen[name]["retry_after"] == "5"
        assert seen[name]["body"]["error"]["code"] == "busy"
        assert set(seen[name]["body"]["error"]) == {"code", "message", "fields"}
    assert seen["sessions_written"] == 2  # only those that waited
    assert " ERROR " not in result.stderr  # a busy answer is a warning, not a server error
