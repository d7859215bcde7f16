"""Every date a client sends lies between 1900-01-01 and ten years after today (issue 12, backend.dates): year 1 or
9999 is a 400 naming the field in REST bodies, query windows and sync pushes alike, never a 500 (`?from=9999-12-30`
overflowed) and never stored. The schema walk below finds every request field that takes a date, so a new one cannot
slip in as a plain DRF DateField."""

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from rest_framework import serializers

from apps.medications.models import DoseRecord, Schedule
from apps.profiles.models import BoneDensityResult, LabResult
from apps.supplements.models import DietaryCalciumEntry, SupplementPlan
from backend.serializers import BoundedDateField
from tests.api.schema_walk import request_fields
from tests.conftest import World
from tests.factories import make_schedule

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
LATEST = date(2036, 12, 1)  # ten years after today
TOO_LATE = "Must be no later than 2036-12-01 (10 years ahead)."
TOO_EARLY = "Must be on or after 1900-01-01."


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def url(world: World, path: str) -> str:
    return f"/api/v1/patients/{world.ann.id}/{path}/"


def refused(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"]["code"] == "invalid", body
    fields: dict[str, list[str]] = body["error"]["fields"]
    return fields


# --- query windows -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        pytest.param({"from": "9999-12-30"}, "from", TOO_LATE, id="from_9999"),  # was a 500 (OverflowError)
        pytest.param({"from": "2036-12-02"}, "from", TOO_LATE, id="from_a_day_past"),
        pytest.param({"from": "0001-01-01", "to": "0001-01-02"}, "from", TOO_EARLY, id="from_year_1"),
        pytest.param({"from": "1899-12-31"}, "from", TOO_EARLY, id="from_a_day_before"),
        pytest.param({"from": "2036-11-25", "to": "2036-12-02"}, "to", TOO_LATE, id="to_a_day_past"),
    ],
)
def test_reminder_windows_outside_the_bounds_are_a_400_naming_the_field(
    world: World, client_for, query: dict[str, str], field: str, message: str
) -> None:
    response = client_for(world.ann.user).get(url(world, "reminders"), query)
    assert refused(response)[field] == [message]


@pytest.mark.parametrize(
    "query",
    [{"from": "1900-01-01"}, {"from": "2036-11-25", "to": "2036-12-01"}],
    ids=["first_day", "last_day"],
)
def test_reminder_windows_on_the_bounds_are_answered(world: World, client_for, query: dict[str, str]) -> None:
    assert client_for(world.ann.user).get(url(world, "reminders"), query).status_code == 200


def test_schedule_occurrence_windows_are_bounded(world: World, client_for) -> None:
    schedule = make_schedule(world.ann)
    path = f"{url(world, 'schedules')}{schedule.id}/occurrences/"
    response = client_for(world.cora).get(path, {"from": "9999-01-01", "to": "9999-12-31"})
    assert set(refused(response)) == {"from", "to"}
    assert client_for(world.cora).get(path, {"from": "2036-01-01", "to": "2036-12-01"}).status_code == 200


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_daily_nutrition_and_supplement_day_are_bounded(world: World, client_for, day: str) -> None:
    client = client_for(world.ann.user)
    assert "date" in refused(client.get(url(world, "nutrition/daily"), {"date": day}))


# --- bodies ------------------------------------------------------------------------------------------------------
def _schedule(world: World, client: Any, day: str) -> Any:
    body = {
        "medication": str(Schedule.objects.get(patient=world.ann).medication_id),
        "dose": "2.5 mg",
        "recurrence": {"unit": "day"},
        "local_time": "09:00",
        "starts_on": "2026-11-01",
        "ends_on": day,
    }
    return client.post(url(world, "schedules"), body, format="json")


def _plan(world: World, client: Any, day: str) -> Any:
    body = {"supplement": "calcium_citrate", "amount": "500", "unit": "mg", "times_of_day": ["08:00"], "ends_on": day}
    return client.post(url(world, "supplement-plans"), body, format="json")


def _dxa(world: World, client: Any, day: str) -> Any:
    return client.post(
        url(world, "bone-density"), {"measured_on": day, "site": "lumbar_spine", "t_score": "-1.2"}, format="json"
    )


def _diet(world: World, client: Any, day: str) -> Any:
    return client.post(
        url(world, "dietary-calcium"), {"id": str(uuid.uuid4()), "date": day, "mg": "250"}, format="json"
    )


def _dose(world: World, client: Any, day: str) -> Any:
    schedule = Schedule.objects.get(patient=world.ann)
    body = {
        "id": str(uuid.uuid4()),
        "schedule": str(schedule.id),
        "taken_at": "2026-11-30T09:00:00Z",
        "occurrence_on": day,
    }
    return client.post(url(world, "doses"), body, format="json")


