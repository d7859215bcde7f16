"""Schedules over HTTP: catalogue defaults, DOMAIN D5 state shown live, who may write, occurrences across DST and
month ends, review status on change, and bad input refused with nothing written."""

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import Patient
from apps.medications.models import Medication, Schedule
from apps.medications.services import schedule_update
from tests.conftest import World
from tests.factories import make_schedule

LONDON = ZoneInfo("Europe/London")
TODAY = date(2026, 3, 2)  # a Monday, four weeks before the UK clocks go forward (2026-03-29)


def local_noon(patient: Patient, day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=ZoneInfo(patient.profile.timezone))


@pytest.fixture(autouse=True)
def _today() -> Iterator[None]:
    with time_machine.travel(datetime.combine(TODAY, time(12), tzinfo=LONDON), tick=False):
        yield


def med_id(code: str) -> str:
    return str(Medication.objects.get(code=code).id)


def schedules_url(patient: Patient, *rest: object) -> str:
    tail = "".join(f"{part}/" for part in rest)
    return f"/api/v1/patients/{patient.id}/schedules/{tail}"


def post_schedule(client, patient: Patient, **payload: Any):
    return client.post(schedules_url(patient), payload, format="json")


def errors(response) -> dict[str, list[str]]:
    body = response.json()
    assert body["error"]["code"] == "invalid", body
    return body["error"]["fields"]


