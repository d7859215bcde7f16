"""Run by tests/sync/test_sqlite_lock.py in a subprocess on a fresh SQLite file (the embedded default): while another
connection holds SQLite's write lock (as a long sync push does), a push and a REST write either wait for it (held
shorter than the lock timeout) or answer 503 with Retry-After in the one error shape (held longer), never a 500
"database is locked". Prints one JSON object of what it saw.

    DATABASE_URL=sqlite:////tmp/x.sqlite3 python -m tests.sync.sqlite_lock_probe
"""

import json
import os
import sqlite3
import sys
import threading
import time
import uuid
from typing import Any

LOCK_TIMEOUT = 1.0  # seconds a request waits for the write lock here (20 in settings: shortened for the test)


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone
    from rest_framework.test import APIClient

    from apps.exercise.models import ExerciseSession
    from tests.factories import PatientFactory

    assert connection.vendor == "sqlite", connection.vendor
    call_command("migrate", verbosity=0)
    patient = PatientFactory.create()
    connection.close()
    settings.DATABASES["default"]["OPTIONS"]["timeout"] = LOCK_TIMEOUT
    path = settings.DATABASES["default"]["NAME"]

    client = APIClient(raise_request_exception=False)
    client.force_authenticate(user=patient.user)
    since = client.get("/api/v1/sync/", {"last_pulled_at": "null"}).json()["timestamp"]
    now_ms = int(timezone.now().timestamp() * 1000) - 3_600_000

    def session() -> dict[str, Any]:
        return {"id": str(uuid.uuid4()), "kind": "balance", "minutes": 20, "performed_at": now_ms, "note": ""}

    def push() -> Any:
        changes = {"exercise_sessions": {"created": [session()], "updated": [], "deleted": []}}
        return client.post(f"/api/v1/sync/?last_pulled_at={since}", {"changes": changes}, format="json")

    def rest_write() -> Any:
        body = {"id": str(uuid.uuid4()), "kind": "balance", "minutes": 20, "performed_at": timezone.now().isoformat()}
        return client.post(f"/api/v1/patients/{patient.pk}/exercise-sessions/", body, format="json")

    def while_locked(seconds: float, call: Any) -> dict[str, Any]:
        locked = threading.Event()

        def hold() -> None:
            other = sqlite3.connect(path, isolation_level=None)
            other.execute("BEGIN IMMEDIATE")  # the write lock, as a long push's transaction holds it
            locked.set()
            time.sleep(seconds)
            other.execute("COMMIT")
            other.close()

        holder = threading.Thread(target=hold)
        holder.start()
        locked.wait()
        started = time.monotonic()
        response = call()
        waited = time.monotonic() - started
        holder.join()
        connection.close()
        return {
            "status": response.status_code,
            "retry_after": response.get("Retry-After"),
            "body": response.json(),
            "waited": round(waited, 2),
        }

    before = ExerciseSession.objects.count()
    result: dict[str, Any] = {
        "push_short": while_locked(LOCK_TIMEOUT / 4, push),
        "push_long": while_locked(LOCK_TIMEOUT * 3, push),
        "rest_long": while_locked(LOCK_TIMEOUT * 3, rest_write),
        "rest_short": while_locked(LOCK_TIMEOUT / 4, rest_write),
    }
    result["sessions_written"] = ExerciseSession.objects.count() - before
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
