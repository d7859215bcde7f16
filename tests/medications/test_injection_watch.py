"""The denosumab injection watch end to end: time travel over the D5 boundaries, alerts raised exactly once,
notices for the patient, a late-synced injection resolving alerts and moving the next due date (D2)."""

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

from apps.accounts.models import Patient
from apps.alerts.jobs import injection_watch
from apps.alerts.models import Alert, AlertState, Notice
from apps.medications.models import Medication, Schedule
from apps.medications.services import schedule_create, schedule_update
from tests.concurrency import at_once
from tests.conftest import World


def local_noon(patient: Patient, day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=ZoneInfo(patient.profile.timezone))


def denosumab(world: World, patient: Patient, starts_on: date) -> Schedule:
    return schedule_create(
        actor=world.cora,
        patient=patient,
        medication=Medication.objects.get(code="denosumab"),
        local_time=time(9, 0),
        starts_on=starts_on,
    )


def watch_on(patient: Patient, day: date):
    with time_machine.travel(local_noon(patient, day), tick=False):
        return injection_watch()


def kinds(patient: Patient) -> list[str]:
    return sorted(Alert.objects.filter(patient=patient).values_list("kind", flat=True))


@pytest.mark.parametrize(
    ("days_after_due", "expected_state", "expected_alerts"),
    [
        (-29, "scheduled", []),
        (-28, "due_soon", []),
        (0, "due", []),
        (6, "due", []),
        (7, "due", ["denosumab_due"]),
        (28, "due", ["denosumab_due"]),
        (29, "late", ["denosumab_due", "denosumab_late"]),
        (112, "late", ["denosumab_due", "denosumab_late"]),
        (113, "critical", ["denosumab_critical", "denosumab_due", "denosumab_late"]),
    ],
)
def test_d5_boundaries_with_daily_watch(world: World, client_for, days_after_due, expected_state, expected_alerts):
    due = date(2026, 3, 2)
    with time_machine.travel(local_noon(world.ann, due - timedelta(days=60)), tick=False):
        schedule = denosumab(world, world.ann, due)
    day = due - timedelta(days=60)
    while day <= due + timedelta(days=days_after_due):  # the beat job runs every day
        watch_on(world.ann, day)
        day += timedelta(days=1)
    schedule.refresh_from_db()
    assert schedule.injection_state == expected_state
    assert kinds(world.ann) == expected_alerts
    with time_machine.travel(local_noon(world.ann, due + timedelta(days=days_after_due)), tick=False):
        shown = client_for(world.cora).get(f"/api/v1/patients/{world.ann.id}/schedules/{schedule.id}/").json()
    assert shown["injection_state"] == expected_state
    assert shown["days_overdue"] == max(0, days_after_due)


def test_running_twice_raises_each_alert_once(world: World) -> None:
    due = date(2026, 3, 2)
    with time_machine.travel(local_noon(world.ann, due), tick=False):
        denosumab(world, world.ann, due)
    for _ in range(2):
        watch_on(world.ann, due + timedelta(days=40))
    assert kinds(world.ann) == ["denosumab_late"]  # jumped straight to late: one alert, raised once
    assert Notice.objects.filter(patient=world.ann, kind="denosumab_late").count() == 1


def test_late_synced_injection_resolves_alerts_and_moves_due_date(world: World, client_for) -> None:
    due = date(2026, 3, 2)
    with time_machine.travel(local_noon(world.ann, due), tick=False):
        schedule = denosumab(world, world.ann, due)
    watch_on(world.ann, due + timedelta(days=40))
    assert Alert.objects.get(patient=world.ann).state == AlertState.OPEN
    given = local_noon(world.ann, due + timedelta(days=33))  # given a week ago, synced today
    with time_machine.travel(local_noon(world.ann, due + timedelta(days=40)), tick=False):
        response = client_for(world.ann.user).post(
            f"/api/v1/patients/{world.ann.id}/doses/",
            {"id": str(uuid.uuid4()), "schedule": str(schedule.id), "taken_at": given.isoformat(), "site": "thigh"},
            format="json",
        )
        assert response.status_code == 201, response.content
        shown = client_for(world.cora).get(f"/api/v1/patients/{world.ann.id}/schedules/{schedule.id}/").json()
    alert = Alert.objects.get(patient=world.ann)
    assert alert.state == AlertState.RESOLVED
    assert "injection recorded" in alert.resolution_note
    assert shown["next_due"] == "2026-10-04"  # D2: 6 months from the late injection (2026-04-04), not the plan
    assert shown["injection_state"] == "scheduled"


