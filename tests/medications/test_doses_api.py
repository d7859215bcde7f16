"""Dose records over HTTP: client ids and idempotent re-posts, late syncs with their true time and local date,
DOMAIN A3 (never two weekly doses on one local day), corrections (audit-logged) and denosumab due dates (D1, D2)."""

import threading
import time as wall
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import Patient
from apps.alerts.models import Alert, AlertEvent, AlertState
from apps.medications.models import DoseRecord, Schedule
from apps.medications.services import schedule_update
from backend.models import AuditEvent
from tests.conftest import World
from tests.factories import make_dose, make_schedule

LONDON = ZoneInfo("Europe/London")
AUCKLAND = ZoneInfo("Pacific/Auckland")
NOW = datetime(2026, 3, 11, 12, tzinfo=LONDON)  # Wednesday; Ann's alendronate falls on Mondays


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def doses_url(patient: Patient, dose_id: object = None) -> str:
    return f"/api/v1/patients/{patient.id}/doses/" + (f"{dose_id}/" if dose_id else "")


def dose_body(schedule: Schedule, taken_at: datetime, **extra: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "schedule": str(schedule.id), "taken_at": taken_at.isoformat(), **extra}


def errors(response) -> dict[str, list[str]]:
    body = response.json()
    assert body["error"]["code"] == "invalid", body
    return body["error"]["fields"]


def in_auckland(patient: Patient) -> None:
    patient.profile.timezone = "Pacific/Auckland"
    patient.profile.save()


@pytest.fixture
def weekly(world: World) -> Schedule:
    return make_schedule(world.ann)  # alendronate, Mondays 07:00 from 5 January 2026


# --- recording -----------------------------------------------------------------------------------------------
def test_patient_records_a_dose_and_a_repost_is_idempotent(world: World, client_for, weekly: Schedule) -> None:
    client = client_for(world.ann.user)
    body = dose_body(weekly, datetime(2026, 3, 9, 7, 5, tzinfo=LONDON), note="with water")
    first = client.post(doses_url(world.ann), body, format="json")
    assert first.status_code == 201, first.content
    shown = first.json()
    assert shown["id"] == body["id"]
    assert (shown["schedule"], shown["status"], shown["source"], shown["note"]) == (
        str(weekly.id),
        "taken",
        "app",
        "with water",
    )
    assert shown["taken_on"] == "2026-03-09"
    assert shown["recorded_by"] == str(world.ann.user.id)
    # The phone retries (it never saw the answer): same record, 200, still one row.
    again = client.post(doses_url(world.ann), body, format="json")
    assert again.status_code == 200, again.content
    assert again.json()["id"] == body["id"]
    assert DoseRecord.objects.filter(pk=body["id"]).count() == 1
    assert DoseRecord.objects.count() == 1


def test_a_repost_with_other_values_is_a_409_naming_them(world: World, client_for, weekly: Schedule) -> None:
    client = client_for(world.ann.user)
    body = dose_body(weekly, datetime(2026, 3, 9, 7, 5, tzinfo=LONDON))
    assert client.post(doses_url(world.ann), body, format="json").status_code == 201
    changed = {**body, "taken_at": datetime(2026, 3, 10, 7, tzinfo=LONDON).isoformat(), "note": "edited"}
    again = client.post(doses_url(world.ann), changed, format="json")
    assert again.status_code == 409, again.content
    assert again.json()["error"]["code"] == "conflict"
    assert set(again.json()["error"]["fields"]) == {"taken_at", "note"}
    row = DoseRecord.objects.get(pk=body["id"])
    assert (row.taken_on, row.note) == (date(2026, 3, 9), "")


def test_a_repost_after_the_schedule_stopped_is_still_200(world: World, client_for, weekly: Schedule) -> None:
    client = client_for(world.ann.user)
    body = dose_body(weekly, datetime(2026, 3, 9, 7, 5, tzinfo=LONDON))
    assert client.post(doses_url(world.ann), body, format="json").status_code == 201
    schedule_update(actor=world.cora, schedule=weekly, status="stopped")
    assert client.post(doses_url(world.ann), body, format="json").status_code == 200