BODIES = [
    pytest.param(_schedule, "ends_on", Schedule, id="schedule_ends_on"),
    pytest.param(_plan, "ends_on", SupplementPlan, id="supplement_plan_ends_on"),
    pytest.param(_dxa, "measured_on", BoneDensityResult, id="dxa_measured_on"),
    pytest.param(_diet, "date", DietaryCalciumEntry, id="dietary_calcium_date"),
    pytest.param(_dose, "occurrence_on", DoseRecord, id="dose_occurrence_on"),
]


@pytest.mark.parametrize(("day", "message"), [("9999-12-30", TOO_LATE), ("0001-01-01", TOO_EARLY)], ids=["9999", "1"])
@pytest.mark.parametrize(("post", "field", "model"), BODIES)
def test_absurd_dates_in_bodies_are_a_400_naming_the_field_and_nothing_is_written(
    world: World, client_for, post: Any, field: str, model: Any, day: str, message: str
) -> None:
    make_schedule(world.ann, "letrozole", starts_on=date(2026, 11, 1))
    before = model.objects.count()
    client = client_for(world.ann.user if post in (_dose, _diet) else world.cora)
    assert refused(post(world, client, day)) == {field: [message]}
    assert model.objects.count() == before


def test_a_lab_date_past_the_bound_is_a_400(world: World, client_for) -> None:
    body = {"kind": "vitamin_d_25oh", "value": "30", "unit": "ng/mL", "measured_on": "9999-01-01"}
    assert refused(client_for(world.cora).post(url(world, "labs"), body, format="json")) == {"measured_on": [TOO_LATE]}
    assert not LabResult.objects.exists()


def test_a_plan_ending_on_the_last_accepted_day_is_recorded(world: World, client_for) -> None:
    response = _plan(world, client_for(world.cora), LATEST.isoformat())
    assert response.status_code == 201, response.content


def test_a_supplement_plan_cannot_start_before_her_birth(world: World, client_for) -> None:
    """Like a schedule (and a DXA or lab result): the day before her birth date is refused, her birth date is not."""
    birth = world.ann.profile.birth_date
    client = client_for(world.cora)
    body = {"supplement": "calcium_citrate", "amount": "500", "unit": "mg", "times_of_day": ["08:00"]}
    before = client.post(
        url(world, "supplement-plans"), {**body, "starts_on": str(birth - timedelta(days=1))}, format="json"
    )
    assert refused(before) == {"starts_on": ["Starts before the patient was born."]}
    assert not SupplementPlan.objects.exists()
    on = client.post(url(world, "supplement-plans"), {**body, "starts_on": str(birth)}, format="json")
    assert on.status_code == 201, on.content


# --- sync --------------------------------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("day", "message"), [("9999-12-30", TOO_LATE), ("1899-12-31", TOO_EARLY)])
def test_a_pushed_dose_with_an_absurd_occurrence_date_refuses_the_push(
    world: World, client_for, day: str, message: str
) -> None:
    schedule = make_schedule(world.ann, "letrozole", starts_on=date(2026, 11, 1))
    client = client_for(world.ann.user)
    pulled = client.get("/api/v1/sync/", {"last_pulled_at": "null"}).json()["timestamp"]
    record = {"id": str(uuid.uuid4()), "schedule_id": str(schedule.id), "taken_at": 1_795_000_000_000}
    changes = {"dose_records": {"created": [{**record, "occurrence_on": day}], "updated": [], "deleted": []}}
    response = client.post(f"/api/v1/sync/?last_pulled_at={pulled}", {"changes": changes}, format="json")
    assert refused(response) == {"dose_records.created.0.occurrence_on": [message]}
    assert not DoseRecord.objects.exists()


# --- the guard: every date a request can carry is bounded --------------------------------------------------------
def request_date_fields(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, serializers.Field]]:
    """(serializer, field, field object) for every date field the OpenAPI schema maps in a request: bodies and
    query parameters of every operation."""
    return request_fields(
        monkeypatch,
        lambda field: isinstance(field, serializers.DateField) and not isinstance(field, serializers.DateTimeField),
    )


def test_every_date_a_request_accepts_is_bounded(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    found = request_date_fields(monkeypatch)
    names = {(serializer, name) for serializer, name, _ in found}
    assert {  # not vacuous: the walk sees the known ones
        ("ReminderQuery", "from"),
        ("ScheduleListCreateView.Input", "starts_on"),
        ("BoneDensityView.Input", "measured_on"),
        ("DietaryCalciumListCreateView.Input", "date"),
        ("DoseListCreateView.Input", "occurrence_on"),
    } <= names
    plain = sorted(
        f"{serializer}.{name}" for serializer, name, field in found if not isinstance(field, BoundedDateField)
    )
    assert not plain, f"unbounded date inputs (use backend.serializers.BoundedDateField): {plain}"
