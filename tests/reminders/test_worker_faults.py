"""Faults with real processes: a dispatching worker killed with SIGKILL mid-batch, and the API with Redis gone.

The workers are `python -m tests.fake_push_worker` processes (the product's Celery worker with FCM's client replaced
at the library boundary, logging every message it is handed to a file), on the CI Redis and this test's PostgreSQL
database; each test uses its own queue.
"""

import os
import signal
import time
import uuid
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from celery.contrib.testing.worker import start_worker as start_inprocess_worker
from django.utils import timezone
from push_notifications.models import GCMDevice

from apps.medications.models import DoseRecord
from apps.reminders.materialise import materialise
from apps.reminders.models import Delivery, ReminderOccurrence
from config.celery_app import app
from tests.conftest import World
from tests.factories import PASSWORD, PatientFactory, make_schedule
from tests.reminders.processes import free_port, push_log, running, start_server, start_worker, wait_for

CLAIM_SECONDS = 4  # the killed worker's claims lapse after this (REMINDER_CLAIM_SECONDS in the workers)
LONDON = ZoneInfo("Europe/London")


def due_now(patients: list, code: str = "letrozole") -> list:
    """A daily schedule whose reminder fell due ten minutes ago for each patient; their due occurrences."""
    now = timezone.now()
    ten_minutes_ago = (now - timedelta(minutes=10)).astimezone(LONDON).time().replace(second=0, microsecond=0)
    schedules = [make_schedule(p, code, starts_on=date(2026, 1, 5), local_time=ten_minutes_ago) for p in patients]
    materialise(now=now - timedelta(minutes=30), patient_ids=[p.id for p in patients])
    due = list(ReminderOccurrence.objects.filter(state="pending", due_at__lte=now, kind="reminder"))
    assert len(due) == len(patients)
    return schedules


