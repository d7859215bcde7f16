"""Edge cases of the dispatcher: per-patient preferences in one batch, long runs, rows that keep killing workers,
late records of yesterday's dose, and preferences changed between a reminder and its nudge."""

import itertools
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

import apps.reminders.dispatch as dispatcher
from apps.accounts.models import Patient
from apps.medications.models import Schedule
from apps.medications.services import dose_record
from apps.reminders.dispatch import dispatch
from apps.reminders.materialise import materialise
from apps.reminders.models import ReminderOccurrence, ReminderPreference
from tests.conftest import World
from tests.factories import PatientFactory, make_schedule

NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)
DUE = datetime(2026, 3, 21, 8, tzinfo=UTC)  # 08:00 London (GMT)


def daily(patients: list[Patient], make_device: Any) -> list[Schedule]:
    schedules = [make_schedule(p, "letrozole", starts_on=date(2026, 3, 1), local_time=time(8)) for p in patients]
    for patient in patients:
        make_device(patient.user, "fcm")
    materialise(now=NOW, patient_ids=[p.id for p in patients])
    return schedules


def reminder(patient: Patient) -> ReminderOccurrence:
    return ReminderOccurrence.objects.get(patient=patient, due_at=DUE, kind="reminder")


def test_each_patient_gets_her_own_nudge_preference_in_a_shared_batch(world: World, make_device, fake_fcm) -> None:
    daily([world.ann, world.bea], make_device)
    ReminderPreference.objects.create(patient=world.ann, nudges_enabled=False)
    ReminderPreference.objects.create(patient=world.bea, nudge_after_minutes=30)
    assert dispatch(now=DUE).sent == 2
    assert reminder(world.ann).follow_up_at is None
    assert reminder(world.bea).follow_up_at == DUE + timedelta(minutes=30)


def test_statements_stay_constant_when_every_row_has_its_own_values(db, make_device, fake_fcm) -> None:
    def run(count: int) -> int:
        patients = [PatientFactory.create() for _ in range(count)]
        daily(patients, make_device)
        for n, patient in enumerate(patients):  # a different nudge delay each: different follow-up instants
            ReminderPreference.objects.create(patient=patient, nudge_after_minutes=15 + n)
        with CaptureQueriesContext(connection) as queries:
            assert dispatch(now=DUE).sent == count
        follow_ups = ReminderOccurrence.objects.filter(patient__in=patients, due_at=DUE).values_list("follow_up_at")
        assert len(set(follow_ups)) == count
        return len(queries)

    small = run(3)
    ReminderOccurrence.objects.all().delete()
    assert run(30) == small


def test_a_long_run_gives_each_batch_its_own_claim_deadline(world: World, make_device, fake_fcm, monkeypatch) -> None:
    patients = [PatientFactory.create(organisation=world.org_a) for _ in range(5)]
    daily(patients, make_device)
    monkeypatch.setattr(dispatcher, "BATCH", 2)
    ticks = itertools.count()
    monkeypatch.setattr(dispatcher.clock, "now", lambda: DUE + timedelta(seconds=100 * next(ticks)))
    report = dispatch()  # no fixed now: the clock is read per batch
    assert report.sent == 5
    claimed = ReminderOccurrence.objects.filter(due_at=DUE).values_list("claimed_until", flat=True)
    deadlines = sorted({deadline for deadline in claimed if deadline is not None})
    assert len(deadlines) == 3  # three batches, three deadlines, each from the clock at its own claim
    assert deadlines[-1] - deadlines[0] >= timedelta(seconds=200)


def test_a_row_retaken_again_and_again_is_given_up(world: World, make_device, fake_fcm) -> None:
    daily([world.ann], make_device)
    poison = reminder(world.ann)
    # Five workers died on it: each retake counted an attempt.
    ReminderOccurrence.objects.filter(pk=poison.pk).update(
        state="claimed", attempts=5, claimed_until=DUE - timedelta(minutes=1)
    )
    report = dispatch(now=DUE)
    poison.refresh_from_db()
    assert (report.sent, report.failed, poison.state) == (0, 1, "failed")
    assert poison.reason == "given up after 6 attempts"
    assert fake_fcm.messages == []


def test_yesterdays_dose_recorded_this_morning_does_not_silence_todays_reminder(
    world: World, make_device, fake_fcm
) -> None:
    (schedule,) = daily([world.ann], make_device)
    taken_at = DUE - timedelta(hours=1)

    with time_machine.travel(taken_at + timedelta(minutes=1), tick=False):
        dose_record(
            actor=world.ann.user,
            patient=world.ann,
            schedule=schedule,
            id=uuid.uuid4(),
            taken_at=taken_at,
            occurrence_on=DUE.date() - timedelta(days=1),  # the app says: this was yesterday's
        )
    assert dispatch(now=DUE).sent == 1


def test_nudges_switched_off_after_the_reminder_mean_no_nudge(world: World, make_device, fake_fcm) -> None:
    daily([world.ann], make_device)
    dispatch(now=DUE)
    assert reminder(world.ann).follow_up_at == DUE + timedelta(minutes=120)
    ReminderPreference.objects.create(patient=world.ann, nudges_enabled=False)
    assert dispatch(now=DUE + timedelta(minutes=120)).nudges == 0
    assert not ReminderOccurrence.objects.filter(kind="nudge").exists()
    assert reminder(world.ann).follow_up_at is None  # checked once, not again every minute