def test_the_same_id_for_another_schedule_is_409_naming_it(world: World, client_for, weekly: Schedule) -> None:
    other = make_schedule(world.ann, "letrozole")
    client = client_for(world.ann.user)
    body = dose_body(weekly, datetime(2026, 3, 9, 7, 5, tzinfo=LONDON))
    assert client.post(doses_url(world.ann), body, format="json").status_code == 201
    response = client.post(doses_url(world.ann), {**body, "schedule": str(other.id)}, format="json")
    assert response.status_code == 409, response.content
    assert response.json()["error"]["fields"] == {"schedule": ["Differs from the record already stored under this id."]}
    assert DoseRecord.objects.count() == 1
    assert DoseRecord.objects.get(pk=body["id"]).schedule_id == weekly.id


def test_the_same_id_from_another_patient_is_400(world: World, client_for, weekly: Schedule) -> None:
    bea_schedule = make_schedule(world.bea)
    body = dose_body(weekly, datetime(2026, 3, 9, 7, 5, tzinfo=LONDON))
    assert client_for(world.ann.user).post(doses_url(world.ann), body, format="json").status_code == 201
    response = client_for(world.bea.user).post(
        doses_url(world.bea), {**body, "schedule": str(bea_schedule.id)}, format="json"
    )
    assert response.status_code == 400, response.content
    assert "id" in errors(response)
    assert DoseRecord.objects.get(pk=body["id"]).patient_id == world.ann.id


def test_a_late_sync_keeps_the_true_time(world: World, client_for, weekly: Schedule) -> None:
    taken_at = NOW - timedelta(days=3)
    response = client_for(world.ann.user).post(doses_url(world.ann), dose_body(weekly, taken_at), format="json")
    assert response.status_code == 201, response.content
    row = DoseRecord.objects.get(pk=response.json()["id"])
    assert row.taken_at == taken_at
    assert row.taken_on == date(2026, 3, 8)
    assert row.created_at == NOW  # synced now, taken three days ago


