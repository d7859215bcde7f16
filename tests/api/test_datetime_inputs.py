"""Time is never guessed (issue 11, class 10): a date-time without a UTC offset is refused with a 400 naming the
field, everywhere the API accepts one, instead of being read as UTC (a patient in Los Angeles would have her dose
stored 8 hours off). The schema walk below finds every request field that takes a date-time, so a new one cannot
slip in as a plain DRF DateTimeField."""

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
import time_machine
from rest_framework import serializers

from apps.exercise.models import ExerciseSession
from apps.medications.models import DoseRecord, Schedule
from apps.supplements.models import SupplementIntake
from backend.serializers import NAIVE_DATETIME, AwareDateTimeField
from tests.api.schema_walk import request_fields
from tests.conftest import World
from tests.factories import make_dose, make_schedule

NOW = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)  # 1 December, 12:00 in Los Angeles (PST, UTC-8)
NAIVE = [
    pytest.param("2026-11-30 08:05", id="space"),
    pytest.param("2026-11-30T08:05", id="T"),
    pytest.param("2026-11-30T08:05:00.250", id="fraction"),
    pytest.param("2026-11-30", id="date_only"),
]


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def daily(world: World) -> Schedule:
    world.ann.profile.timezone = "America/Los_Angeles"
    world.ann.profile.save()
    return make_schedule(world.ann, "letrozole", starts_on=date(2026, 11, 1))


def url(world: World, path: str) -> str:
    return f"/api/v1/patients/{world.ann.id}/{path}/"


def refused_field(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"]["code"] == "invalid", body
    fields: dict[str, list[str]] = body["error"]["fields"]
    return fields


# --- every endpoint that accepts a date-time ---------------------------------------------------------------------
def _post_dose(client: Any, world: World, schedule: Schedule, at: str) -> Any:
    body = {"id": str(uuid.uuid4()), "schedule": str(schedule.id), "taken_at": at}
    return client.post(url(world, "doses"), body, format="json")


def _post_intake(client: Any, world: World, schedule: Schedule, at: str) -> Any:
    body = {"id": str(uuid.uuid4()), "supplement": "calcium_citrate", "amount": "500", "unit": "mg", "taken_at": at}
    return client.post(url(world, "supplement-intakes"), body, format="json")


def _post_session(client: Any, world: World, schedule: Schedule, at: str) -> Any:
    body = {"id": str(uuid.uuid4()), "kind": "balance", "minutes": 20, "performed_at": at}
    return client.post(url(world, "exercise-sessions"), body, format="json")


ENDPOINTS = [
    pytest.param(_post_dose, "taken_at", DoseRecord, id="dose"),
    pytest.param(_post_intake, "taken_at", SupplementIntake, id="supplement_intake"),
    pytest.param(_post_session, "performed_at", ExerciseSession, id="exercise_session"),
]


@pytest.mark.parametrize("naive", NAIVE)
@pytest.mark.parametrize(("post", "field", "model"), ENDPOINTS)
def test_a_date_time_without_offset_is_refused_naming_the_field(
    world: World, client_for, daily: Schedule, post: Any, field: str, model: Any, naive: str
) -> None:
    response = post(client_for(world.ann.user), world, daily, naive)
    assert refused_field(response) == {field: [NAIVE_DATETIME]}
    assert not model.objects.exists()


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        pytest.param("2026-11-30T08:05:00-08:00", datetime(2026, 11, 30, 16, 5, tzinfo=UTC), id="her_offset"),
        pytest.param("2026-11-30T16:05:00Z", datetime(2026, 11, 30, 16, 5, tzinfo=UTC), id="Z"),
        pytest.param("2026-11-30T17:05:00+01:00", datetime(2026, 11, 30, 16, 5, tzinfo=UTC), id="another_offset"),
        # 23:30 on 30 November in Los Angeles is already 1 December in UTC: her day is the 30th.
        pytest.param("2026-11-30T23:30:00-08:00", datetime(2026, 12, 1, 7, 30, tzinfo=UTC), id="late_evening"),
    ],
)
@pytest.mark.parametrize(("post", "field", "model"), ENDPOINTS)
def test_with_an_offset_the_true_instant_is_stored(
    world: World, client_for, daily: Schedule, post: Any, field: str, model: Any, sent: str, stored: datetime
) -> None:
    response = post(client_for(world.ann.user), world, daily, sent)
    assert response.status_code == 201, response.content
    row = model.objects.get()
    assert getattr(row, field) == stored
    local_day = "taken_on" if field == "taken_at" else "performed_on"
    assert getattr(row, local_day) == date(2026, 11, 30)


