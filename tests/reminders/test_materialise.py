"""Materialising the rolling horizon: every source, no duplicates, kept current when a source changes."""

from datetime import UTC, date, datetime, time

import time_machine

from apps.medications.services import schedule_update
from apps.reminders.materialise import materialise
from apps.reminders.models import ReminderOccurrence
from tests.conftest import World
from tests.factories import make_schedule

NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)


def states(patient) -> dict[str, int]:
    out: dict[str, int] = {}
    for state in ReminderOccurrence.objects.filter(patient=patient).values_list("state", flat=True):
        out[state] = out.get(state, 0) + 1
    return out


def test_materialise_is_idempotent_and_covers_14_days(world: World) -> None:
    make_schedule(world.ann, "letrozole", starts_on=date(2026, 3, 1), local_time=time(8))
    weekly = make_schedule(world.ann, "alendronate", starts_on=date(2026, 3, 2), weekday=0, local_time=time(7))
    first = materialise(now=NOW, patient_ids=[world.ann.id])
    again = materialise(now=NOW, patient_ids=[world.ann.id])
    # 14 daily letrozole (21 Mar .. 3 Apr, 08:00 local) + 2 Mondays of alendronate (23 and 30 Mar) + 2 Mondays of
    # her weekly joint-pain check-in (she is on an aromatase inhibitor: issue 15).
    assert (first.created, again.created) == (18, 0)
    assert ReminderOccurrence.objects.filter(patient=world.ann).count() == 18
    assert ReminderOccurrence.objects.filter(patient=world.ann, source_kind="joint_pain_check_in").count() == 2
    dues = sorted(ReminderOccurrence.objects.filter(source_id=weekly.id).values_list("due_at", flat=True))
    # Mondays at 07:00 local: GMT on 23 March, BST on 30 March (06:00 UTC).
    assert dues == [datetime(2026, 3, 23, 7, tzinfo=UTC), datetime(2026, 3, 30, 6, tzinfo=UTC)]


def test_pausing_cancels_future_occurrences_and_resuming_restores_them(world: World) -> None:
    schedule = make_schedule(world.ann, "letrozole", starts_on=date(2026, 3, 1), local_time=time(8))
    materialise(now=NOW, patient_ids=[world.ann.id])
    with time_machine.travel(NOW, tick=False):
        schedule_update(actor=world.cora, schedule=schedule, status="paused")
    materialise(now=NOW, patient_ids=[world.ann.id])
    assert states(world.ann) == {"cancelled": 14, "pending": 2}  # her two weekly check-ins stay
    assert set(ReminderOccurrence.objects.filter(state="cancelled").values_list("reason", flat=True)) == {
        "its schedule or plan changed"
    }
    with time_machine.travel(NOW, tick=False):
        schedule_update(actor=world.cora, schedule=schedule, status="active")
    materialise(now=NOW, patient_ids=[world.ann.id])
    assert states(world.ann) == {"pending": 16}


def test_moving_the_time_replaces_the_occurrences(world: World) -> None:
    schedule = make_schedule(world.ann, "letrozole", starts_on=date(2026, 3, 1), local_time=time(8))
    materialise(now=NOW, patient_ids=[world.ann.id])
    with time_machine.travel(NOW, tick=False):
        schedule_update(actor=world.cora, schedule=schedule, local_time=time(9))
    materialise(now=NOW, patient_ids=[world.ann.id])
    assert states(world.ann) == {"cancelled": 14, "pending": 16}  # 14 letrozole and her 2 weekly check-ins
    pending = ReminderOccurrence.objects.filter(state="pending", source_kind="medication").values_list(
        "local_time", flat=True
    )
    assert set(pending) == {time(9)}


def test_reminder_list_endpoint_shows_upcoming_occurrences(world: World, client_for) -> None:
    make_schedule(world.ann, "letrozole", starts_on=date(2026, 3, 1), local_time=time(8))
    materialise(now=NOW, patient_ids=[world.ann.id])
    with time_machine.travel(NOW, tick=False):
        body = client_for(world.ann.user).get(f"/api/v1/patients/{world.ann.id}/reminders/").json()
        bad = client_for(world.ann.user).get(
            f"/api/v1/patients/{world.ann.id}/reminders/?from=2026-03-20&to=2026-06-01"
        )
    # Default window: her next 14 local days, 20 Mar .. 2 Apr; the horizon starts after 20 Mar 08:00 had passed:
    # 13 letrozole doses and her weekly joint-pain check-ins on Mondays 23 and 30 March.
    assert body["count"] == 15
    assert body["results"][0]["text_generic"] == "Time for your daily medicine"
    assert bad.status_code == 400 and "to" in bad.json()["error"]["fields"]
    assert client_for(world.zed).get(f"/api/v1/patients/{world.ann.id}/reminders/").status_code == 404
