"""A paused schedule's days are out of its PDC (DOMAIN P1, design): neither covered nor uncovered, not tracked. Paused
from her local date of the pause, active again from her local date of the resume. The API, the console's patient
page, the stored figure (patient list, adherence_below) and the low-adherence job agree. Her zone here is Chicago,
so her local date and the UTC date differ in the evening."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client

from apps.accounts.models import Patient
from apps.alerts.jobs import low_adherence_watch
from apps.alerts.models import Alert
from apps.medications.models import Schedule
from apps.medications.rules.adherence import paused_days, proportion_of_days_covered, tracked_days
from apps.medications.services import schedule_update
from apps.profiles.models import PatientProfile
from tests.conftest import World
from tests.factories import make_dose, make_schedule

CHICAGO = ZoneInfo("America/Chicago")  # UTC-5 in summer: 21:00 there is 02:00 UTC the next day
TODAY = date(2026, 6, 15)  # a Monday
NOW = datetime.combine(TODAY, time(12), tzinfo=CHICAGO)
STARTS = TODAY - timedelta(days=98)  # a Monday, before the 90-day window


def local(day: date, hour: int = 7, minute: int = 30) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=CHICAGO)


def ago(days: int) -> date:
    return TODAY - timedelta(days=days)


@pytest.fixture(autouse=True)
def _in_chicago(world: World) -> None:
    PatientProfile.objects.filter(patient=world.ann).update(timezone="America/Chicago")
    world.ann.refresh_from_db()


def set_status(world: World, schedule: Schedule, status: str, at: datetime) -> Schedule:
    with time_machine.travel(at, tick=False):
        return schedule_update(actor=world.cora, schedule=schedule, status=status)


def take(patient: Patient, schedule: Schedule, days: list[date], recorded: datetime) -> None:
    with time_machine.travel(recorded, tick=False):
        for day in days:
            make_dose(patient, schedule, taken_at=local(day))


def api_row(client, patient: Patient, schedule: Schedule, window: int = 90) -> dict:
    with time_machine.travel(NOW, tick=False):
        response = client.get(f"/api/v1/patients/{patient.id}/adherence/?window={window}")
    assert response.status_code == 200, response.content
    [row] = [r for r in response.json() if r["schedule"] == str(schedule.id)]
    return row


def adherence_alerts(patient: Patient) -> list[Alert]:
    return list(Alert.objects.filter(patient=patient, kind__in=("low_adherence", "ai_adherence_low")))


def weekly_alendronate(patient: Patient) -> Schedule:
    with time_machine.travel(local(STARTS, 6), tick=False):
        return make_schedule(patient, "alendronate", starts_on=STARTS)  # Mondays


def mondays(first: int, last: int) -> list[date]:
    """The Mondays from `first` days ago to `last` days ago (multiples of 7)."""
    return [ago(k) for k in range(first, last - 1, -7)]


def test_a_three_week_pause_then_resume_is_not_low_adherence(world: World, client_for) -> None:
    """Her doctor paused alendronate for dental work on Sunday evening (her date; Monday in UTC) and she resumed it
    three weeks later, on a Monday morning, taking every dose before and after. Counting the 22 paused days as
    missed gave 68 of 90 days (75.5%) and a low_adherence alert for nothing."""
    schedule = weekly_alendronate(world.ann)
    take(world.ann, schedule, mondays(98, 56), recorded=local(ago(50), 20))
    schedule = set_status(world, schedule, "paused", local(ago(50), 21))  # 02:00 UTC on Monday ago(49)
    schedule = set_status(world, schedule, "active", local(ago(28), 6, 30))
    assert schedule.pauses == [{"paused_on": str(ago(50)), "resumed_on": str(ago(28))}]
    take(world.ann, schedule, mondays(28, 0), recorded=NOW)

    row = api_row(client_for(world.cora), world.ann, schedule)
    # Window ago(89)..today less ago(50)..ago(29): 68 days, all covered (the dose of ago(91) covers ago(89..85)).
    assert (row["pdc"], row["days_covered"], row["days_in_window"], row["adherent"]) == ("1.000", 68, 68, True)
    assert (row["doses_expected"], row["doses_taken"]) == (10, 10)  # no Monday dose expected while paused
    assert row["tracked_days"] == 99 - 22

    with time_machine.travel(NOW, tick=False):
        report = low_adherence_watch()
    assert report.failed == [] and adherence_alerts(world.ann) == []
    schedule.refresh_from_db()
    assert (schedule.adherence_pdc, schedule.adherence_days) == (Decimal("1.000"), 68)  # the list's figure

    api = client_for(world.cora)
    console = Client()
    console.force_login(world.cora)
    with time_machine.travel(NOW, tick=False):
        below = api.get("/api/v1/patients/?adherence_below=0.8").json()["results"]
        listing = console.get("/console/patients/").content.decode()
        page = console.get(f"/console/patients/{world.ann.pk}/").content.decode()
    assert str(world.ann.pk) not in {r["id"] for r in below}
    assert '100.0%</span><br><small class="muted">over 68 days</small>' in listing
    assert 'data-window="90">100.0%' in page


def test_missed_doses_after_a_resume_still_count(world: World, client_for) -> None:
    """The pause hides only its own days: missing the two Mondays after the resume is still low adherence."""
    schedule = weekly_alendronate(world.ann)
    take(world.ann, schedule, mondays(98, 56), recorded=local(ago(50), 20))
    schedule = set_status(world, schedule, "paused", local(ago(50), 21))
    schedule = set_status(world, schedule, "active", local(ago(28), 6, 30))
    take(world.ann, schedule, [ago(14), ago(7), TODAY], recorded=NOW)
    row = api_row(client_for(world.cora), world.ann, schedule)
    assert (row["days_covered"], row["days_in_window"], row["pdc"]) == (54, 68, "0.794")
    with time_machine.travel(NOW, tick=False):
        low_adherence_watch()
    [alert] = adherence_alerts(world.ann)
    assert "54 of 68 days covered in the 68 days tracked in the last 90, paused days left out" in alert.message


def daily_letrozole(world: World, *, paused: date, resumed: date, missed: set[date]) -> Schedule:
    """Daily letrozole from 60 days ago, taken every unpaused day but `missed`, paused on `paused` (21:30, her date)
    and resumed on `resumed` (06:00); no dose while paused."""
    with time_machine.travel(local(ago(60), 6), tick=False):
        schedule = make_schedule(world.ann, "letrozole", starts_on=ago(60))
    days = [ago(k) for k in range(60, -1, -1)]
    take(world.ann, schedule, [d for d in days if d < paused and d not in missed], recorded=local(paused, 21))
    schedule = set_status(world, schedule, "paused", local(paused, 21, 30))
    if resumed > paused:
        schedule = set_status(world, schedule, "active", local(resumed, 6))
    take(world.ann, schedule, [d for d in days if d >= resumed and d not in missed], recorded=NOW)
    return schedule


@pytest.mark.parametrize(
    ("missed_day", "covered", "active"),
    [
        (None, 40, 40),
        (ago(31), 39, 40),  # the day before the pause counts
        (ago(30), 40, 40),  # the pause day is paused: a dose she did not take then is not missed (no dose anyway)
        (ago(10), 39, 40),  # the resume day counts: its dose is expected
        (ago(11), 40, 40),  # the last paused day does not
    ],
)
def test_paused_days_are_not_counted_on_both_boundaries(
    world: World, client_for, missed_day: date | None, covered: int, active: int
) -> None:
    # Paused ago(30)..ago(11) (20 days); the window is ago(59)..today, whose 60 days hold 40 active ones.
    schedule = daily_letrozole(world, paused=ago(30), resumed=ago(10), missed={missed_day} if missed_day else set())
    row = api_row(client_for(world.cora), world.ann, schedule, window=60)
    assert (row["days_covered"], row["days_in_window"]) == (covered, active)
    assert (row["doses_expected"], row["tracked_days"]) == (40, 61 - 20)


def test_a_pause_and_resume_on_the_same_day_leaves_out_nothing(world: World, client_for) -> None:
    with time_machine.travel(local(ago(60), 6), tick=False):
        schedule = make_schedule(world.ann, "letrozole", starts_on=ago(60))
    schedule = set_status(world, schedule, "paused", local(ago(20), 9))
    schedule = set_status(world, schedule, "active", local(ago(20), 21))
    assert schedule.pauses == [{"paused_on": str(ago(20)), "resumed_on": str(ago(20))}]
    take(world.ann, schedule, [ago(k) for k in range(60, -1, -1) if k != 20], recorded=NOW)
    row = api_row(client_for(world.cora), world.ann, schedule, window=60)
    assert (row["days_covered"], row["days_in_window"]) == (59, 60)  # its day counts, and it was missed


def test_a_schedule_still_paused_keeps_its_figure_and_raises_nothing(world: World, client_for) -> None:
    """Paused 20 days ago and still paused: the live figure is over the days before the pause (all covered, not
    diluted by the 20 paused days); nothing is stored for the list (not active) and no alert is raised."""
    schedule = weekly_alendronate(world.ann)
    take(world.ann, schedule, mondays(98, 21), recorded=local(ago(20), 20))
    schedule = set_status(world, schedule, "paused", local(ago(20), 21))
    assert schedule.pauses == [{"paused_on": str(ago(20)), "resumed_on": None}]
    row = api_row(client_for(world.cora), world.ann, schedule)
    assert (row["pdc"], row["days_covered"], row["days_in_window"]) == ("1.000", 70, 70)
    with time_machine.travel(NOW, tick=False):
        low_adherence_watch()
    assert adherence_alerts(world.ann) == []
    schedule.refresh_from_db()
    assert schedule.adherence_pdc is None


def test_a_dose_taken_during_a_pause_covers_the_days_after_it(world: World, client_for) -> None:
    """PQA carry-over runs through a pause: her Monday dose taken on the last paused day covers the week after the
    resume (Tuesday), as it would have without the pause."""
    schedule = weekly_alendronate(world.ann)
    take(world.ann, schedule, mondays(98, 56), recorded=local(ago(50), 20))
    schedule = set_status(world, schedule, "paused", local(ago(50), 21))
    take(world.ann, schedule, [ago(28)], recorded=local(ago(28), 8))  # Monday, still paused
    schedule = set_status(world, schedule, "active", local(ago(27), 6))
    assert schedule.pauses == [{"paused_on": str(ago(50)), "resumed_on": str(ago(27))}]
    take(world.ann, schedule, mondays(21, 0), recorded=NOW)
    row = api_row(client_for(world.cora), world.ann, schedule)
    # Active: 90 - 23 paused = 67 days, each covered (ago(27)..ago(22) by the dose of ago(28)).
    assert (row["pdc"], row["days_covered"], row["days_in_window"]) == ("1.000", 67, 67)


def test_stored_figure_is_refreshed_when_a_pause_starts_and_ends(world: World, client_for) -> None:
    schedule = weekly_alendronate(world.ann)
    take(world.ann, schedule, mondays(98, 56), recorded=local(ago(50), 20))
    with time_machine.travel(local(ago(50), 20, 30), tick=False):
        low_adherence_watch()  # judged: the next judgement is at her midnight
    schedule = set_status(world, schedule, "paused", local(ago(50), 21))
    schedule.refresh_from_db()
    assert schedule.adherence_pdc is None and schedule.adherence_judge_at == local(ago(50), 21)
    resumed_at = local(ago(28), 6, 30)
    schedule = set_status(world, schedule, "active", resumed_at)
    schedule.refresh_from_db()
    assert schedule.adherence_judge_at == resumed_at  # the job judges it on its next run
    with time_machine.travel(resumed_at, tick=False):
        live = client_for(world.cora).get(f"/api/v1/patients/{world.ann.id}/adherence/?window=90").json()
    [row] = live
    # Today (the resume day) is not covered yet, so not judged: the window ends the day before, all of it covered.
    assert row["pdc"] == "1.000" and schedule.adherence_pdc == Decimal("1.000")
    assert schedule.adherence_days == row["days_in_window"]


def test_stopping_a_paused_schedule_leaves_its_pause_open(world: World) -> None:
    schedule = weekly_alendronate(world.ann)
    schedule = set_status(world, schedule, "paused", local(ago(20), 21))
    schedule = set_status(world, schedule, "stopped", local(ago(5), 9))
    assert schedule.pauses == [{"paused_on": str(ago(20)), "resumed_on": None}]


# --- the pure rule ----------------------------------------------------------------------------------------------
D = date(2026, 3, 1)


def day(n: int) -> date:
    return D + timedelta(days=n)


def test_paused_days_run_from_the_pause_day_to_the_day_before_the_resume() -> None:
    assert paused_days([(day(3), day(6))], first=day(0), last=day(9)) == {day(3), day(4), day(5)}
    assert paused_days([(day(3), day(3))], first=day(0), last=day(9)) == frozenset()
    assert paused_days([(day(8), None)], first=day(0), last=day(9)) == {day(8), day(9)}
    assert paused_days([(day(-5), day(2))], first=day(0), last=day(9)) == {day(0), day(1)}


def test_rule_excludes_paused_days_and_coverage_carries_through_them() -> None:
    # Weekly doses on day 0 and day 1 (the second carries over: it covers days 7-13); paused days 5-9.
    result = proportion_of_days_covered(
        taken_on=[day(0), day(1)],
        cover_days=7,
        window_first=day(0),
        window_last=day(19),
        active_first=day(0),
        active_last=None,
        doses_expected=2,
        pauses=[(day(5), day(10))],
    )
    # Active: 20 - 5 = 15 days; covered: days 0-4 and 10-13 = 9 (days 5-9 are neither).
    assert (result.days_covered, result.days_in_window, str(result.pdc)) == (9, 15, "0.600")


def test_rule_with_the_whole_window_paused_has_no_pdc() -> None:
    with pytest.raises(ValueError, match="not active"):
        proportion_of_days_covered(
            taken_on=[],
            cover_days=1,
            window_first=day(0),
            window_last=day(9),
            active_first=day(0),
            active_last=None,
            doses_expected=0,
            pauses=[(day(-1), None)],
        )


def test_paused_days_are_not_tracked_days() -> None:
    assert tracked_days(tracked_since=day(0), today=day(19), active_last=None) == 20
    assert tracked_days(tracked_since=day(0), today=day(19), active_last=None, pauses=[(day(2), day(10))]) == 12


def test_the_migration_opens_the_pause_of_a_schedule_already_paused(world: World) -> None:
    """Schedules paused before pauses were recorded: their pause runs from her local date of the last status change
    (Sunday in Chicago, Monday in UTC)."""
    from importlib import import_module

    from django.apps import apps

    migration = import_module("apps.medications.migrations.0008_schedule_pauses")
    paused = set_status(world, weekly_alendronate(world.ann), "paused", local(ago(50), 21))
    active = weekly_alendronate(world.ann)
    Schedule.objects.update(pauses=[])
    migration.open_current_pauses(apps, None)
    paused.refresh_from_db()
    active.refresh_from_db()
    assert paused.pauses == [{"paused_on": str(ago(50)), "resumed_on": None}]
    assert active.pauses == []


def test_a_dose_taken_while_paused_is_not_counted_against_the_doses_expected() -> None:
    """Review: doses_taken and doses_expected are over the same (active) days; the paused-day dose still covers."""
    result = proportion_of_days_covered(
        taken_on=[day(0), day(7)],  # day 7 is inside the pause
        cover_days=7,
        window_first=day(0),
        window_last=day(19),
        active_first=day(0),
        active_last=None,
        doses_expected=2,
        pauses=[(day(5), day(10))],
    )
    assert (result.doses_taken, result.doses_expected) == (1, 2)
    # Days 0-4 and, from the paused-day dose carried on, 10-13: 9 of the 15 active days.
    assert (result.days_covered, result.days_in_window) == (9, 15)