@pytest.mark.parametrize(
    ("local", "utc_day"),
    [
        (datetime(2026, 3, 8, 23, 30, tzinfo=AUCKLAND), date(2026, 3, 8)),
        (datetime(2026, 3, 8, 7, 30, tzinfo=AUCKLAND), date(2026, 3, 7)),  # 18:30 UTC the day before
        (datetime(2026, 3, 8, 0, 30, tzinfo=AUCKLAND), date(2026, 3, 7)),  # 11:30 UTC the day before
    ],
)
def test_taken_on_is_the_patients_local_date(world: World, client_for, local: datetime, utc_day: date) -> None:
    in_auckland(world.ann)
    schedule = make_schedule(world.ann)
    taken_at = local.astimezone(UTC)
    assert taken_at.date() == utc_day
    response = client_for(world.ann.user).post(
        doses_url(world.ann),
        dose_body(schedule, local) | {"taken_at": taken_at.isoformat().replace("+00:00", "Z")},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["taken_on"] == "2026-03-08"
    row = DoseRecord.objects.get(pk=response.json()["id"])
    assert (row.taken_at, row.taken_on) == (taken_at, date(2026, 3, 8))


# --- DOMAIN A3 -----------------------------------------------------------------------------------------------
def test_a_second_weekly_dose_on_the_same_local_day_is_refused(world: World, client_for) -> None:
    in_auckland(world.ann)
    schedule = make_schedule(world.ann)
    client = client_for(world.ann.user)
    # 00:30 and 23:30 on 9 March in Auckland: different UTC days (8th and 9th), the same local day.
    morning = datetime(2026, 3, 9, 0, 30, tzinfo=AUCKLAND)
    night = datetime(2026, 3, 9, 23, 30, tzinfo=AUCKLAND)
    assert morning.astimezone(UTC).date() != night.astimezone(UTC).date()
    assert client.post(doses_url(world.ann), dose_body(schedule, morning), format="json").status_code == 201
    response = client.post(doses_url(world.ann), dose_body(schedule, night), format="json")
    assert response.status_code == 400, response.content
    assert "taken_at" in errors(response)
    assert DoseRecord.objects.filter(schedule=schedule).count() == 1


def test_weekly_doses_on_consecutive_local_days_are_fine_even_on_one_utc_day(world: World, client_for) -> None:
    in_auckland(world.ann)
    schedule = make_schedule(world.ann)
    client = client_for(world.ann.user)
    late = datetime(2026, 3, 8, 23, 30, tzinfo=AUCKLAND)  # 10:30 UTC on the 8th
    early = datetime(2026, 3, 9, 0, 30, tzinfo=AUCKLAND)  # 11:30 UTC on the 8th
    assert late.astimezone(UTC).date() == early.astimezone(UTC).date()
    assert client.post(doses_url(world.ann), dose_body(schedule, late), format="json").status_code == 201
    assert client.post(doses_url(world.ann), dose_body(schedule, early), format="json").status_code == 201


def test_a_missed_weekly_dose_is_taken_the_next_morning_then_back_to_the_usual_day(
    world: World, client_for, weekly: Schedule
) -> None:
    client = client_for(world.ann.user)
    for taken_at in (
        datetime(2026, 2, 23, 7, tzinfo=LONDON),  # Monday
        # Monday 2 March missed: remembered that day, taken Tuesday morning (A3)
        datetime(2026, 3, 3, 7, tzinfo=LONDON),
        datetime(2026, 3, 9, 7, tzinfo=LONDON),  # back to Monday
    ):
        response = client.post(doses_url(world.ann), dose_body(weekly, taken_at), format="json")
        assert response.status_code == 201, response.content
    assert DoseRecord.objects.filter(schedule=weekly).count() == 3


@pytest.mark.parametrize(
    "statuses",
    [("skipped", "taken"), ("taken", "skipped"), ("skipped", "skipped")],
)
def test_a_skip_does_not_count_as_a_second_dose(world: World, client_for, weekly: Schedule, statuses) -> None:
    client = client_for(world.ann.user)
    for hour, status in zip((7, 9), statuses, strict=True):
        body = dose_body(weekly, datetime(2026, 3, 9, hour, tzinfo=LONDON), status=status)
        response = client.post(doses_url(world.ann), body, format="json")
        assert response.status_code == 201, response.content
    assert sorted(DoseRecord.objects.values_list("status", flat=True)) == sorted(statuses)


def test_a3_does_not_limit_daily_medicines(world: World, client_for) -> None:
    daily = make_schedule(world.ann, "letrozole")
    client = client_for(world.ann.user)
    for hour in (7, 21):  # a double dose of a daily tablet is not the weekly rule's business
        body = dose_body(daily, datetime(2026, 3, 9, hour, tzinfo=LONDON))
        assert client.post(doses_url(world.ann), body, format="json").status_code == 201


# --- bad input -----------------------------------------------------------------------------------------------
def test_a_little_clock_skew_is_accepted(world: World, client_for, weekly: Schedule) -> None:
    response = client_for(world.ann.user).post(
        doses_url(world.ann), dose_body(weekly, NOW + timedelta(minutes=4)), format="json"
    )
    assert response.status_code == 201, response.content


def test_399_days_ago_is_accepted(world: World, client_for, weekly: Schedule) -> None:
    response = client_for(world.ann.user).post(
        doses_url(world.ann), dose_body(weekly, NOW - timedelta(days=399)), format="json"
    )
    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param({"taken_at": (NOW + timedelta(minutes=6)).isoformat()}, "taken_at", id="future"),
        pytest.param({"taken_at": (NOW - timedelta(days=401)).isoformat()}, "taken_at", id="over-400-days"),
        pytest.param({"taken_at": "yesterday"}, "taken_at", id="taken-at-garbage"),
        pytest.param({"colour": "blue"}, "colour", id="unknown-field"),
        pytest.param({"patient": "x"}, "patient", id="patient-field"),
        pytest.param({"status": "maybe"}, "status", id="status-maybe"),
        pytest.param({"source": "neighbour"}, "source", id="source-unknown"),
        pytest.param({"id": "dose-1"}, "id", id="id-not-uuid"),
        pytest.param({"schedule": "alendronate"}, "schedule", id="schedule-not-uuid"),
        pytest.param({"schedule": str(uuid.uuid4())}, "schedule", id="schedule-unknown"),
        pytest.param({"note": "x" * 501}, "note", id="note-too-long"),
    ],
)
def test_bad_doses_are_400_and_write_nothing(world: World, client_for, weekly: Schedule, change, field) -> None:
    body = dose_body(weekly, NOW - timedelta(hours=1)) | change
    response = client_for(world.ann.user).post(doses_url(world.ann), body, format="json")
    assert response.status_code == 400, response.content
    assert field in errors(response)
    assert not DoseRecord.objects.exists()


