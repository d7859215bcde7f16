"""A real Celery worker process whose FCM client is a fake, replaced at the library boundary
(`firebase_admin.messaging.send_each`) exactly as the in-process `fake_fcm` fixture does: everything from the task
message to django-push-notifications runs for real. Used by the fault tests (a worker killed with SIGKILL mid-batch)
and by `python -m bench dispatch`, which need the worker in another process.

    python -m tests.fake_push_worker [celery worker arguments...]

Environment:
    FAKE_PUSH_LOG          JSON-lines file; one line per message handed to the provider:
                           {"pid", "token", "occurrence", "at"} (appended before the provider "answers")
    FAKE_PUSH_LATENCY_MS   the provider's round trip per send_each call (default 0)
    FAKE_PUSH_HANG         "1": after logging a call, never answer (the worker is to be killed mid-batch)
plus the usual DATABASE_URL, CELERY_BROKER_URL and REMINDER_CLAIM_SECONDS.
"""

import json
import os
import sys
import threading
import time
from typing import Any


def install_fake_fcm() -> None:
    import firebase_admin
    from firebase_admin import credentials, messaging

    log_path = os.environ.get("FAKE_PUSH_LOG", "")
    latency = int(os.environ.get("FAKE_PUSH_LATENCY_MS", "0")) / 1000
    hang = os.environ.get("FAKE_PUSH_HANG") == "1"
    lock = threading.Lock()
    numbers = iter(range(1, 10**9))

    def send_each(messages: list[Any], dry_run: bool = False, app: Any = None) -> Any:
        if len(messages) > 500:
            raise ValueError("messages must not contain more than 500 elements.")
        if log_path:
            now = time.time()
            lines = "".join(
                json.dumps({"pid": os.getpid(), "token": m.token, "occurrence": m.data.get("occurrence"), "at": now})
                + "\n"
                for m in messages
            )
            with lock, open(log_path, "a") as log:  # one append per call: lines of two processes never interleave
                log.write(lines)
        if hang:
            threading.Event().wait()  # the provider never answers; the test kills this process
        if latency:
            time.sleep(latency)
        return messaging.BatchResponse(
            [messaging.SendResponse({"name": f"projects/fake/messages/{next(numbers)}"}, None) for _ in messages]
        )

    messaging.send_each = send_each

    class Credential(credentials.Base):
        def get_credential(self) -> Any:
            raise AssertionError("the fake FCM never authenticates")

    firebase_admin.initialize_app(Credential(), options={"projectId": "bonesync-fake"})


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    install_fake_fcm()
    from config.celery_app import app

    app.worker_main(["worker", *argv])


if __name__ == "__main__":
    main(sys.argv[1:])
