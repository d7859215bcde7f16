"""The daily nutrition summary over HTTP: totals against targets in her local day (a DST day too), the C2 and A2
warnings read from real dose records, the default and future dates, and a constant number of queries."""

import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.supplements.services import supplement_plan_update
from tests.conftest import World
from tests.factories import make_dose, make_schedule
from tests.supplements.conftest import errors, url
from tests.supplements.factories import in_zone, make_diet, make_intake, make_plan

LONDON = ZoneInfo("Europe/London")
LA = ZoneInfo("America/Los_Angeles")


@pytest.fixture(autouse=True)
def _now(frozen_now: datetime) -> None:
    pass


def daily(client, patient, day: date | None = None) -> dict:
    response = client.get(url(patient, "nutrition/daily"), {"date": day.isoformat()} if day else {})
    assert response.status_code == 200, response.content
    return response.json()


def test_an_empty_day_shows_the_domain_targets_and_nothing_logged(world: World, client_for) -> None:
    # Issue 11: a day with nothing logged is "not logged" (null, logged false), not 0 mg that missed the target.
    body = daily(client_for(world.ann.user), world.ann)
    assert body["date"] == "2026-03-12"  # her local today by default
    assert body["timezone"] == "Europe/London"
    assert body["calcium_mg"] == {
        "total": None,
        "target": "1200.00",
        "met": None,
        "target_source": "default",
        "logged": False,
        "diet": None,
        "supplements": None,
    }
    assert body["vitamin_d_iu"] == {
        "total": None,
        "target": "800.00",
        "met": None,
        "target_source": "default",
        "logged": False,
    }
    assert body["magnesium_mg"] == {
        "total": None,
        "target": None,
        "met": None,
        "target_source": "none",
        "logged": False,
    }
    assert body["vitamin_k2_mcg"]["target"] is None
    assert body["warnings"] == []


