"""Exercise days as a reminder source: one slot per chosen weekday at the plan's local time, DST-correct."""

from collections.abc import Callable
from datetime import UTC, date, datetime, time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.exercise.models import ExercisePlan
from apps.exercise.reminders import TEXT_GENERIC, ExerciseReminderSource
from apps.exercise.services import exercise_plan_update
from backend.reminder_sources import ReminderSlot, reminder_sources
from tests.conftest import World
from tests.exercise.factories import make_exercise_plan, set_zone

SUNDAY = 6


@pytest.fixture(autouse=True)
def _now(frozen: Callable[[datetime], None]) -> None:
    frozen(datetime(2026, 3, 1, 12, tzinfo=UTC))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def slots(start: datetime, end: datetime, patient_ids=None) -> list[ReminderSlot]:
    return list(ExerciseReminderSource().slots(window_start=start, window_end=end, patient_ids=patient_ids))


def test_the_source_is_registered() -> None:
    assert "exercise" in [source.kind for source in reminder_sources()]


def test_sundays_at_1800_in_london_across_the_spring_change(world: World) -> None:
    plan = make_exercise_plan(world.ann, reminder_days=[SUNDAY], local_time=time(18, 0))
    found = slots(utc(2026, 3, 16), utc(2026, 4, 6))
    assert [(s.local_date, s.local_time, s.due_at) for s in found] == [
        (date(2026, 3, 22), time(18, 0), utc(2026, 3, 22, 18)),  # GMT
        (date(2026, 3, 29), time(18, 0), utc(2026, 3, 29, 17)),  # BST from 01:00 UTC that morning
        (date(2026, 4, 5), time(18, 0), utc(2026, 4, 5, 17)),
    ]
    assert {(s.source_kind, s.source_id, s.patient_id) for s in found} == {("exercise", plan.id, world.ann.id)}
    assert found[0].text_generic == TEXT_GENERIC == "Time to move: your exercise for today"
    assert "weight-bearing activity (150 minutes a week)" in found[0].text_detailed
    assert "balance exercises (2 times a week)" in found[0].text_detailed


def test_a_time_in_the_spring_gap_moves_forward_and_an_ambiguous_one_takes_its_first_instant(world: World) -> None:
    make_exercise_plan(world.ann, reminder_days=[SUNDAY], local_time=time(1, 30))
    spring = slots(utc(2026, 3, 28), utc(2026, 3, 30))
    assert [(s.local_date, s.local_time, s.due_at) for s in spring] == [
        (date(2026, 3, 29), time(2, 30), utc(2026, 3, 29, 1, 30))  # 01:30 does not exist that night
    ]
    autumn = slots(utc(2026, 10, 24), utc(2026, 10, 26))
    assert [(s.local_date, s.local_time, s.due_at) for s in autumn] == [
        (date(2026, 10, 25), time(1, 30), utc(2026, 10, 25, 0, 30))  # the first 01:30 (BST)
    ]


def test_los_angeles_keeps_its_wall_time(world: World) -> None:
    set_zone(world.ann, "America/Los_Angeles")
    make_exercise_plan(world.ann, reminder_days=[0, SUNDAY], local_time=time(7, 0))
    found = slots(utc(2026, 3, 7), utc(2026, 3, 10))
    assert [(s.local_date, s.due_at) for s in found] == [
        (date(2026, 3, 8), utc(2026, 3, 8, 14)),  # PDT from 02:00 that morning
        (date(2026, 3, 9), utc(2026, 3, 9, 14)),
    ]


def test_the_window_is_half_open_and_in_utc(world: World) -> None:
    set_zone(world.ann, "Pacific/Auckland")
    make_exercise_plan(world.ann, reminder_days=[0], local_time=time(6, 0))  # Monday 06:00 NZDT = Sunday 17:00 UTC
    assert [s.local_date for s in slots(utc(2026, 3, 8, 17), utc(2026, 3, 8, 17, 1))] == [date(2026, 3, 9)]
    assert slots(utc(2026, 3, 8, 16), utc(2026, 3, 8, 17)) == []


def test_only_active_plans_with_days_and_the_patients_asked_for(world: World) -> None:
    ann = make_exercise_plan(world.ann, reminder_days=[0, 1, 2, 3, 4, 5, 6])
    make_exercise_plan(world.bea)  # no reminder days
    zoe = make_exercise_plan(world.zoe, reminder_days=[2])
    week = (utc(2026, 3, 2), utc(2026, 3, 9))
    assert len(slots(*week)) == 8
    assert {s.patient_id for s in slots(*week, patient_ids=[world.zoe.id])} == {world.zoe.id}
    assert slots(*week, patient_ids=[]) == []
    exercise_plan_update(actor=world.cora, plan=ann, status="stopped")
    exercise_plan_update(actor=world.zed, plan=zoe, reminder_days=[])
    assert slots(*week) == []


def test_queries_do_not_grow_with_plans(world: World) -> None:
    from tests.factories import PatientFactory

    make_exercise_plan(world.ann, reminder_days=[1])

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            slots(utc(2026, 3, 2), utc(2026, 3, 30))
        return len(ctx.captured_queries)

    small = count()
    for _ in range(5):
        make_exercise_plan(PatientFactory.create(organisation=world.org_a), reminder_days=[1, 4])
    assert ExercisePlan.objects.count() == 6
    assert count() == small
