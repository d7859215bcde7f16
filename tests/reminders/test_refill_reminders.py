"""The refill reminder (apps/medications/refill_reminders.py, issue 17), end to end through materialise and the real
dispatch with the push provider faked at its library: at 10:00 her time on the day the need opens and once more 3
days later, pushed exactly once each; none once refilled, none while paused or stopped; the 10:00 stays 10:00
across the DST change; quiet hours defer it; the drug named only with her opt-in."""

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from apps.accounts.models import Patient
from apps.medications.models import Schedule
from apps.medications.services import dose_record, schedule_update
from apps.medications.stock import stock_refill, stock_update
from apps.profiles.models import PatientProfile
from apps.reminders.dispatch import dispatch
from apps.reminders.materialise import materialise
from apps.reminders.models import OccurrenceState, ReminderOccurrence
from tests.conftest import World
from tests.factories import make_schedule
from tests.supplements.factories import make_plan

LONDON = ZoneInfo("Europe/London")  # GMT until Sunday 29 March 2026 01:00 UTC, BST after
MONDAY = date(2026, 3, 2)
TUESDAY_10 = datetime(2026, 3, 3, 10, tzinfo=UTC)  # 10:00 in London (GMT)
FRIDAY_10 = datetime(2026, 3, 6, 10, tzinfo=UTC)


@pytest.fixture
def tm() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(datetime(2026, 3, 2, 12, tzinfo=LONDON), tick=False) as traveller:
        yield traveller


def refills(patient: Patient) -> list[ReminderOccurrence]:
    return list(ReminderOccurrence.objects.filter(patient=patient, source_kind="refill").order_by("due_at"))


def weekly_with_two_tablets(patient: Patient) -> Schedule:
    """Her Monday alendronate at 07:00, today's taken: 1 tablet left, the last taken next Monday."""
    schedule = make_schedule(patient, "alendronate", local_time=time(7, 0), weekday=0)
    with time_machine.travel(datetime(2026, 3, 2, 6, 30, tzinfo=LONDON), tick=False):  # counted before the dose
        stock_update(actor=patient.user, item=schedule, stock_on_hand=2, pack_size=4)
    taken = datetime(2026, 3, 2, 7, 5, tzinfo=LONDON)
    dose_record(actor=patient.user, patient=patient, schedule=schedule, id=uuid.uuid4(), taken_at=taken)
    return Schedule.objects.get(pk=schedule.pk)


def test_reminded_at_ten_when_the_last_tablet_is_left_and_three_days_later_each_pushed_once(
    world: World, make_device: Any, fake_fcm: Any, tm: time_machine.Traveller
) -> None:
    make_device(world.ann.user, "fcm", token="ann-phone")
    schedule = weekly_with_two_tablets(world.ann)
    assert (schedule.stock_on_hand, schedule.supply_last_on) == (1, date(2026, 3, 9))
    assert schedule.refill_due_on == date(2026, 3, 3)  # tomorrow the last tablet is 6 days away (< 7)
    materialise(patient_ids=[world.ann.id])
    assert [(r.due_at, r.local_time, r.dose_date) for r in refills(world.ann)] == [
        (TUESDAY_10, time(10), date(2026, 3, 3)),
        (FRIDAY_10, time(10), date(2026, 3, 3)),
    ]
    tm.move_to(TUESDAY_10 - timedelta(minutes=1))
    assert dispatch().sent == 0
    tm.move_to(TUESDAY_10)
    assert dispatch().sent == 1
    assert dispatch().sent == 0  # exactly once
    materialise(patient_ids=[world.ann.id])  # the next run plans nothing twice
    assert len(refills(world.ann)) == 2
    tm.move_to(FRIDAY_10)
    assert dispatch().sent == 1
    tm.move_to(FRIDAY_10 + timedelta(days=7))
    materialise(patient_ids=[world.ann.id])
    assert dispatch().sent == 0  # one need, two reminders: no daily nagging
    assert [m.body for m in fake_fcm.delivered] == ["Time to refill your medicine"] * 2  # names no drug


def test_none_once_she_refilled(world: World, make_device: Any, fake_fcm: Any, tm: time_machine.Traveller) -> None:
    make_device(world.ann.user, "fcm", token="ann-phone")
    schedule = weekly_with_two_tablets(world.ann)
    materialise(patient_ids=[world.ann.id])
    tm.move_to(TUESDAY_10 - timedelta(hours=1))
    stock_refill(actor=world.ann.user, item=schedule, packs=1)
    tm.move_to(FRIDAY_10 + timedelta(hours=1))
    report = dispatch()
    assert report.sent == 0
    assert fake_fcm.messages == []
    assert {r.state for r in refills(world.ann)} <= {OccurrenceState.SKIPPED, OccurrenceState.CANCELLED}
    assert Schedule.objects.get(pk=schedule.pk).refill_due_on == date(2026, 3, 31)  # 5 tablets: the last 6 April