def dispatch_on(queue: str) -> None:
    app.loader.import_default_modules()
    app.tasks["reminders.dispatch"].apply_async(queue=queue)


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_loses_nothing_and_its_duplicates_are_bounded(world: World, tmp_path: Path) -> None:
    patients = [PatientFactory.create(organisation=world.org_a) for _ in range(40)]
    for n, patient in enumerate(patients):
        GCMDevice.objects.create(user=patient.user, registration_id=f"phone-{n}", cloud_message_type="FCM")
    due_now(patients)
    log = tmp_path / "pushes.jsonl"
    queue = f"faults-{uuid.uuid4().hex[:8]}"
    claim = str(CLAIM_SECONDS)

    # Worker A claims the batch and hands it to the provider, which never answers: killed there.
    with running(start_worker(queue, FAKE_PUSH_LOG=str(log), FAKE_PUSH_HANG="1", REMINDER_CLAIM_SECONDS=claim)) as a:
        dispatch_on(queue)
        wait_for(lambda: len(push_log(log)) == 40, timeout=60, what="worker A to hand the batch to the provider")
        os.kill(a.pid, signal.SIGKILL)
        a.wait(timeout=10)
    # Nothing lost: every occurrence is still in the database, claimed until A's deadline, none marked sent.
    rows = ReminderOccurrence.objects.filter(kind="reminder", due_at__lte=timezone.now())
    assert Counter(rows.values_list("state", flat=True)) == {"claimed": 40}
    (deadline,) = set(rows.values_list("claimed_until", flat=True))
    assert deadline is not None
    assert Delivery.objects.count() == 0

    # Worker B takes them again once A's claims lapse, and records every delivery.
    with running(start_worker(queue, FAKE_PUSH_LOG=str(log), REMINDER_CLAIM_SECONDS=claim)):

        def all_sent() -> bool:
            dispatch_on(queue)
            return set(rows.values_list("state", flat=True)) == {"sent"}

        wait_for(all_sent, timeout=90, what="worker B to send the lapsed claims", every=1)

    pushes = push_log(log)
    by_worker = Counter(p["pid"] for p in pushes)
    assert sorted(by_worker.values()) == [40, 40]  # A's batch (maybe delivered) and B's resend
    b_pid = next(pid for pid in by_worker if pid != a.pid)
    b_pushes = [p for p in pushes if p["pid"] == b_pid]
    # The duplicate window is bounded: at most one extra push per occurrence of the killed batch, and none before
    # A's claim deadline.
    assert Counter(p["occurrence"] for p in pushes) == {str(o.pk): 2 for o in rows}
    assert min(p["at"] for p in b_pushes) >= deadline.timestamp()
    assert Counter(Delivery.objects.values_list("outcome", flat=True)) == {"sent": 40}


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_with_redis_gone_the_api_serves_and_records_then_the_backlog_is_caught_up(world: World, fake_fcm) -> None:
    (ann_schedule, _) = due_now([world.ann, world.bea])
    ann_due_on = (
        ReminderOccurrence.objects.filter(source_id=ann_schedule.id, kind="reminder", due_at__lte=timezone.now())
        .latest("due_at")
        .dose_date
    )
    assert ann_due_on is not None
    GCMDevice.objects.create(user=world.ann.user, registration_id="ann-phone", cloud_message_type="FCM")
    GCMDevice.objects.create(user=world.bea.user, registration_id="bea-phone", cloud_message_type="FCM")
    port = free_port()
    dead_redis = "redis://127.0.0.1:9/0"  # nothing listens there: broker and cache both unreachable
    base = f"http://127.0.0.1:{port}"
    with running(start_server(port, CELERY_BROKER_URL=dead_redis, CACHE_URL=dead_redis)):
        wait_for(lambda: _answers(f"{base}/api/v1/health/"), timeout=60, what="the web server to start")
        # Sign-in is throttled through the Redis cache: it fails open rather than failing the patient.
        signed_in = requests.post(
            f"{base}/api/v1/auth/token/", json={"email": world.ann.user.email, "password": PASSWORD}, timeout=10
        )
        assert signed_in.status_code == 200, signed_in.text
        auth = {"Authorization": f"Bearer {signed_in.json()['access']}"}
        dose_id = str(uuid.uuid4())
        started = time.monotonic()
        recorded = requests.post(
            f"{base}/api/v1/patients/{world.ann.id}/doses/",
            json={
                "id": dose_id,
                "schedule": str(ann_schedule.id),
                "taken_at": timezone.now().isoformat(),
                # The reminder she answers, as her app says: due at 23:51 and answered at 00:01, it is still
                # yesterday's dose (without it, a run just after midnight read it as today's).
                "occurrence_on": ann_due_on.isoformat(),
            },
            headers=auth,
            timeout=10,
        )
        assert recorded.status_code == 201, recorded.text
        assert time.monotonic() - started < 5  # not held by broker retries
        listed = requests.get(f"{base}/api/v1/patients/{world.ann.id}/reminders/", headers=auth, timeout=10)
        assert listed.status_code == 200
    assert DoseRecord.objects.filter(pk=dose_id).exists()
    assert fake_fcm.messages == []  # nothing could be dispatched while Redis was gone

    # Redis is back: a worker on it catches the backlog up from the database. Ann recorded her dose meanwhile.
    queue = f"backlog-{uuid.uuid4().hex[:8]}"
    with start_inprocess_worker(app, pool="solo", perform_ping_check=False, queues=[queue]):
        dispatch_on(queue)
        wait_for(
            lambda: (
                not ReminderOccurrence.objects.filter(kind="reminder", state__in=["pending", "claimed"]).filter(
                    due_at__lte=timezone.now()
                )
            ),
            timeout=30,
            what="the backlog to be dispatched",
        )
    assert [m.token for m in fake_fcm.delivered] == ["bea-phone"]
    ann_reminder = ReminderOccurrence.objects.get(patient=world.ann, kind="reminder", due_at__lte=timezone.now())
    assert (ann_reminder.state, ann_reminder.reason) == ("skipped", "dose already recorded")


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except (requests.ConnectionError, requests.Timeout):  # not listening yet, or still loading its URLs: ask again
        return False
