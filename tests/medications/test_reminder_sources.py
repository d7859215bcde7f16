"""The medications app's reminder sources: dose slots (DST-correct, private by default) and injection booking."""

from datetime import UTC, date, datetime, time, timedelta

import time_machine

from apps.medications.reminders import InjectionBookingReminderSource, MedicationReminderSource
from apps.medications.services import schedule_update
from backend.reminder_sources import reminder_sources
from tests.conftest import World
from tests.factories import make_schedule


def slots(source, start: datetime, days: int, patient) -> list:
    return list(source.slots(window_start=start, window_end=start + timedelta(days=days), patient_ids=[patient.id]))


def test_weekly_dose_slots_keep_local_time_across_dst(world: World) -> None:
    schedule = make_schedule(world.ann, "alendronate", starts_on=date(2026, 3, 16), weekday=0)  # London, Mondays
    got = slots(MedicationReminderSource(), datetime(2026, 3, 20, tzinfo=UTC), 14, world.ann)
    assert [(s.local_date, s.local_time, s.due_at) for s in got] == [
        (date(2026, 3, 23), time(7), datetime(2026, 3, 23, 7, tzinfo=UTC)),  # GMT
        (date(2026, 3, 30), time(7), datetime(2026, 3, 30, 6, tzinfo=UTC)),  # BST
    ]
    assert {s.source_id for s in got} == {schedule.id}
    assert got[0].text_generic == "Time for your weekly medicine"  # names no drug (DESIGN, privacy)
    assert "alendronate" in got[0].text_detailed


def test_paused_schedules_and_other_patients_give_no_slots(world: World) -> None:
    schedule = make_schedule(world.ann, "letrozole", starts_on=date(2026, 3, 1))
    make_schedule(world.bea, "letrozole", starts_on=date(2026, 3, 1))
    start = datetime(2026, 3, 10, tzinfo=UTC)
    assert len(slots(MedicationReminderSource(), start, 3, world.ann)) == 3
    with time_machine.travel(start, tick=False):
        schedule_update(actor=world.cora, schedule=schedule, status="paused")
    assert slots(MedicationReminderSource(), start, 3, world.ann) == []


def test_injection_booking_nudges_weekly_when_due_soon_then_daily(world: World) -> None:
    with time_machine.travel(datetime(2026, 1, 5, 12, tzinfo=UTC), tick=False):
        make_schedule(world.ann, "denosumab", starts_on=date(2026, 3, 2), local_time=time(10))
    got = slots(InjectionBookingReminderSource(), datetime(2026, 1, 30, tzinfo=UTC), 35, world.ann)
    days = [s.local_date for s in got]
    # due_soon nudges 28, 21, 14, 7 and 1 days before 2 March, then every day from the due date (D5).
    assert days == [
        date(2026, 2, 2),
        date(2026, 2, 9),
        date(2026, 2, 16),
        date(2026, 2, 23),
        date(2026, 3, 1),
        date(2026, 3, 2),
        date(2026, 3, 3),
        date(2026, 3, 4),
        date(2026, 3, 5),
    ]
    assert all(s.local_time == time(10) for s in got)
    assert "injection" in got[0].text_generic and "denosumab" not in got[0].text_generic
    assert "2 March 2026" in got[-1].text_detailed


def test_every_source_is_registered() -> None:
    kinds = {source.kind for source in reminder_sources()}
    assert kinds == {
        *("medication", "injection_booking", "supplement", "exercise", "appointment"),
        "refill",  # issue 17
        *("joint_pain_check_in", "joint_pain_nudge"),  # issue 15
    }