@pytest.mark.parametrize("naive", NAIVE)
def test_correcting_a_dose_with_a_naive_time_is_refused_and_changes_nothing(
    world: World, client_for, daily: Schedule, naive: str
) -> None:
    dose = make_dose(world.ann, daily, taken_at=datetime(2026, 11, 30, 16, 5, tzinfo=UTC))
    response = client_for(world.ann.user).patch(f"{url(world, 'doses')}{dose.id}/", {"taken_at": naive}, format="json")
    assert refused_field(response) == {"taken_at": [NAIVE_DATETIME]}
    dose.refresh_from_db()
    assert dose.taken_at == datetime(2026, 11, 30, 16, 5, tzinfo=UTC)


def test_correcting_a_dose_with_an_offset_moves_it(world: World, client_for, daily: Schedule) -> None:
    dose = make_dose(world.ann, daily, taken_at=datetime(2026, 11, 30, 16, 5, tzinfo=UTC))
    response = client_for(world.ann.user).patch(
        f"{url(world, 'doses')}{dose.id}/", {"taken_at": "2026-11-29T21:00:00-08:00"}, format="json"
    )
    assert response.status_code == 200, response.content
    dose.refresh_from_db()
    assert (dose.taken_at, dose.taken_on) == (datetime(2026, 11, 30, 5, 0, tzinfo=UTC), date(2026, 11, 29))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("table", "record"),
    [
        ("dose_records", {"taken_at": "2026-11-30T08:05:00-08:00"}),
        ("exercise_sessions", {"kind": "balance", "minutes": 20, "performed_at": "2026-11-30 08:05"}),
        (
            "supplement_intakes",
            {"supplement": "calcium_citrate", "amount": 500, "unit": "mg", "taken_at": "2026-11-30"},
        ),
    ],
)
def test_sync_takes_instants_only_as_integers(
    world: World, client_for, daily: Schedule, table: str, record: Any
) -> None:
    """Sync carries instants as integer milliseconds (WatermelonDB's @date): no date-time string is parsed there,
    with an offset or without."""
    client = client_for(world.ann.user)
    pulled = client.get("/api/v1/sync/", {"last_pulled_at": "null"}).json()["timestamp"]
    values = {"schedule_id": str(daily.id), **record} if table == "dose_records" else record
    changes = {table: {"created": [{"id": str(uuid.uuid4()), **values}], "updated": [], "deleted": []}}
    response = client.post(f"/api/v1/sync/?last_pulled_at={pulled}", {"changes": changes}, format="json")
    column = "performed_at" if table == "exercise_sessions" else "taken_at"
    assert f"{table}.created.0.{column}" in refused_field(response)
    assert not (DoseRecord.objects.exists() or ExerciseSession.objects.exists() or SupplementIntake.objects.exists())


# --- the guard: every date-time a request can carry refuses naive input ------------------------------------------
def request_datetime_fields(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, serializers.Field]]:
    """(serializer, field, field object) for every date-time field the OpenAPI schema maps in a request: bodies
    and query parameters of every operation."""
    return request_fields(monkeypatch, lambda field: isinstance(field, serializers.DateTimeField))


def test_every_date_time_a_request_accepts_refuses_naive_input(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    found = request_datetime_fields(monkeypatch)
    names = {(serializer, name) for serializer, name, _ in found}
    # Not vacuous: the walk sees the known ones.
    assert {
        ("DoseListCreateView.Input", "taken_at"),
        ("DoseDetailView.Input", "taken_at"),
        ("SupplementIntakeListCreateView.Input", "taken_at"),
        ("ExerciseSessionListCreateView.Input", "performed_at"),
    } <= names
    plain = sorted(
        f"{serializer}.{name}" for serializer, name, field in found if not isinstance(field, AwareDateTimeField)
    )
    assert not plain, (
        f"date-time inputs that would guess a time zone (use backend.serializers.AwareDateTimeField): {plain}"
    )


def test_strict_model_serializers_map_model_date_times_to_the_aware_field() -> None:
    from backend.models import AuditEvent
    from backend.serializers import StrictModelSerializer

    class Input(StrictModelSerializer):
        class Meta:
            model = AuditEvent
            fields = ["at"]
            extra_kwargs = {"at": {"read_only": False}}

    field = Input().fields["at"]
    assert isinstance(field, AwareDateTimeField)
    with pytest.raises(serializers.ValidationError) as refused:
        field.run_validation("2026-11-30 08:05")
    assert refused.value.detail == [NAIVE_DATETIME]
