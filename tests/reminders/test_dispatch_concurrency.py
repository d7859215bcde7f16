"""Two dispatchers at once on PostgreSQL: SKIP LOCKED claims, so every occurrence is pushed exactly once."""

import threading
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.db import connection
from push_notifications.models import GCMDevice

from apps.reminders.dispatch import dispatch
from apps.reminders.materialise import materialise
from apps.reminders.models import ReminderOccurrence
from tests.conftest import World
from tests.factories import PatientFactory, make_schedule

NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_push_each_occurrence_once(world: World, fake_fcm) -> None:
    patients = [PatientFactory.create(organisation=world.org_a) for _ in range(30)]
    for n, patient in enumerate(patients):
        make_schedule(patient, "letrozole", starts_on=date(2026, 3, 1), local_time=time(8))
        GCMDevice.objects.create(user=patient.user, registration_id=f"phone-{n}", cloud_message_type="FCM")
    materialise(now=NOW)
    due = datetime(2026, 3, 21, 8, tzinfo=UTC)
    assert ReminderOccurrence.objects.filter(due_at=due).count() == 30
    barrier = threading.Barrier(2)
    reports = []

    def run() -> None:
        try:
            barrier.wait()
            reports.append(dispatch(now=due + timedelta(seconds=5)))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.sent for r in reports) == 30
    tokens = [m.token for m in fake_fcm.delivered]
    assert sorted(tokens) == sorted(f"phone-{n}" for n in range(30))  # each once
    assert set(ReminderOccurrence.objects.filter(due_at=due).values_list("state", flat=True)) == {"sent"}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_the_nudge_time_plan_and_push_each_nudge_once(world: World, fake_fcm) -> None:
    patients = [PatientFactory.create(organisation=world.org_a) for _ in range(30)]
    for n, patient in enumerate(patients):
        make_schedule(patient, "letrozole", starts_on=date(2026, 3, 1), local_time=time(8))
        GCMDevice.objects.create(user=patient.user, registration_id=f"phone-{n}", cloud_message_type="FCM")
    materialise(now=NOW)
    due = datetime(2026, 3, 21, 8, tzinfo=UTC)
    assert dispatch(now=due).sent == 30
    fake_fcm.reset()
    barrier = threading.Barrier(2)
    reports = []

    def run() -> None:
        try:
            barrier.wait()
            reports.append(dispatch(now=due + timedelta(minutes=120)))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.nudges for r in reports) == 30
    assert ReminderOccurrence.objects.filter(kind="nudge").count() == 30
    assert sorted(m.token for m in fake_fcm.delivered) == sorted(f"phone-{n}" for n in range(30))
