"""Pull (GET /api/v1/sync/): first sync, incremental changes, deletes, migrations, access and bad input."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.alerts.services import notice_publish
from apps.medications.models import DoseRecord, Schedule
from apps.reminders.materialise import materialise
from apps.reminders.models import OccurrenceState, ReminderOccurrence
from backend.models import SyncPull
from backend.sync_versions import prune_pulls
from tests.conftest import World
from tests.exercise.factories import make_exercise_plan, make_session
from tests.factories import BoneDensityFactory, make_dose, make_schedule
from tests.supplements.factories import make_intake, make_plan
from tests.sync.conftest import TABLES, changed_ids, ids

# Real transactions: a version is the writing transaction's id, so each write must commit on its own as in production.
pytestmark = pytest.mark.django_db(transaction=True)


def _history(patient) -> dict[str, str]:
    schedule = make_schedule(patient)
    dose = make_dose(patient, schedule)
    plan = make_plan(patient)
    intake = make_intake(patient)
    make_exercise_plan(patient)
    session = make_session(patient)
    dxa = BoneDensityFactory.create(patient=patient)
    materialise(patient_ids=[patient.pk])
    return {
        "schedule": str(schedule.id),
        "dose": str(dose.id),
        "plan": str(plan.id),
        "intake": str(intake.id),
        "session": str(session.id),
        "dxa": str(dxa.id),
    }


def test_first_sync_returns_everything_she_may_see_and_nothing_of_others(world: World, app_for) -> None:
    mine = _history(world.ann)
    theirs = _history(world.bea)
    body = app_for(world.ann).pull()
    assert set(body["changes"]) == set(TABLES)
    assert isinstance(body["timestamp"], int) and body["timestamp"] > 0
    for table in TABLES:
        assert set(body["changes"][table]) == {"created", "updated", "deleted"}
        assert body["changes"][table]["updated"] == [] and body["changes"][table]["deleted"] == []
        for record in body["changes"][table]["created"]:
            assert "_status" not in record and "_changed" not in record
    assert ids(body, "profiles", "created") == {str(world.ann.id)}
    assert ids(body, "schedules", "created") == {mine["schedule"]}
    assert ids(body, "dose_records", "created") == {mine["dose"]}
    assert ids(body, "supplement_intakes", "created") == {mine["intake"]}
    assert ids(body, "exercise_sessions", "created") == {mine["session"]}
    assert ids(body, "bone_density_results", "created") == {mine["dxa"]}
    assert ids(body, "reminders", "created")  # the materialised horizon
    everything = json.dumps(body)
    for other in theirs.values():
        assert other not in everything
    dose = body["changes"]["dose_records"]["created"][0]
    stored = DoseRecord.objects.get(pk=mine["dose"])
    assert dose["taken_at"] == int(stored.taken_at.timestamp() * 1000)  # WatermelonDB's @date: milliseconds
    assert dose["taken_on"] == stored.taken_on.isoformat()
    assert dose["schedule_id"] == mine["schedule"]


def test_incremental_pull_brings_only_what_changed_each_id_in_one_list(world: World, app_for, client_for) -> None:
    mine = _history(world.ann)
    app = app_for(world.ann)
    app.pull()
    empty = app.pull()
    assert {t: v for t in TABLES for k, v in empty["changes"][t].items() if v} == {}

    response = client_for(world.cora).patch(
        f"/api/v1/patients/{world.ann.id}/doses/{mine['dose']}/", {"note": "with breakfast"}, format="json"
    )
    assert response.status_code == 200, response.content
    new_dose = make_dose(
        world.ann, Schedule.objects.get(pk=mine["schedule"]), taken_at=timezone.now() - timedelta(days=3)
    )
    body = app.pull()
    assert ids(body, "dose_records", "updated") == {mine["dose"]}
    assert ids(body, "dose_records", "created") == {str(new_dose.id)}
    assert body["changes"]["dose_records"]["updated"][0]["note"] == "with breakfast"
    assert ids(body, "schedules", "updated") == set()  # untouched rows are not resent


def test_bulk_writes_move_versions_but_claim_bookkeeping_does_not(world: World, app_for) -> None:
    make_schedule(world.ann)
    materialise(patient_ids=[world.ann.pk])
    app = app_for(world.ann)
    app.pull()
    first, second = ReminderOccurrence.objects.filter(patient=world.ann).order_by("due_at")[:2]
    # A dispatcher's claim changes nothing the app shows: not resent.
    ReminderOccurrence.objects.filter(pk=first.pk).update(
        state=OccurrenceState.CLAIMED, claimed_until=timezone.now() + timedelta(minutes=2), attempts=1
    )
    assert changed_ids(app.pull(), "reminders") == set()
    # A cancellation through queryset.update() (the materialiser's way) is resent.
    ReminderOccurrence.objects.filter(pk=second.pk).update(state=OccurrenceState.CANCELLED, reason="schedule changed")
    body = app.pull()
    assert ids(body, "reminders", "updated") == {str(second.pk)}
    assert body["changes"]["reminders"]["updated"][0]["state"] == "cancelled"


def test_server_deletes_arrive_as_deletes_cascades_included(world: World, app_for) -> None:
    mine = _history(world.ann)
    app = app_for(world.ann)
    first = app.pull()
    assert ids(first, "dose_records", "created") == {mine["dose"]}
    Schedule.objects.filter(pk=mine["schedule"]).delete()  # cascades to its doses
    body = app.pull()
    assert ids(body, "schedules", "deleted") == {mine["schedule"]}
    assert ids(body, "dose_records", "deleted") == {mine["dose"]}
    for table in TABLES:
        assert not (changed_ids(body, table) & ids(body, table, "deleted"))
    # A fresh install gets no deletes at all, and never an id in two lists.
    fresh = app_for(world.ann).pull()
    assert all(fresh["changes"][t]["deleted"] == [] for t in TABLES)
    assert mine["schedule"] not in changed_ids(fresh, "schedules")
    assert mine["dose"] not in changed_ids(fresh, "dose_records")


def test_new_notice_is_pulled(world: World, app_for) -> None:
    app = app_for(world.ann)
    app.pull()
    notice_publish(patient=world.ann, kind="test", title="Call the clinic", body="Your injection is due.", episode="e1")
    body = app.pull()
    assert [n["title"] for n in body["changes"]["notices"]["created"]] == ["Call the clinic"]


def test_migration_sends_new_tables_and_columns_in_full(world: World, app_for) -> None:
    mine = _history(world.ann)
    app = app_for(world.ann)
    app.pull()
    body = app.pull(
        migration={
            "from": 1,
            "tables": ["exercise_sessions"],
            "columns": [{"table": "dose_records", "columns": ["site"]}],
        }
    )
    assert ids(body, "exercise_sessions", "created") == {mine["session"]}
    assert ids(body, "dose_records", "updated") == {mine["dose"]}
    assert changed_ids(body, "schedules") == set()


@pytest.mark.parametrize(
    "migration",
    [
        {"from": 1, "tables": ["lab_results"], "columns": []},
        {"from": 1, "tables": [], "columns": [{"table": "dose_records", "columns": ["secret"]}]},
        {"from": 0, "tables": [], "columns": []},
        {"from": 1, "tables": [], "columns": [{"table": ["dose_records"], "columns": []}]},
        ["not", "an", "object"],
    ],
)
def test_unknown_tables_and_columns_in_a_migration_are_refused(world: World, app_for, migration) -> None:
    app = app_for(world.ann)
    app.pull()
    body = app.pull(migration=migration, expect=400)
    assert body["error"]["code"] == "invalid"


@pytest.mark.parametrize("value", ["-1", "0", "abc", "1.5", "99999999999", "12345678901234567890"])
def test_bad_or_future_last_pulled_at_is_refused(world: World, client_for, value: str) -> None:
    response = client_for(world.ann.user).get("/api/v1/sync/", {"last_pulled_at": value})
    assert response.status_code == 400, response.content
    assert "last_pulled_at" in response.json()["error"]["fields"]


def test_a_pruned_timestamp_gets_a_replacement_sync(world: World, app_for) -> None:
    mine = _history(world.ann)
    app = app_for(world.ann)
    app.pull()
    DoseRecord.objects.filter(pk=mine["dose"]).delete()
    with time_machine.travel(timezone.now() + timedelta(days=91)):
        assert prune_pulls() >= 1
    body = app.pull()
    assert body["experimentalStrategy"] == "replacement"
    assert ids(body, "schedules", "created") == {mine["schedule"]}  # everything again
    assert ids(body, "dose_records", "created") == set()  # the app drops what is not in a replacement
    assert "experimentalStrategy" not in app.pull()  # and then on as usual


def test_runjob_prunes_old_pulls(world: World, app_for, capsys) -> None:
    app_for(world.ann).pull()
    call_command("runjob", "prune_sync_pulls")
    assert "prune_sync_pulls" in capsys.readouterr().out
    assert SyncPull.objects.count() == 1  # a fresh one stays


def test_a_timestamp_given_to_another_account_is_refused(world: World, app_for) -> None:
    bea = app_for(world.bea)
    bea.pull()
    ann = app_for(world.ann)
    ann.last_pulled_at = bea.last_pulled_at
    assert "last_pulled_at" in ann.pull(expect=400)["error"]["fields"]


@pytest.mark.parametrize("value", ["x", "0", "1\n", "01", "1.0"])
def test_bad_schema_version_is_refused(world: World, client_for, value: str) -> None:
    """Exactly the schema's pattern: a positive integer ("1\n" passed a `$`-anchored match before)."""
    response = client_for(world.ann.user).get("/api/v1/sync/", {"schema_version": value})
    assert response.status_code == 400
    assert "schema_version" in response.json()["error"]["fields"]