# --- creating ------------------------------------------------------------------------------------------------
def test_alendronate_takes_dose_and_weekday_from_the_catalogue(world: World, client_for) -> None:
    response = post_schedule(
        client_for(world.cora), world.ann, medication=med_id("alendronate"), local_time="07:00", starts_on="2026-03-04"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["medication_code"] == "alendronate"
    assert body["dose"] == "70 mg"  # DOMAIN M1
    assert body["recurrence"] == {"unit": "week", "interval": 1, "weekday": 2, "month_day": None}  # Wed 4 March
    assert body["status"] == "active"
    assert body["review_status"] == "pending"
    assert body["next_due"] == "2026-03-04"
    assert datetime.fromisoformat(body["next_due_at"]) == datetime(2026, 3, 4, 7, tzinfo=UTC)
    assert body["injection_state"] is None
    assert body["days_overdue"] is None
    row = Schedule.objects.get(pk=body["id"])
    assert (row.patient_id, row.created_by_id, row.weekday, row.local_time) == (world.ann.id, world.cora.id, 2, time(7))


def test_monthly_ibandronate_on_the_31st(world: World, client_for) -> None:
    response = post_schedule(
        client_for(world.cora),
        world.ann,
        medication=med_id("ibandronate"),
        local_time="07:30",
        starts_on="2026-03-31",
        recurrence={"unit": "month", "month_day": 31},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["dose"] == "150 mg"  # DOMAIN M3
    assert body["recurrence"] == {"unit": "month", "interval": 1, "weekday": None, "month_day": 31}
    assert body["next_due"] == "2026-03-31"
    assert body["review_status"] == "pending"


def test_denosumab_is_six_monthly_due_on_its_start_and_its_state_is_live(world: World, client_for) -> None:
    client = client_for(world.cora)
    response = post_schedule(
        client, world.ann, medication=med_id("denosumab"), local_time="09:00", starts_on="2026-04-15"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["dose"] == "60 mg"  # DOMAIN M4
    assert body["recurrence"] == {"unit": "month", "interval": 6, "weekday": None, "month_day": 15}
    assert body["review_status"] == "pending"
    assert body["next_due"] == "2026-04-15"  # D1: no injection given yet, so the first one is due on the start date
    assert (body["injection_state"], body["days_overdue"]) == ("scheduled", 0)  # 44 days ahead
    assert Schedule.objects.get(pk=body["id"]).next_due_on == date(2026, 4, 15)
    detail = schedules_url(world.ann, body["id"])
    # No watch job runs in between: the API computes the D5 state from the patient's local date each time.
    for day, state, overdue in [
        (date(2026, 3, 18), "due_soon", 0),
        (date(2026, 4, 20), "due", 5),
        (date(2026, 5, 14), "late", 29),
        (date(2026, 8, 6), "critical", 113),
    ]:
        with time_machine.travel(local_noon(world.ann, day), tick=False):
            shown = client.get(detail).json()
        assert (shown["injection_state"], shown["days_overdue"], shown["next_due"]) == (state, overdue, "2026-04-15")


def test_denosumab_with_an_explicit_past_start_is_late_at_once(world: World, client_for) -> None:
    response = post_schedule(
        client_for(world.cora), world.ann, medication=med_id("denosumab"), local_time="09:00", starts_on="2026-01-01"
    )
    assert response.status_code == 201, response.content
    assert (response.json()["injection_state"], response.json()["days_overdue"]) == ("late", 60)


def test_denosumab_with_only_a_month_day_keeps_the_six_month_interval(world: World, client_for) -> None:
    response = post_schedule(
        client_for(world.cora),
        world.ann,
        medication=med_id("denosumab"),
        local_time="09:00",
        starts_on="2026-04-15",
        recurrence={"unit": "month", "month_day": 15},
    )
    assert response.status_code == 201, response.content
    assert response.json()["recurrence"]["interval"] == 6  # DOMAIN M4


# --- who may read and write ----------------------------------------------------------------------------------
def test_patient_reads_her_schedules_but_cannot_write_them(world: World, client_for) -> None:
    schedule = make_schedule(world.ann)
    client = client_for(world.ann.user)
    assert client.get(schedules_url(world.ann)).status_code == 200
    assert client.get(schedules_url(world.ann, schedule.id)).status_code == 200
    before = Schedule.objects.count()
    response = post_schedule(
        client, world.ann, medication=med_id("alendronate"), local_time="07:00", starts_on="2026-03-04"
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    response = client.patch(schedules_url(world.ann, schedule.id), {"local_time": "09:00"}, format="json")
    assert response.status_code == 403
    assert Schedule.objects.count() == before
    assert Schedule.objects.get(pk=schedule.id).local_time == time(7)


@pytest.mark.parametrize(("who", "expected"), [("phil", 201), ("admin", 201), ("cody", 404), ("zed", 404)])
def test_only_staff_in_scope_create(world: World, client_for, who: str, expected: int) -> None:
    response = post_schedule(
        client_for(getattr(world, who)),
        world.ann,
        medication=med_id("alendronate"),
        local_time="07:00",
        starts_on="2026-03-04",
    )
    assert response.status_code == expected, response.content
    assert Schedule.objects.filter(patient=world.ann).count() == (1 if expected == 201 else 0)


def test_list_and_detail(world: World, client_for) -> None:
    first = make_schedule(world.ann, starts_on=date(2026, 1, 5))
    second = make_schedule(world.ann, "letrozole", starts_on=date(2026, 2, 1))
    other = make_schedule(world.bea)
    client = client_for(world.cora)
    body = client.get(schedules_url(world.ann)).json()
    assert body["count"] == 2
    assert [row["id"] for row in body["results"]] == [str(first.id), str(second.id)]  # by start date
    assert {row["medication_code"] for row in body["results"]} == {"alendronate", "letrozole"}
    detail = client.get(schedules_url(world.ann, second.id)).json()
    assert (detail["id"], detail["dose"], detail["recurrence"]["unit"]) == (str(second.id), "2.5 mg", "day")
    assert detail["next_due"] == "2026-03-03"  # daily at 07:00, and 07:00 today has passed (it is noon)
    # Bea's schedule is not reachable through Ann's URL, nor is Bea herself for Ann's coordinator.
    assert client.get(schedules_url(world.ann, other.id)).status_code == 404
    assert client.get(schedules_url(world.bea)).status_code == 404


# --- occurrences ---------------------------------------------------------------------------------------------
def occurrences(client, patient: Patient, schedule: Schedule, **query: str):
    return client.get(schedules_url(patient, schedule.id, "occurrences"), query)


def test_weekly_occurrences_keep_local_time_across_the_uk_clock_change(world: World, client_for) -> None:
    schedule = make_schedule(world.ann, starts_on=date(2026, 3, 2), local_time=time(7))  # Mondays
    response = occurrences(
        client_for(world.ann.user), world.ann, schedule, **{"from": "2026-03-16", "to": "2026-04-06"}
    )
    assert response.status_code == 200, response.content
    rows = [(r["local_date"], r["local_time"][:5], datetime.fromisoformat(r["due_at"])) for r in response.json()]
    assert rows == [
        ("2026-03-16", "07:00", datetime(2026, 3, 16, 7, tzinfo=UTC)),  # GMT
        ("2026-03-23", "07:00", datetime(2026, 3, 23, 7, tzinfo=UTC)),
        ("2026-03-30", "07:00", datetime(2026, 3, 30, 6, tzinfo=UTC)),  # BST from 29 March: an hour earlier in UTC
        ("2026-04-06", "07:00", datetime(2026, 4, 6, 6, tzinfo=UTC)),
    ]


def test_monthly_day_31_clamps_to_each_month_end(world: World, client_for) -> None:
    schedule = make_schedule(world.ann, "ibandronate", starts_on=date(2026, 1, 31), month_day=31)
    response = occurrences(client_for(world.cora), world.ann, schedule, **{"from": "2026-01-01", "to": "2026-06-30"})
    assert response.status_code == 200, response.content
    assert [r["local_date"] for r in response.json()] == [
        "2026-01-31",
        "2026-02-28",
        "2026-03-31",
        "2026-04-30",
        "2026-05-31",
        "2026-06-30",
    ]


def test_a_year_long_window_is_accepted(world: World, client_for) -> None:
    schedule = make_schedule(world.ann, "ibandronate", starts_on=date(2026, 1, 31), month_day=31)
    response = occurrences(client_for(world.cora), world.ann, schedule, **{"from": "2026-01-01", "to": "2026-12-31"})
    assert response.status_code == 200, response.content
    assert len(response.json()) == 12


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2026-01-01", "to": "2027-01-03"}, "to"),  # more than a year
        ({"from": "2026-03-10", "to": "2026-03-09"}, "to"),  # backwards
        ({"to": "2026-03-09"}, "from"),
        ({"from": "2026-03-09"}, "to"),
        ({"from": "9 March", "to": "2026-03-20"}, "from"),
    ],
)
def test_bad_occurrence_windows_are_400(world: World, client_for, query: dict[str, str], field: str) -> None:
    schedule = make_schedule(world.ann)
    response = occurrences(client_for(world.cora), world.ann, schedule, **query)
    assert response.status_code == 400, response.content
    assert field in errors(response)


def test_occurrences_of_another_patients_schedule_are_404(world: World, client_for) -> None:
    schedule = make_schedule(world.bea)
    response = occurrences(
        client_for(world.ann.user), world.ann, schedule, **{"from": "2026-03-01", "to": "2026-03-31"}
    )
    assert response.status_code == 404


# --- changing ------------------------------------------------------------------------------------------------
def verified(patient: Patient, code: str = "alendronate", **changes: Any) -> Schedule:
    schedule = make_schedule(patient, code, **changes)
    Schedule.objects.filter(pk=schedule.pk).update(review_status="verified")
    return schedule


@pytest.mark.parametrize(
    "change",
    [
        {"local_time": "08:00"},
        {"dose": "35 mg"},
        {"recurrence": {"weekday": 3}},
        {"ends_on": "2026-12-31"},
    ],
)
def test_changing_what_or_when_sends_a_verified_schedule_back_to_review(world: World, client_for, change) -> None:
    schedule = verified(world.ann)
    response = client_for(world.cora).patch(schedules_url(world.ann, schedule.id), change, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["review_status"] == "pending"
    assert Schedule.objects.get(pk=schedule.id).review_status == "pending"


def test_weekday_change_moves_next_due(world: World, client_for) -> None:
    schedule = verified(world.ann)  # Mondays from 5 January
    response = client_for(world.cora).patch(
        schedules_url(world.ann, schedule.id), {"recurrence": {"weekday": 3}}, format="json"
    )
    assert response.status_code == 200, response.content
    assert (response.json()["recurrence"]["weekday"], response.json()["next_due"]) == (3, "2026-03-05")


@pytest.mark.parametrize(("before", "after"), [("active", "paused"), ("active", "stopped"), ("paused", "active")])
def test_a_status_change_sends_a_verified_schedule_back_to_review(
    world: World, client_for, before: str, after: str
) -> None:
    # API "Review": any later change to a verified schedule puts it back to pending, its status too.
    schedule = make_schedule(world.ann)
    if before != "active":
        schedule_update(actor=world.cora, schedule=schedule, status=before)
    Schedule.objects.filter(pk=schedule.pk).update(review_status="verified")
    response = client_for(world.cora).patch(schedules_url(world.ann, schedule.id), {"status": after}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["review_status"]) == (after, "pending")
    row = Schedule.objects.get(pk=schedule.id)
    assert (row.status, row.review_status) == (after, "pending")
    assert row.status_changed_at == datetime.combine(TODAY, time(12), tzinfo=LONDON)
    assert str(schedule.id) in {r["id"] for r in client_for(world.phil).get("/api/v1/reviews/").json()["results"]}


def test_patch_with_the_same_values_keeps_verified(world: World, client_for) -> None:
    schedule = verified(world.ann)
    response = client_for(world.cora).patch(
        schedules_url(world.ann, schedule.id), {"local_time": "07:00", "dose": "70 mg"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert Schedule.objects.get(pk=schedule.id).review_status == "verified"


def test_a_stopped_schedule_cannot_change(world: World, client_for) -> None:
    schedule = make_schedule(world.ann)
    client = client_for(world.cora)
    assert client.patch(schedules_url(world.ann, schedule.id), {"status": "stopped"}, format="json").status_code == 200
    for change in ({"local_time": "09:00"}, {"status": "active"}):
        response = client.patch(schedules_url(world.ann, schedule.id), change, format="json")
        assert response.status_code == 400, response.content
        assert "status" in errors(response)
    row = Schedule.objects.get(pk=schedule.id)
    assert (row.status, row.local_time) == ("stopped", time(7))


def test_a_bad_patch_writes_nothing(world: World, client_for) -> None:
    schedule = verified(world.ann, starts_on=date(2026, 3, 2))
    response = client_for(world.cora).patch(
        schedules_url(world.ann, schedule.id), {"local_time": "09:00", "ends_on": "2026-03-01"}, format="json"
    )
    assert response.status_code == 400, response.content
    assert "ends_on" in errors(response)
    row = Schedule.objects.get(pk=schedule.id)
    assert (row.local_time, row.ends_on, row.review_status) == (time(7), None, "verified")


# --- bad input -----------------------------------------------------------------------------------------------
BASE = {"local_time": "07:00", "starts_on": "2026-03-02"}


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        pytest.param({"medication": str(uuid.uuid4())}, {"medication"}, id="unknown-medication"),
        pytest.param({"medication": "alendronate"}, {"medication"}, id="medication-not-uuid"),
        pytest.param({"recurrence": {"unit": "year"}}, {"recurrence.unit"}, id="unit-year"),
        pytest.param({"recurrence": {"unit": "week", "interval": 0}}, {"recurrence.interval"}, id="interval-0"),
        pytest.param({"recurrence": {"unit": "week", "interval": 1000}}, {"recurrence.interval"}, id="interval-1000"),
        pytest.param(
            {"recurrence": {"unit": "week", "interval": 53}},
            {"recurrence.interval", "interval"},
            id="weekly-interval-53",
        ),
        pytest.param({"recurrence": {"unit": "week", "weekday": 7}}, {"recurrence.weekday"}, id="weekday-7"),
        pytest.param({"recurrence": {"unit": "month", "month_day": 0}}, {"recurrence.month_day"}, id="month-day-0"),
        pytest.param(
            {"recurrence": {"unit": "month", "month_day": 5, "weekday": 2}},
            {"recurrence.weekday", "weekday"},
            id="weekday-on-monthly",
        ),
        pytest.param({"ends_on": "2026-03-01"}, {"ends_on"}, id="ends-before-start"),
        pytest.param(
            {"recurrence": {"unit": "week", "weekday": 0}, "starts_on": "2026-03-03", "ends_on": "2026-03-07"},
            {"ends_on"},
            id="never-fires",
        ),
        pytest.param({"starts_on": "2027-03-05"}, {"starts_on"}, id="starts-over-a-year-ahead"),
        pytest.param({"local_time": "25:00"}, {"local_time"}, id="local-time-25"),
        pytest.param({"colour": "blue"}, {"colour"}, id="unknown-field"),
        pytest.param({"recurrence": {"unit": "week", "every": 2}}, {"recurrence.every"}, id="unknown-nested-field"),
    ],
)
def test_bad_input_is_400_naming_the_field_and_writes_nothing(
    world: World, client_for, payload: dict[str, Any], fields: set[str]
) -> None:
    body = {"medication": med_id("alendronate"), **BASE, **payload}
    before = Schedule.objects.count()
    response = client_for(world.cora).post(schedules_url(world.ann), body, format="json")
    assert response.status_code == 400, response.content
    named = set(errors(response))
    assert named & fields, named
    assert Schedule.objects.count() == before


def test_a_start_just_within_a_year_is_accepted(world: World, client_for) -> None:
    response = post_schedule(
        client_for(world.cora), world.ann, medication=med_id("alendronate"), local_time="07:00", starts_on="2027-03-03"
    )
    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    "recurrence",
    [{"unit": "month", "month_day": 5, "weekday": 2}, {"unit": "week", "interval": 53}],
    ids=["weekday-on-monthly", "weekly-interval-53"],
)
def test_service_recurrence_errors_use_the_nested_field_path(world: World, client_for, recurrence) -> None:
    body = {"medication": med_id("alendronate"), **BASE, "recurrence": recurrence}
    response = client_for(world.cora).post(schedules_url(world.ann), body, format="json")
    assert response.status_code == 400
    assert all(name.startswith("recurrence.") for name in errors(response)), errors(response)


# --- query counts --------------------------------------------------------------------------------------------
def list_queries(client, patient: Patient) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(schedules_url(patient))
    assert response.status_code == 200
    return len(ctx.captured_queries)


def grow(patient: Patient, n: int) -> None:
    codes = ["alendronate", "denosumab", "ibandronate", "letrozole"]
    for i in range(n):
        code = codes[i % len(codes)]
        make_schedule(patient, code, **({"month_day": 5} if code == "ibandronate" else {}))


def test_schedule_list_queries_do_not_grow(world: World, client_for) -> None:
    client = client_for(world.cora)
    grow(world.ann, 3)
    small = list_queries(client, world.ann)
    grow(world.ann, 9)
    assert Schedule.objects.filter(patient=world.ann).count() == 12
    assert list_queries(client, world.ann) == small