@pytest.mark.parametrize("status", ["paused", "stopped"], ids=["paused", "stopped"])
def test_none_while_paused_or_stopped(
    world: World, make_device: Any, fake_fcm: Any, tm: time_machine.Traveller, status: str
) -> None:
    make_device(world.ann.user, "fcm", token="ann-phone")
    schedule = weekly_with_two_tablets(world.ann)
    materialise(patient_ids=[world.ann.id])
    schedule_update(actor=world.cora, schedule=schedule, status=status)
    tm.move_to(FRIDAY_10 + timedelta(hours=1))
    materialise(patient_ids=[world.ann.id])
    assert dispatch().sent == 0
    assert fake_fcm.messages == []
    assert Schedule.objects.get(pk=schedule.pk).refill_due_on is None


def test_named_only_with_her_opt_in(world: World, make_device: Any, fake_fcm: Any, tm: time_machine.Traveller) -> None:
    PatientProfile.objects.filter(pk=world.ann.pk).update(push_detail_opt_in=True)
    make_device(world.ann.user, "fcm", token="ann-phone")
    weekly_with_two_tablets(world.ann)
    materialise(patient_ids=[world.ann.id])
    tm.move_to(TUESDAY_10)
    assert dispatch().sent == 1
    assert [m.body for m in fake_fcm.delivered] == ["Time to refill your alendronate"]


def test_ten_oclock_stays_ten_across_the_dst_change(world: World, tm: time_machine.Traveller) -> None:
    # A daily 08:00 tablet counted on Friday 20 March: the need opens on Saturday 28 March (GMT) and its repeat falls
    # on Tuesday 31 March (BST).
    tm.move_to(datetime(2026, 3, 20, 12, tzinfo=LONDON))
    schedule = make_schedule(world.ann, "anastrozole", local_time=time(8, 0), starts_on=date(2026, 3, 1))
    stock_update(actor=world.ann.user, item=schedule, stock_on_hand=15)  # today's not taken: the last on 3 April
    schedule.refresh_from_db()
    assert (schedule.supply_last_on, schedule.refill_due_on) == (date(2026, 4, 3), date(2026, 3, 28))
    materialise(patient_ids=[world.ann.id])
    assert [(r.due_at, r.local_time) for r in refills(world.ann)] == [
        (datetime(2026, 3, 28, 10, tzinfo=UTC), time(10)),  # GMT
        (datetime(2026, 3, 31, 9, tzinfo=UTC), time(10)),  # BST: still 10:00 on her clock
    ]


def test_a_need_found_in_the_afternoon_is_pushed_the_next_morning(world: World, tm: time_machine.Traveller) -> None:
    schedule = make_schedule(world.ann, "anastrozole", local_time=time(8, 0))
    stock_update(actor=world.ann.user, item=schedule, stock_on_hand=3)  # counted at 12:00: due now
    assert Schedule.objects.get(pk=schedule.pk).refill_due_on == MONDAY
    materialise(patient_ids=[world.ann.id])
    assert [r.due_at for r in refills(world.ann)] == [TUESDAY_10, FRIDAY_10]


def test_a_supplement_plan_running_low_is_reminded_in_generic_words(
    world: World, make_device: Any, fake_fcm: Any, tm: time_machine.Traveller
) -> None:
    make_device(world.ann.user, "fcm", token="ann-phone")
    plan = make_plan(world.ann)  # twice a day
    # Counted at noon, this morning's not recorded: 4 cover today's two and tomorrow's, 1 day left: due at once.
    stock_update(actor=world.ann.user, item=plan, stock_on_hand=4)
    materialise(patient_ids=[world.ann.id])
    assert [r.due_at for r in refills(world.ann)] == [TUESDAY_10, FRIDAY_10]
    tm.move_to(TUESDAY_10)
    dispatch()
    assert [r.state for r in refills(world.ann)] == [OccurrenceState.SENT, OccurrenceState.PENDING]
    assert "Time to refill your supplement" in [m.body for m in fake_fcm.delivered]


def test_quiet_hours_defer_it_like_any_reminder(
    world: World, make_device: Any, fake_fcm: Any, tm: time_machine.Traveller
) -> None:
    PatientProfile.objects.filter(pk=world.ann.pk).update(quiet_hours_start=time(9, 30), quiet_hours_end=time(10, 30))
    make_device(world.ann.user, "fcm", token="ann-phone")
    weekly_with_two_tablets(world.ann)
    materialise(patient_ids=[world.ann.id])
    tm.move_to(TUESDAY_10)
    report = dispatch()
    assert (report.sent, report.deferred) == (0, 1)
    tm.move_to(TUESDAY_10 + timedelta(minutes=30))
    assert dispatch().sent == 1