@pytest.mark.parametrize("value", ["2", "null", ""])
def test_a_schema_version_or_none_yet_is_accepted(world: World, client_for, value: str) -> None:
    response = client_for(world.ann.user).get("/api/v1/sync/", {"schema_version": value})
    assert response.status_code == 200, response.content


def test_a_timestamp_with_a_trailing_newline_is_refused(world: World, client_for) -> None:
    response = client_for(world.ann.user).get("/api/v1/sync/", {"last_pulled_at": "5\n"})
    assert response.status_code == 400
    assert "last_pulled_at" in response.json()["error"]["fields"]


@pytest.mark.parametrize("who", ["cora", "phil", "admin"])
def test_staff_get_a_clear_403(world: World, client_for, who: str) -> None:
    response = client_for(getattr(world, who)).get("/api/v1/sync/")
    assert response.status_code == 403
    assert "patients' app" in response.json()["error"]["message"]


def test_anonymous_gets_401(world: World, api) -> None:
    assert api.get("/api/v1/sync/").status_code == 401


def test_pull_query_count_does_not_grow_with_history(world: World, app_for) -> None:
    schedule = make_schedule(world.ann)
    make_dose(world.ann, schedule)
    app = app_for(world.ann)
    with CaptureQueriesContext(connection) as small:
        app.pull()
    for days in range(2, 40):
        make_dose(world.ann, schedule, taken_at=timezone.now() - timedelta(days=days * 7))
        make_intake(world.ann, taken_at=timezone.now() - timedelta(days=days))
    fresh = app_for(world.ann)
    with CaptureQueriesContext(connection) as large:
        body = fresh.pull()
    assert len(body["changes"]["dose_records"]["created"]) == 39
    assert len(large.captured_queries) == len(small.captured_queries)
    with CaptureQueriesContext(connection) as incremental:
        fresh.pull()
    assert len(incremental.captured_queries) <= len(large.captured_queries) + 8
