"""Reminders follow a supplement or exercise plan as soon as the change commits (not at the next 10-minute
refresh): a new plan's reminders appear, a moved time moves them, a stopped plan cancels them."""

from datetime import UTC, datetime, time

import time_machine

from apps.exercise.services import exercise_plan_create, exercise_plan_update
from apps.reminders.models import ReminderOccurrence
from apps.supplements.services import supplement_plan_update
from tests.conftest import World
from tests.supplements.factories import make_plan

NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)


def pending(kind: str) -> list[tuple[int, int]]:
    rows = ReminderOccurrence.objects.filter(source_kind=kind, state="pending").order_by("due_at")
    return sorted({(o.local_time.hour, o.local_time.minute) for o in rows})


@time_machine.travel(NOW, tick=False)
def test_a_supplement_plan_is_reminded_as_soon_as_it_commits_and_follows_its_times(
    world: World, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        plan = make_plan(world.ann)
    assert pending("supplement") == [(8, 0), (20, 0)]
    with django_capture_on_commit_callbacks(execute=True):
        supplement_plan_update(actor=world.ann.user, plan=plan, times_of_day=[time(9, 0)])
    assert pending("supplement") == [(9, 0)]
    assert ReminderOccurrence.objects.filter(source_kind="supplement", state="cancelled").exists()


@time_machine.travel(NOW, tick=False)
def test_an_exercise_plan_is_reminded_at_once_and_a_stopped_one_is_not(
    world: World, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        plan = exercise_plan_create(actor=world.cora, patient=world.ann, reminder_days=[0, 2, 4], local_time=time(18))
    assert pending("exercise") == [(18, 0)]
    with django_capture_on_commit_callbacks(execute=True):
        exercise_plan_update(actor=world.cora, plan=plan, status="stopped")
    assert pending("exercise") == []