def test_a_dose_for_a_stopped_schedule_is_400(world: World, client_for, weekly: Schedule) -> None:
    schedule_update(actor=world.cora, schedule=weekly, status="stopped")
    response = client_for(world.ann.user).post(
        doses_url(world.ann), dose_body(weekly, NOW - timedelta(hours=1)), format="json"
    )
    assert response.status_code == 400, response.content
    assert "schedule" in errors(response)
    assert not DoseRecord.objects.exists()


@pytest.mark.parametrize("who", ["ann", "cora"])
def test_a_dose_for_another_patients_schedule_is_400(world: World, client_for, who: str) -> None:
    beas = make_schedule(world.bea)
    user = world.ann.user if who == "ann" else world.cora
    response = client_for(user).post(doses_url(world.ann), dose_body(beas, NOW - timedelta(hours=1)), format="json")
    assert response.status_code == 400, response.content
    assert "schedule" in errors(response)
    assert not DoseRecord.objects.exists()


def test_a_patient_cannot_post_under_another_patient(world: World, client_for) -> None:
    beas = make_schedule(world.bea)
    response = client_for(world.ann.user).post(
        doses_url(world.bea), dose_body(beas, NOW - timedelta(hours=1)), format="json"
    )
    assert response.status_code == 404
    assert not DoseRecord.objects.exists()


# --- corrections ---------------------------------------------------------------------------------------------
def test_patient_corrects_taken_at_and_note_and_it_is_audited(world: World, client_for, weekly: Schedule) -> None:
    dose = make_dose(world.ann, weekly, taken_at=datetime(2026, 3, 9, 7, tzinfo=LONDON))
    corrected = datetime(2026, 3, 10, 6, 45, tzinfo=LONDON)
    response = client_for(world.ann.user).patch(
        doses_url(world.ann, dose.id), {"taken_at": corrected.isoformat(), "note": "it was Tuesday"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert (response.json()["taken_on"], response.json()["note"]) == ("2026-03-10", "it was Tuesday")
    row = DoseRecord.objects.get(pk=dose.id)
    assert (row.taken_at, row.taken_on, row.note) == (corrected, date(2026, 3, 10), "it was Tuesday")
    event = AuditEvent.objects.get(action="update", resource="dose_record")
    assert (event.actor_id, event.patient_id, event.object_id) == (world.ann.user.id, world.ann.id, str(dose.id))
    assert event.method == "PATCH"


def test_staff_in_scope_correct_a_dose(world: World, client_for, weekly: Schedule) -> None:
    dose = make_dose(world.ann, weekly, taken_at=datetime(2026, 3, 9, 7, tzinfo=LONDON))
    url = doses_url(world.ann, dose.id)
    assert client_for(world.cora).patch(url, {"site": "n/a"}, format="json").status_code == 200
    assert client_for(world.cody).patch(url, {"site": "cody"}, format="json").status_code == 404
    assert client_for(world.zed).patch(url, {"site": "zed"}, format="json").status_code == 404
    assert DoseRecord.objects.get(pk=dose.id).site == "n/a"


def test_another_patient_cannot_correct_a_dose(world: World, client_for, weekly: Schedule) -> None:
    dose = make_dose(world.ann, weekly, taken_at=datetime(2026, 3, 9, 7, tzinfo=LONDON))
    bea = client_for(world.bea.user)
    change = {"note": "not mine", "taken_at": (NOW - timedelta(hours=2)).isoformat()}
    assert bea.patch(doses_url(world.ann, dose.id), change, format="json").status_code == 404
    assert bea.patch(doses_url(world.bea, dose.id), change, format="json").status_code == 404
    row = DoseRecord.objects.get(pk=dose.id)
    assert (row.note, row.taken_on) == ("", date(2026, 3, 9))
    assert not AuditEvent.objects.filter(action="update").exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"taken_at": (NOW + timedelta(hours=1)).isoformat()}, "taken_at"),
        ({"taken_at": datetime(2026, 3, 2, 20, tzinfo=LONDON).isoformat()}, "taken_at"),  # onto the other dose's day
        ({"taken_at": None}, "taken_at"),
        ({"schedule": str(uuid.uuid4())}, "schedule"),
        ({"id": str(uuid.uuid4())}, "id"),
        ({"status": "maybe"}, "status"),
    ],
)
def test_a_bad_correction_is_400_and_changes_nothing(world: World, client_for, weekly: Schedule, change, field) -> None:
    make_dose(world.ann, weekly, taken_at=datetime(2026, 3, 2, 7, tzinfo=LONDON))
    dose = make_dose(world.ann, weekly, taken_at=datetime(2026, 3, 9, 7, tzinfo=LONDON))
    response = client_for(world.ann.user).patch(doses_url(world.ann, dose.id), change, format="json")
    assert response.status_code == 400, response.content
    assert field in errors(response)
    row = DoseRecord.objects.get(pk=dose.id)
    assert (row.taken_on, row.status, row.schedule_id) == (date(2026, 3, 9), "taken", weekly.id)


