"""Weekly exercise progress over HTTP (DOMAIN E1-E3): her local ISO week (far-apart zones, a DST week), her plan's
targets or the defaults, the streak of weeks on target, bad weeks, roles and constant query counts."""

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import Patient
from tests.conftest import World
from tests.exercise.factories import make_exercise_plan, make_session, set_zone

NOW = datetime(2026, 4, 15, 12, tzinfo=UTC)  # Wednesday of 2026-W16 in London, Auckland and Los Angeles


@pytest.fixture(autouse=True)
def _now(frozen: Callable[[datetime], None]) -> None:
    frozen(NOW)


def weekly_url(patient: Patient, week: str | None = None) -> str:
    return f"/api/v1/patients/{patient.id}/exercise/weekly/" + (f"?week={week}" if week else "")


def weekly(client, patient: Patient, week: str | None = None) -> dict[str, Any]:
    response = client.get(weekly_url(patient, week))
    assert response.status_code == 200, response.content
    return response.json()


def progress(body: dict[str, Any]) -> tuple[int, int, int, bool]:
    return (body["weight_bearing_minutes"], body["resistance_days"], body["balance_sessions"], body["on_target"])


# --- the shape, defaults and plan targets ----------------------------------------------------------------------
def test_an_empty_week_against_the_domain_defaults(world: World, client_for) -> None:
    body = weekly(client_for(world.ann.user), world.ann)
    assert body == {
        "week": "2026-W16",
        "starts_on": "2026-04-13",
        "ends_on": "2026-04-19",
        "weight_bearing_minutes": 0,
        "weight_bearing_minutes_target": 150,  # DOMAIN E1
        "weight_bearing_met": False,
        "resistance_days": 0,
        "resistance_days_target": 2,  # DOMAIN E2
        "resistance_met": False,
        "balance_sessions": 0,
        "balance_sessions_target": 2,  # DOMAIN E3
        "balance_met": False,
        "on_target": False,
        "streak_weeks": 0,
        "plan": None,
        "logged": False,  # issue 11: these zeros are "not logged", not "none done"
    }


def test_progress_counts_minutes_days_and_sessions(world: World, client_for) -> None:
    make_session(world.ann, "weight_bearing", 100, datetime(2026, 4, 13, 8))
    make_session(world.ann, "weight_bearing", 60, datetime(2026, 4, 14, 8))
    make_session(world.ann, "resistance", 20, datetime(2026, 4, 13, 18))
    make_session(world.ann, "resistance", 20, datetime(2026, 4, 13, 19))  # the same day: still one day (E2)
    make_session(world.ann, "balance", 15, datetime(2026, 4, 14, 19))
    make_session(world.ann, "weight_bearing", 300, datetime(2026, 4, 12, 8))  # Sunday before: last week
    make_session(world.bea, "balance", 15, datetime(2026, 4, 14, 19))
    body = weekly(client_for(world.cora), world.ann)
    assert progress(body) == (160, 1, 1, False)
    assert (body["weight_bearing_met"], body["resistance_met"], body["balance_met"]) == (True, False, False)


def test_the_active_plans_targets_count(world: World, client_for) -> None:
    plan = make_exercise_plan(
        world.ann, world.cora, weight_bearing_minutes_target=60, resistance_days_target=1, balance_sessions_target=0
    )
    make_session(world.ann, "weight_bearing", 60, datetime(2026, 4, 13, 8))
    make_session(world.ann, "resistance", 20, datetime(2026, 4, 14, 8))
    body = weekly(client_for(world.ann.user), world.ann)
    assert (body["weight_bearing_minutes_target"], body["resistance_days_target"], body["balance_sessions_target"]) == (
        60,
        1,
        0,
    )
    assert body["on_target"] is True
    assert body["plan"] == str(plan.id)
    assert body["streak_weeks"] == 1


# --- local weeks -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("zone", ["Pacific/Auckland", "America/Los_Angeles", "Europe/London"])
def test_sunday_2330_local_counts_in_that_week(world: World, client_for, zone: str) -> None:
    set_zone(world.ann, zone)
    make_session(world.ann, "weight_bearing", 45, datetime(2026, 4, 12, 23, 30))  # Sunday of week 15
    make_session(world.ann, "weight_bearing", 30, datetime(2026, 4, 13, 0, 30))  # Monday of week 16
    make_session(world.ann, "weight_bearing", 20, datetime(2026, 4, 5, 23, 59))  # Sunday of week 14
    client = client_for(world.ann.user)
    assert weekly(client, world.ann, "2026-W15")["weight_bearing_minutes"] == 45
    assert weekly(client, world.ann, "2026-W16")["weight_bearing_minutes"] == 30
    assert weekly(client, world.ann)["weight_bearing_minutes"] == 30