def test_stopped_denosumab_without_follow_on_raises_stopped(world: World) -> None:
    with time_machine.travel(local_noon(world.ann, date(2026, 3, 2)), tick=False):
        schedule = denosumab(world, world.ann, date(2026, 6, 1))
        schedule_update(actor=world.cora, schedule=schedule, status="stopped")
        injection_watch()
    alert = Alert.objects.get(patient=world.ann)
    assert (alert.kind, alert.severity) == ("denosumab_stopped", "high")


def test_stopped_denosumab_with_follow_on_bisphosphonate_raises_nothing(world: World) -> None:
    with time_machine.travel(local_noon(world.ann, date(2026, 3, 2)), tick=False):
        schedule = denosumab(world, world.ann, date(2026, 6, 1))
        schedule_create(
            actor=world.cora,
            patient=world.ann,
            medication=Medication.objects.get(code="alendronate"),
            local_time=time(7),
            starts_on=date(2026, 3, 9),
        )
        schedule_update(actor=world.cora, schedule=schedule, status="stopped")
        injection_watch()
    assert not Alert.objects.filter(patient=world.ann).exists()


def test_auckland_and_los_angeles_get_their_own_local_days(world: World) -> None:
    world.ann.profile.timezone = "Pacific/Auckland"
    world.ann.profile.save()
    world.bea.profile.timezone = "America/Los_Angeles"
    world.bea.profile.save()
    due = date(2026, 7, 1)
    with time_machine.travel(datetime(2026, 5, 1, tzinfo=UTC), tick=False):
        denosumab(world, world.ann, due)
        denosumab(world, world.bea, due)
    # 2026-07-29 12:00 UTC: already 30 July (day 29, late) in Auckland, still 29 July (day 28, due) in LA.
    with time_machine.travel(datetime(2026, 7, 29, 12, tzinfo=UTC), tick=False):
        injection_watch()
    assert Schedule.objects.get(patient=world.ann).injection_state == "late"
    assert Schedule.objects.get(patient=world.bea).injection_state == "due"


def test_runjob_injection_watch_prints_what_it_did(world: World, capsys) -> None:
    with time_machine.travel(local_noon(world.ann, date(2026, 5, 1)), tick=False):
        denosumab(world, world.ann, date(2026, 1, 5))
        call_command("runjob", "injection_watch")
    out = capsys.readouterr().out
    assert '"transitions": 1' in out
    assert '"alerts_raised": 1' in out


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_watches_at_once_raise_one_alert(world: World) -> None:
    due = date(2026, 3, 2)
    with time_machine.travel(local_noon(world.ann, due), tick=False):
        denosumab(world, world.ann, due)
    reports = at_once(lambda: injection_watch(now=local_noon(world.ann, due + timedelta(days=50))))
    assert kinds(world.ann) == ["denosumab_late"]
    assert sum(r.alerts_raised for r in reports) == 1
    assert sum(r.transitions for r in reports) == 1
    assert not any(r.failed for r in reports)