# --- listing -------------------------------------------------------------------------------------------------
def test_list_filters_by_schedule(world: World, client_for, weekly: Schedule) -> None:
    daily = make_schedule(world.ann, "letrozole")
    a = make_dose(world.ann, weekly, taken_at=datetime(2026, 3, 2, 7, tzinfo=LONDON))
    b = make_dose(world.ann, weekly, taken_at=datetime(2026, 3, 9, 7, tzinfo=LONDON))
    make_dose(world.ann, daily, taken_at=datetime(2026, 3, 10, 8, tzinfo=LONDON))
    make_dose(world.bea, taken_at=datetime(2026, 3, 10, 8, tzinfo=LONDON))
    client = client_for(world.ann.user)
    everything = client.get(doses_url(world.ann)).json()
    assert everything["count"] == 3
    only = client.get(doses_url(world.ann), {"schedule": str(weekly.id)}).json()
    assert [row["id"] for row in only["results"]] == [str(b.id), str(a.id)]  # newest first
    response = client.get(doses_url(world.ann), {"schedule": "not-a-uuid"})
    assert response.status_code == 400
    assert "schedule" in errors(response)


# --- denosumab (DOMAIN D1, D2, D5) ---------------------------------------------------------------------------
@pytest.fixture
def denosumab(world: World) -> Schedule:
    return make_schedule(world.ann, "denosumab", local_time=time(9), starts_on=date(2026, 3, 2))


def schedule_shown(client, patient: Patient, schedule: Schedule) -> dict[str, Any]:
    return client.get(f"/api/v1/patients/{patient.id}/schedules/{schedule.id}/").json()


def test_an_injection_with_no_alert_open_resolves_nothing(world: World, client_for, denosumab: Schedule) -> None:
    unrelated = Alert.objects.create(
        patient=world.ann,
        kind="calcium_low",
        severity="high",
        severity_rank=3,
        message="Calcium is low.",
        episode="2026-03",
        raised_at=NOW - timedelta(days=1),
    )
    done = Alert.objects.create(
        patient=world.ann,
        schedule=denosumab,
        kind="denosumab_due",
        severity="normal",
        severity_rank=2,
        message="Due.",
        episode="2025-09-02",
        raised_at=NOW - timedelta(days=190),
        state=AlertState.RESOLVED,
        resolved_at=NOW - timedelta(days=170),
        resolution_note="given",
    )
    response = client_for(world.ann.user).post(
        doses_url(world.ann), dose_body(denosumab, NOW - timedelta(hours=2), site="left thigh"), format="json"
    )
    assert response.status_code == 201, response.content
    assert Alert.objects.get(pk=unrelated.pk).state == AlertState.OPEN
    assert Alert.objects.get(pk=done.pk).resolved_at == NOW - timedelta(days=170)
    assert Alert.objects.get(pk=done.pk).resolution_note == "given"
    assert not AlertEvent.objects.exists()