@pytest.mark.parametrize(
    ("zone", "now", "week"),
    [
        # 23:30 UTC on Sunday 19 April: already Monday 20 April (week 17) in Auckland ...
        ("Pacific/Auckland", datetime(2026, 4, 19, 23, 30, tzinfo=UTC), "2026-W17"),
        ("Europe/London", datetime(2026, 4, 19, 23, 30, tzinfo=UTC), "2026-W17"),  # 00:30 BST Monday
        # ... and 06:00 UTC on Monday 20 April still Sunday evening (week 16) in Los Angeles.
        ("America/Los_Angeles", datetime(2026, 4, 20, 6, 0, tzinfo=UTC), "2026-W16"),
        ("Pacific/Auckland", datetime(2026, 4, 20, 6, 0, tzinfo=UTC), "2026-W17"),
    ],
)
def test_the_default_week_is_her_current_local_week(
    world: World, client_for, frozen, zone: str, now: datetime, week: str
) -> None:
    set_zone(world.ann, zone)
    frozen(now)
    assert weekly(client_for(world.ann.user), world.ann)["week"] == week


def test_a_dst_week_in_london(world: World, client_for) -> None:
    """Week 13 of 2026 (23-29 March) has six 24-hour days and a 23-hour Sunday (clocks go forward at 01:00 UTC)."""
    make_session(world.ann, "weight_bearing", 40, datetime(2026, 3, 23, 0, 5))  # Monday 00:05 GMT
    make_session(world.ann, "weight_bearing", 50, datetime(2026, 3, 29, 0, 30))  # Sunday, before the change
    make_session(world.ann, "weight_bearing", 60, datetime(2026, 3, 29, 23, 30))  # Sunday 23:30 BST = 22:30 UTC
    make_session(world.ann, "weight_bearing", 70, datetime(2026, 3, 22, 23, 59))  # Sunday before: week 12
    make_session(world.ann, "weight_bearing", 80, datetime(2026, 3, 30, 0, 0))  # Monday 00:00 BST: week 14
    client = client_for(world.ann.user)
    assert weekly(client, world.ann, "2026-W13")["weight_bearing_minutes"] == 150
    assert weekly(client, world.ann, "2026-W12")["weight_bearing_minutes"] == 70
    assert weekly(client, world.ann, "2026-W14")["weight_bearing_minutes"] == 80


def test_a_late_synced_session_counts_in_the_week_it_was_done(world: World, client_for) -> None:
    make_session(world.ann, "balance", 20, datetime(2026, 4, 11, 10))  # Saturday of week 15, synced days later
    assert weekly(client_for(world.ann.user), world.ann, "2026-W15")["balance_sessions"] == 1


# --- the streak ------------------------------------------------------------------------------------------------
def test_the_streak(world: World, client_for, on_target_week) -> None:
    # Weeks 10 and 11 on target, week 12 missed, weeks 13, 14 (its Sunday in BST) and 15 on target.
    for monday in (date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 23), date(2026, 3, 30), date(2026, 4, 6)):
        on_target_week(world.ann, monday)
    make_session(world.ann, "weight_bearing", 140, datetime(2026, 3, 16, 8))  # week 12: 10 minutes short
    client = client_for(world.cora)
    # The current week is under way and not yet on target: the streak that ended last week still stands.
    body = weekly(client, world.ann)
    assert (body["week"], body["on_target"], body["streak_weeks"]) == ("2026-W16", False, 3)
    assert weekly(client, world.ann, "2026-W15")["streak_weeks"] == 3
    assert weekly(client, world.ann, "2026-W14")["streak_weeks"] == 2
    assert weekly(client, world.ann, "2026-W12")["streak_weeks"] == 0
    assert weekly(client, world.ann, "2026-W11")["streak_weeks"] == 2
    # Once this week is on target too (by Wednesday morning), it extends the streak.
    make_session(world.ann, "weight_bearing", 150, datetime(2026, 4, 13, 8))
    make_session(world.ann, "resistance", 20, datetime(2026, 4, 13, 18))
    make_session(world.ann, "resistance", 20, datetime(2026, 4, 14, 18))
    make_session(world.ann, "balance", 15, datetime(2026, 4, 14, 19))
    assert weekly(client, world.ann)["streak_weeks"] == 3
    make_session(world.ann, "balance", 15, datetime(2026, 4, 15, 9))
    body = weekly(client, world.ann)
    assert (body["on_target"], body["streak_weeks"]) == (True, 4)