def test_one_part_logged_leaves_the_other_null(world: World, client_for) -> None:
    client = client_for(world.ann.user)
    response = client.post(
        url(world.ann, "dietary-calcium"),
        {"id": str(uuid.uuid4()), "date": "2026-03-12", "mg": "200"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = daily(client, world.ann)
    calcium = body["calcium_mg"]
    assert (calcium["total"], calcium["met"], calcium["logged"]) == ("200.00", False, True)
    assert (calcium["diet"], calcium["supplements"]) == ("200.00", None)
    assert (body["vitamin_d_iu"]["total"], body["vitamin_d_iu"]["logged"]) == (None, False)


def test_totals_from_diet_and_supplements(world: World, client_for) -> None:
    day = date(2026, 3, 12)
    make_diet(world.ann, day, 300)
    make_diet(world.ann, day, food="yogurt", mg=None)
    make_diet(world.ann, day - timedelta(days=1), 900)  # another day
    make_intake(world.ann, datetime(2026, 3, 12, 8, tzinfo=LONDON))
    make_intake(world.ann, datetime(2026, 3, 12, 8, tzinfo=LONDON), supplement="vitamin_d3", amount=20, unit="mcg")
    make_intake(world.ann, datetime(2026, 3, 12, 9, tzinfo=LONDON), supplement="magnesium", amount=250, unit="mg")
    body = daily(client_for(world.cora), world.ann, day)
    assert body["calcium_mg"]["diet"] == "550.00"
    assert body["calcium_mg"]["supplements"] == "500.00"
    assert (body["calcium_mg"]["total"], body["calcium_mg"]["met"]) == ("1050.00", False)
    assert (body["vitamin_d_iu"]["total"], body["vitamin_d_iu"]["met"]) == ("800.00", True)
    assert body["magnesium_mg"]["total"] == "250.00"


def test_a_clinicians_target_replaces_the_default(world: World, client_for) -> None:
    plan = make_plan(world.ann, actor=world.cora, daily_target=Decimal("1000"))
    make_diet(world.ann, date(2026, 3, 12), 500)
    make_intake(world.ann, datetime(2026, 3, 12, 8, tzinfo=LONDON))
    calcium = daily(client_for(world.ann.user), world.ann)["calcium_mg"]
    assert (calcium["target"], calcium["target_source"], calcium["met"]) == ("1000.00", "plan", True)
    # Stopped today: the plan no longer covers today, so the default is back.
    supplement_plan_update(actor=world.cora, plan=plan, status="stopped")
    calcium = daily(client_for(world.ann.user), world.ann)["calcium_mg"]
    assert (calcium["target"], calcium["target_source"], calcium["met"]) == ("1200.00", "default", False)


def test_a_future_or_malformed_date_is_400(world: World, client_for) -> None:
    client = client_for(world.ann.user)
    response = client.get(url(world.ann, "nutrition/daily"), {"date": "2026-03-13"})
    assert response.status_code == 400
    assert "date" in errors(response)
    assert "date" in errors(client.get(url(world.ann, "nutrition/daily"), {"date": "13/03/2026"}))
    # In Auckland it is already the 13th.
    in_zone(world.ann, "Pacific/Auckland")
    assert daily(client, world.ann)["date"] == "2026-03-13"


def test_a_dst_day_is_one_local_day(world: World, client_for) -> None:
    # 8 March 2026 in Los Angeles has 23 hours (02:00 PST -> 03:00 PDT).
    in_zone(world.ann, "America/Los_Angeles")
    inside = [
        datetime(2026, 3, 8, 0, 5, tzinfo=LA),  # 08:05 UTC
        datetime(2026, 3, 8, 3, 30, tzinfo=LA),  # just after the gap
        datetime(2026, 3, 8, 23, 30, tzinfo=LA),  # 06:30 UTC on the 9th
    ]
    outside = [datetime(2026, 3, 7, 23, 55, tzinfo=LA), datetime(2026, 3, 9, 0, 5, tzinfo=LA)]
    for at in inside + outside:
        make_intake(world.ann, at, amount=Decimal("100"))
    client = client_for(world.ann.user)
    assert daily(client, world.ann, date(2026, 3, 8))["calcium_mg"]["supplements"] == "300.00"
    assert daily(client, world.ann, date(2026, 3, 7))["calcium_mg"]["supplements"] == "100.00"
    assert daily(client, world.ann, date(2026, 3, 9))["calcium_mg"]["supplements"] == "100.00"


# --- warnings from real dose records -----------------------------------------------------------------------------
def test_a_single_calcium_intake_over_500_mg_warns(world: World, client_for) -> None:
    make_intake(world.ann, datetime(2026, 3, 12, 8, tzinfo=LONDON), supplement="calcium_carbonate", amount=600)
    make_intake(world.ann, datetime(2026, 3, 12, 11, tzinfo=LONDON), amount=500)
    warnings = daily(client_for(world.ann.user), world.ann)["warnings"]
    assert [(w["code"], w["rule"], w["severity"]) for w in warnings] == [("calcium_dose_over_500", "C2", "low")]
    assert "split it" in warnings[0]["message"]


@pytest.mark.parametrize(
    ("drug", "minutes_after", "warns"),
    [
        ("alendronate", 10, True),
        ("alendronate", 29, True),
        ("alendronate", 30, False),
        ("alendronate", -20, False),  # calcium before the dose is another matter (A1), not A2
        ("risedronate", 15, True),
        ("ibandronate", 45, True),
        ("ibandronate", 59, True),
        ("ibandronate", 60, False),
    ],
)
def test_calcium_too_soon_after_an_oral_bisphosphonate_warns(
    world: World, client_for, drug: str, minutes_after: int, warns: bool
) -> None:
    schedule = make_schedule(world.ann, drug, starts_on=date(2026, 1, 5))
    dose_at = datetime(2026, 3, 12, 7, 0, tzinfo=LONDON)
    make_dose(world.ann, schedule, taken_at=dose_at)
    intake = make_intake(world.ann, dose_at + timedelta(minutes=minutes_after))
    warnings = daily(client_for(world.phil), world.ann)["warnings"]
    codes = [w["code"] for w in warnings]
    if warns:
        assert codes == ["calcium_too_soon_after_bisphosphonate"]
        assert warnings[0]["rule"] == "A2"
        assert warnings[0]["intake_id"] == str(intake.id)
        gap = 60 if drug == "ibandronate" else 30
        assert f"at least {gap} minutes" in warnings[0]["message"]
        assert f"at {(dose_at + timedelta(minutes=minutes_after)):%H:%M}" in warnings[0]["message"]
    else:
        assert codes == []


def test_a_dose_of_another_day_or_a_skipped_dose_does_not_warn(world: World, client_for) -> None:
    schedule = make_schedule(world.ann, "alendronate")
    make_dose(world.ann, schedule, taken_at=datetime(2026, 3, 11, 23, 50, tzinfo=LONDON))
    letrozole = make_schedule(world.ann, "letrozole")  # not a bisphosphonate
    make_dose(world.ann, letrozole, taken_at=datetime(2026, 3, 12, 7, 0, tzinfo=LONDON))
    other = make_schedule(world.ann, "risedronate")
    make_dose(world.ann, other, taken_at=datetime(2026, 3, 12, 7, 0, tzinfo=LONDON), status="skipped")
    make_intake(world.ann, datetime(2026, 3, 12, 0, 5, tzinfo=LONDON))
    make_intake(world.ann, datetime(2026, 3, 12, 7, 10, tzinfo=LONDON))
    assert daily(client_for(world.ann.user), world.ann)["warnings"] == []


def test_the_a2_window_is_read_in_her_zone(world: World, client_for) -> None:
    # Auckland: alendronate on waking at 06:45 on 12 March local (17:45 UTC on the 11th), calcium at 07:00.
    in_zone(world.ann, "Pacific/Auckland")
    auckland = ZoneInfo("Pacific/Auckland")
    schedule = make_schedule(world.ann, "alendronate")
    make_dose(world.ann, schedule, taken_at=datetime(2026, 3, 12, 6, 45, tzinfo=auckland))
    make_intake(world.ann, datetime(2026, 3, 12, 7, 0, tzinfo=auckland))
    warnings = daily(client_for(world.ann.user), world.ann, date(2026, 3, 12))["warnings"]
    assert [w["code"] for w in warnings] == ["calcium_too_soon_after_bisphosphonate"]
    assert "Calcium at 07:00 came 15 minutes after alendronate at 06:45" in warnings[0]["message"]


# --- queries -----------------------------------------------------------------------------------------------------
def test_the_daily_summary_query_count_does_not_grow(world: World, client_for) -> None:
    client = client_for(world.cora)
    day = date(2026, 3, 12)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url(world.ann, "nutrition/daily"), {"date": day.isoformat()})
        assert response.status_code == 200
        return len(ctx.captured_queries)

    make_intake(world.ann, datetime(2026, 3, 12, 8, tzinfo=LONDON))
    small = count()
    for n in range(6):
        make_plan(world.ann, actor=world.cora, daily_target=Decimal(1000 + n), times_of_day=[time(8 + n, 0)])
        make_diet(world.ann, day, 100)
    schedule = make_schedule(world.ann, "alendronate")
    make_dose(world.ann, schedule, taken_at=datetime(2026, 3, 12, 7, 0, tzinfo=LONDON))
    ibandronate = make_schedule(world.ann, "ibandronate")
    make_dose(world.ann, ibandronate, taken_at=datetime(2026, 3, 12, 6, 0, tzinfo=LONDON))
    for minutes in range(15):
        make_intake(world.ann, datetime(2026, 3, 12, 7, minutes, tzinfo=LONDON), id=uuid.uuid4())
    large = count()
    assert large == small
    assert small <= 8


def test_daily_summary_works_across_midnight_utc_for_a_patient_behind_utc(world: World, client_for) -> None:
    # 20:00 in Los Angeles on 11 March is 03:00 UTC on the 12th: "today" for her is still the 11th.
    in_zone(world.ann, "America/Los_Angeles")
    with time_machine.travel(datetime(2026, 3, 12, 3, 0, tzinfo=ZoneInfo("UTC")), tick=False):
        make_intake(world.ann, datetime(2026, 3, 11, 19, 30, tzinfo=LA))
        body = daily(client_for(world.ann.user), world.ann)
    assert body["date"] == "2026-03-11"
    assert body["calcium_mg"]["supplements"] == "500.00"