def test_an_injection_moves_next_due_six_months_and_an_earlier_one_does_not_move_it_back(
    world: World, client_for, denosumab: Schedule
) -> None:
    client = client_for(world.ann.user)
    assert schedule_shown(client, world.ann, denosumab)["next_due"] == "2026-03-02"
    given = datetime(2026, 3, 10, 10, tzinfo=LONDON)
    assert client.post(doses_url(world.ann), dose_body(denosumab, given), format="json").status_code == 201
    shown = schedule_shown(client, world.ann, denosumab)
    assert (shown["next_due"], shown["injection_state"], shown["days_overdue"]) == ("2026-09-10", "scheduled", 0)  # D1
    assert Schedule.objects.get(pk=denosumab.pk).next_due_on == date(2026, 9, 10)
    # The previous injection, given last September, syncs only now: the latest given still counts.
    older = datetime(2025, 9, 1, 10, tzinfo=LONDON)
    assert client.post(doses_url(world.ann), dose_body(denosumab, older), format="json").status_code == 201
    assert schedule_shown(client, world.ann, denosumab)["next_due"] == "2026-09-10"
    assert Schedule.objects.get(pk=denosumab.pk).next_due_on == date(2026, 9, 10)


def test_a_skipped_injection_does_not_move_the_due_date(world: World, client_for, denosumab: Schedule) -> None:
    client = client_for(world.ann.user)
    body = dose_body(denosumab, NOW - timedelta(hours=2), status="skipped")
    assert client.post(doses_url(world.ann), body, format="json").status_code == 201
    shown = schedule_shown(client, world.ann, denosumab)
    assert (shown["next_due"], shown["injection_state"], shown["days_overdue"]) == ("2026-03-02", "due", 9)


def test_correcting_an_injection_date_moves_next_due(world: World, client_for, denosumab: Schedule) -> None:
    client = client_for(world.ann.user)
    dose = make_dose(world.ann, denosumab, taken_at=datetime(2026, 3, 10, 10, tzinfo=LONDON))
    response = client.patch(
        doses_url(world.ann, dose.id), {"taken_at": datetime(2026, 3, 5, 10, tzinfo=LONDON).isoformat()}, format="json"
    )
    assert response.status_code == 200, response.content
    assert schedule_shown(client, world.ann, denosumab)["next_due"] == "2026-09-05"


# --- query counts --------------------------------------------------------------------------------------------
def dose_list_queries(client, patient: Patient, **query: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(doses_url(patient), query)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_dose_list_queries_do_not_grow(world: World, client_for, weekly: Schedule) -> None:
    daily = make_schedule(world.ann, "letrozole")
    client = client_for(world.cora)

    def add(n: int, start: int) -> None:
        for i in range(start, start + n):
            schedule = weekly if i % 2 else daily
            make_dose(world.ann, schedule, taken_at=NOW - timedelta(days=i + 1))

    add(3, 0)
    small = dose_list_queries(client, world.ann)
    small_filtered = dose_list_queries(client, world.ann, schedule=str(weekly.id))
    add(9, 3)
    assert DoseRecord.objects.filter(patient=world.ann).count() == 12
    assert dose_list_queries(client, world.ann) == small
    assert dose_list_queries(client, world.ann, schedule=str(weekly.id)) == small_filtered


# --- concurrency ---------------------------------------------------------------------------------------------
def _waiting_on_locks() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # inside a transaction the view is otherwise frozen
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return int(cursor.fetchone()[0])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("code", ["alendronate", "letrozole"])
def test_two_posts_of_the_same_id_at_once_are_201_and_200(world: World, client_for, code: str) -> None:
    schedule = make_schedule(world.ann, code)
    body = dose_body(schedule, NOW - timedelta(hours=1))
    results: list[object] = []

    def post() -> None:
        try:
            results.append(client_for(world.ann.user).post(doses_url(world.ann), body, format="json").status_code)
        except Exception as exc:  # a 500 surfaces as the exception in the test client
            results.append(type(exc).__name__)
        finally:
            connection.close()

    # Hold the schedule's lock so both requests get past the id lookup before either can insert.
    threads = [threading.Thread(target=post) for _ in range(2)]
    with transaction.atomic():
        Schedule.objects.select_for_update().get(pk=schedule.pk)
        for thread in threads:
            thread.start()
        deadline = wall.monotonic() + 10
        while _waiting_on_locks() < 2 and wall.monotonic() < deadline:
            wall.sleep(0.02)
        assert _waiting_on_locks() == 2
    for thread in threads:
        thread.join()
    assert sorted(results, key=str) == [200, 201]
    assert DoseRecord.objects.filter(pk=body["id"]).count() == 1