def test_a_finished_week_off_target_breaks_the_streak(world: World, client_for, frozen, on_target_week) -> None:
    on_target_week(world.ann, date(2026, 3, 30))  # week 14; week 15 missed
    frozen(datetime(2026, 4, 13, 8, tzinfo=UTC))  # Monday of week 16
    assert weekly(client_for(world.ann.user), world.ann)["streak_weeks"] == 0
    assert weekly(client_for(world.ann.user), world.ann, "2026-W14")["streak_weeks"] == 1


# --- bad weeks -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("week", "message"),
    [
        ("2026-W54", "2026 has weeks 01 to 53."),
        ("2025-W53", "2025 has weeks 01 to 52."),
        ("2026-W00", "2026 has weeks 01 to 53."),
        ("2026-16", "Use the ISO week form YYYY-Www, e.g. 2026-W05."),
        ("16", "Use the ISO week form YYYY-Www, e.g. 2026-W05."),
        ("1066-W40", "The year must be 1900 to 2999."),
        ("2026-W17", "Week 2026-W17 has not begun in her time zone."),
        ("2026-W53", "Week 2026-W53 has not begun in her time zone."),
    ],
)
def test_a_bad_week_is_400_naming_it(world: World, client_for, week: str, message: str) -> None:
    response = client_for(world.ann.user).get(weekly_url(world.ann, week))
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid",
        "message": "Invalid input: week.",
        "fields": {"week": [message]},
    }


def test_week_53_of_2026(world: World, client_for, frozen) -> None:
    frozen(datetime(2027, 1, 2, 12, tzinfo=UTC))  # Saturday of 2026-W53
    make_session(world.ann, "weight_bearing", 30, datetime(2026, 12, 31, 10))
    make_session(world.ann, "weight_bearing", 30, datetime(2027, 1, 2, 10))
    body = weekly(client_for(world.ann.user), world.ann)
    assert (body["week"], body["starts_on"], body["ends_on"], body["weight_bearing_minutes"]) == (
        "2026-W53",
        "2026-12-28",
        "2027-01-03",
        60,
    )


# --- roles and queries -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("who", "status"), [("ann", 200), ("cora", 200), ("phil", 200), ("admin", 200)])
def test_in_scope_reads(world: World, client_for, who: str, status: int) -> None:
    actor = world.ann.user if who == "ann" else getattr(world, who)
    assert client_for(actor).get(weekly_url(world.ann)).status_code == status


@pytest.mark.parametrize("who", ["bea", "cody", "zed", "pia"])
def test_out_of_scope_is_404(world: World, client_for, who: str) -> None:
    actor = world.bea.user if who == "bea" else getattr(world, who)
    response = client_for(actor).get(weekly_url(world.ann, "2026-W15"))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_staff_reads_are_audited(world: World, client_for) -> None:
    from backend.models import AuditEvent

    weekly(client_for(world.phil), world.ann)
    assert AuditEvent.objects.filter(
        actor=world.phil, patient_id=world.ann.id, resource="exercise_weekly", action="read"
    ).exists()


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_queries_do_not_grow_with_weeks_of_sessions(world: World, client_for, on_target_week) -> None:
    client = client_for(world.cora)
    make_exercise_plan(world.ann)
    on_target_week(world.ann, date(2026, 4, 6))
    small = count_queries(client, weekly_url(world.ann))
    small_past = count_queries(client, weekly_url(world.ann, "2026-W15"))
    monday = date(2026, 4, 6)
    for weeks_back in range(1, 20):
        on_target_week(world.ann, monday - timedelta(weeks=weeks_back))
    assert weekly(client, world.ann)["streak_weeks"] == 20
    assert count_queries(client, weekly_url(world.ann)) == small
    assert count_queries(client, weekly_url(world.ann, "2026-W15")) == small_past
    assert small <= 6  # patient, profile, plan, one aggregate, audit