def test_next_check_is_local_midnight_across_the_dst_change(world: World) -> None:
    """Due 2026-03-10 in London: due_soon began in GMT; the next boundary, day 7 (2026-03-17), and the late
    boundary, day 29 (2026-04-08, in BST), are checked at local midnight: 00:00Z then 23:00Z the day before."""
    due = date(2026, 3, 10)
    with time_machine.travel(local_noon(world.ann, due), tick=False):
        schedule = denosumab(world, world.ann, due)
    watch_on(world.ann, due)
    schedule.refresh_from_db()
    assert schedule.injection_state == "due"
    assert schedule.injection_next_check_at == datetime(2026, 3, 17, 0, 0, tzinfo=UTC)
    watch_on(world.ann, date(2026, 3, 17))
    schedule.refresh_from_db()
    assert schedule.injection_next_check_at == datetime(2026, 4, 7, 23, 0, tzinfo=UTC)  # 2026-04-08 00:00 BST
    # Nothing happens before that instant, and the transition happens at it.
    assert injection_watch(now=datetime(2026, 4, 7, 22, 59, tzinfo=UTC)).checked == 0
    report = injection_watch(now=datetime(2026, 4, 7, 23, 0, tzinfo=UTC))
    assert (report.transitions, report.alerts_raised) == (1, 1)
    assert kinds(world.ann) == ["denosumab_due", "denosumab_late"]


def test_month_end_injection_moves_due_to_the_last_day_of_february(world: World, client_for) -> None:
    with time_machine.travel(local_noon(world.ann, date(2026, 8, 31)), tick=False):
        schedule = denosumab(world, world.ann, date(2026, 8, 31))
        response = client_for(world.cora).post(
            f"/api/v1/patients/{world.ann.id}/doses/",
            {
                "id": str(uuid.uuid4()),
                "schedule": str(schedule.id),
                "source": "clinic",
                "taken_at": local_noon(world.ann, date(2026, 8, 31)).isoformat(),
            },
            format="json",
        )
        assert response.status_code == 201
        shown = client_for(world.cora).get(f"/api/v1/patients/{world.ann.id}/schedules/{schedule.id}/").json()
    assert shown["next_due"] == "2027-02-28"  # D1: +6 calendar months, clamped to the month end
    # 28 days before that due date (due_soon) falls on 2027-01-31, 29 days before is still scheduled.
    for day, state in [(date(2027, 1, 30), "scheduled"), (date(2027, 1, 31), "due_soon")]:
        with time_machine.travel(local_noon(world.ann, day), tick=False):
            got = client_for(world.cora).get(f"/api/v1/patients/{world.ann.id}/schedules/{schedule.id}/").json()
        assert got["injection_state"] == state, day


def test_one_bad_row_does_not_stop_the_watch(world: World) -> None:
    due = date(2026, 3, 2)
    with time_machine.travel(local_noon(world.ann, due), tick=False):
        broken = denosumab(world, world.bea, due)
        denosumab(world, world.ann, due)
    type(world.bea.profile).objects.filter(pk=world.bea.pk).update(timezone="Mars/Olympus")  # corrupt row
    report = watch_on(world.ann, due + timedelta(days=40))
    assert report.failed == [str(broken.id)]
    assert report.alerts_raised == 1
    assert kinds(world.ann) == ["denosumab_late"]
    broken.refresh_from_db()
    assert broken.injection_next_check_at is not None  # still due: nothing about it was lost


def test_zoledronic_acid_uses_the_same_watch_with_its_own_bands(world: World) -> None:
    due = date(2026, 3, 2)
    with time_machine.travel(local_noon(world.ann, due), tick=False):
        schedule_create(
            actor=world.cora,
            patient=world.ann,
            medication=Medication.objects.get(code="zoledronic_acid"),
            local_time=time(10),
            starts_on=due,
        )
    watch_on(world.ann, due + timedelta(days=40))  # late for denosumab, still "due" for zoledronic acid
    assert kinds(world.ann) == ["zoledronic_acid_due"]
    watch_on(world.ann, due + timedelta(days=57))
    assert kinds(world.ann) == ["zoledronic_acid_due", "zoledronic_acid_late"]
    late = Alert.objects.get(kind="zoledronic_acid_late")
    assert "rebound" not in late.message.lower()  # D3's rebound is denosumab's alone
