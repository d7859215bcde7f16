"""Two dispatchers at once on PostgreSQL: SKIP LOCKED claims, so every occurrence is pushed exactly once."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from push_notifications.models import GCMDevice

from apps.reminders.dispatch import dispatch
from apps.reminders.materialise import materialise
from apps.reminders.models import ReminderOccurrence
from tests.concurrency import at_once
from tests.conftest import World
from tests.factories import PatientFactory, make_schedule

NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)
DUE = datetime(2026, 3, 21, 8, tzinfo=UTC)


def thirty_due(world: World) -> list[str]:
    """30 patients with a daily 08:00 reminder due at DUE and one phone each; their tokens."""
    patients = [PatientFactory.create(organisation=world.org_a) for _ in range(30)]
    for n, patient in enumerate(patients):
        make_schedule(patient, "letrozole", starts_on=date(2026, 3, 1), local_time=time(8))
        GCMDevice.objects.create(user=patient.user, registration_id=f"phone-{n}", cloud_message_type="FCM")
    materialise(now=NOW)
    assert ReminderOccurrence.objects.filter(due_at=DUE).count() == 30
    return [f"phone-{n}" for n in range(30)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_push_each_occurrence_once(world: World, fake_fcm) -> None:
    tokens = thirty_due(world)
    reports = at_once(lambda: dispatch(now=DUE + timedelta(seconds=5)))
    assert sum(r.sent for r in reports) == 30
    assert sorted(m.token for m in fake_fcm.delivered) == sorted(tokens)  # each once
    assert set(ReminderOccurrence.objects.filter(due_at=DUE).values_list("state", flat=True)) == {"sent"}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_the_nudge_time_plan_and_push_each_nudge_once(world: World, fake_fcm) -> None:
    tokens = thirty_due(world)
    assert dispatch(now=DUE).sent == 30
    fake_fcm.reset()
    reports = at_once(lambda: dispatch(now=DUE + timedelta(minutes=120)))
    assert sum(r.nudges for r in reports) == 30
    assert ReminderOccurrence.objects.filter(kind="nudge").count() == 30
    assert sorted(m.token for m in fake_fcm.delivered) == sorted(tokens)
