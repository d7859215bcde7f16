"""GET /patients/{id}/adherence/?window=: PDC per schedule (DOMAIN P1, P2) through the API."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from apps.accounts.models import Patient
from apps.medications.models import Schedule
from tests.conftest import World
from tests.factories import make_dose, make_schedule

LONDON = ZoneInfo("Europe/London")  # the factories' patient zone
TODAY = date(2026, 6, 15)  # a Monday
NOW = datetime.combine(TODAY, time(12), tzinfo=LONDON)


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


def local(day: date, hour: int = 7, minute: int = 30) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON)


def schedule_with_doses(
    patient: Patient, code: str, starts: date, step: int, skip: frozenset[int] | set[int] = frozenset()
) -> Schedule:
    """A schedule from `starts`, with a dose taken every `step` days up to today except the `skip`-th ones."""
    schedule = make_schedule(patient, code, starts_on=starts)
    k, day = 0, starts
    while day <= TODAY:
        if k not in skip:
            make_dose(patient, schedule, taken_at=local(day))
        k, day = k + 1, day + timedelta(days=step)
    return schedule


def adherence(client, patient: Patient, query: str = "?window=90"):
    return client.get(f"/api/v1/patients/{patient.id}/adherence/{query}")


def row_for(rows: list[dict], schedule: Schedule) -> dict:
    [row] = [r for r in rows if r["schedule"] == str(schedule.id)]
    return row


def test_weekly_alendronate_every_dose_taken(world: World, client_for) -> None:
    # Mondays from TODAY-98: the 90-day window (TODAY-89..TODAY) holds the 13 Mondays TODAY-84..TODAY, and the dose
    # of TODAY-91 covers its first five days (DOMAIN P2: a weekly dose covers 7 days).
    schedule = schedule_with_doses(world.ann, "alendronate", TODAY - timedelta(days=98), 7)
    response = adherence(client_for(world.cora), world.ann)
    assert response.status_code == 200, response.content
    row = row_for(response.json(), schedule)
    assert row == {
        "schedule": str(schedule.id),
        "medication_code": "alendronate",
        "pdc": "1.000",
        "days_covered": 90,
        "days_in_window": 90,
        "doses_expected": 13,
        "doses_taken": 13,
        "adherent": True,
        "tracked_since": str(TODAY - timedelta(days=98)),  # entered today, doses recorded since the start
        "tracked_days": 99,
    }


def test_default_window_is_90_days(world: World, client_for) -> None:
    schedule_with_doses(world.ann, "alendronate", TODAY - timedelta(days=98), 7)
    [row] = adherence(client_for(world.ann.user), world.ann, "").json()
    assert (row["days_in_window"], row["doses_expected"]) == (90, 13)


def test_weekly_alendronate_missing_4_of_13_is_not_adherent(world: World, client_for) -> None:
    # Doses k=2..14 fall in the window; skipping k=4, 7, 10, 13 leaves 4 weeks (28 days) uncovered: 62 / 90
    # = 0.6889, truncated (never rounded up).
    schedule = schedule_with_doses(world.ann, "alendronate", TODAY - timedelta(days=98), 7, skip={4, 7, 10, 13})
    row = row_for(adherence(client_for(world.cora), world.ann).json(), schedule)
    assert (row["pdc"], row["days_covered"], row["doses_expected"], row["doses_taken"]) == ("0.688", 62, 13, 9)
    assert row["adherent"] is False


def test_daily_letrozole_at_the_80_percent_boundary(world: World, client_for) -> None:
    # Daily from TODAY-39; window 30 days (TODAY-29..TODAY). Doses before the window cover only their own day.
    skip_in_window = {10 + i for i in range(0, 30, 5)}  # 6 of the 30 window days missed: 24 / 30 = 0.800
    schedule = schedule_with_doses(world.ann, "letrozole", TODAY - timedelta(days=39), 1, skip=skip_in_window)
    row = row_for(adherence(client_for(world.cora), world.ann, "?window=30").json(), schedule)
    assert (row["pdc"], row["days_covered"], row["days_in_window"]) == ("0.800", 24, 30)
    assert (row["doses_expected"], row["doses_taken"]) == (30, 24)
    assert row["adherent"] is True  # DOMAIN P1: >= 80%
    # One more miss: below the line.
    other = schedule_with_doses(world.bea, "letrozole", TODAY - timedelta(days=39), 1, skip={*skip_in_window, 11})
    row = row_for(adherence(client_for(world.phil), world.bea, "?window=30").json(), other)
    assert (row["pdc"], row["adherent"]) == ("0.766", False)  # 23 / 30 truncated


def test_young_schedule_has_no_pdc_until_14_tracked_days(world: World, client_for) -> None:
    # Started (and tracked since) 12 days before today: 13 tracked days, no PDC yet; a day later, 14: measured.
    schedule = schedule_with_doses(world.ann, "alendronate", TODAY - timedelta(days=12), 7)
    row = row_for(adherence(client_for(world.cora), world.ann).json(), schedule)
    assert (row["days_in_window"], row["doses_expected"], row["doses_taken"], row["days_covered"]) == (13, 2, 2, 13)
    assert (row["tracked_days"], row["pdc"], row["adherent"]) == (13, None, None)
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        row = row_for(adherence(client_for(world.cora), world.ann).json(), schedule)
    assert (row["tracked_days"], row["days_in_window"], row["days_covered"]) == (14, 14, 14)
    assert (row["pdc"], row["adherent"]) == ("1.000", True)


def test_a_schedule_not_started_yet_is_not_listed(world: World, client_for) -> None:
    running = schedule_with_doses(world.ann, "alendronate", TODAY - timedelta(days=98), 7)
    make_schedule(world.ann, "letrozole", starts_on=TODAY + timedelta(days=10))
    rows = adherence(client_for(world.cora), world.ann).json()
    assert [r["schedule"] for r in rows] == [str(running.id)]


def test_a_dose_synced_late_counts_on_the_day_it_was_taken(world: World, client_for) -> None:
    schedule = make_schedule(world.ann, "alendronate", starts_on=TODAY - timedelta(days=14))
    make_dose(world.ann, schedule, taken_at=local(TODAY - timedelta(days=14)))  # recorded now, taken 14 days ago
    row = row_for(adherence(client_for(world.cora), world.ann).json(), schedule)
    # Today's dose is still to come: the window ends yesterday (14 days), 7 of them covered.
    assert (row["days_in_window"], row["days_covered"], row["pdc"]) == (14, 7, "0.500")


@pytest.mark.parametrize(
    "query", ["?window=5", "?window=6", "?window=abc", "?window=731", "?window=-90", "?window=9.5"]
)
def test_bad_window_is_400(world: World, client_for, query: str) -> None:
    response = adherence(client_for(world.cora), world.ann, query)
    assert response.status_code == 400
    assert "window" in response.json()["error"]["fields"]


@pytest.mark.parametrize("query", ["?window=7", "?window=730"])
def test_window_limits_are_accepted(world: World, client_for, query: str) -> None:
    schedule_with_doses(world.ann, "alendronate", TODAY - timedelta(days=98), 7)
    assert adherence(client_for(world.cora), world.ann, query).status_code == 200


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("ann", 200),
        ("cora", 200),
        ("phil", 200),
        ("admin", 200),
        ("bea", 404),
        ("cody", 404),
        ("zed", 404),
        ("pia", 404),
    ],
)
def test_adherence_is_in_scope_only(world: World, client_for, who: str, status: int) -> None:
    schedule_with_doses(world.ann, "alendronate", TODAY - timedelta(days=20), 7)
    user = getattr(world, who)
    user = user.user if isinstance(user, Patient) else user
    response = adherence(client_for(user), world.ann)
    assert response.status_code == status
    if status == 200:
        assert len(response.json()) == 1
