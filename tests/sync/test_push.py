"""Push (POST /api/v1/sync/): all or nothing, the REST services, conflicts, rejections, replays and bad input."""

import uuid
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from apps.alerts.models import Alert, AlertState
from apps.exercise.models import ExerciseSession
from apps.medications.models import DoseRecord, Schedule
from apps.profiles.models import PatientProfile
from apps.supplements.models import SupplementIntake
from tests.conftest import World
from tests.factories import make_dose, make_schedule
from tests.medications.test_injection_watch import denosumab, local_noon, watch_on
from tests.sync.conftest import App, table_changes

pytestmark = pytest.mark.django_db(transaction=True)


def ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def dose(schedule: Schedule, *, at: datetime | None = None, **values: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "schedule_id": str(schedule.id),
        "taken_at": ms(at or timezone.now() - timedelta(hours=1)),
        "status": "taken",
        "source": "app",
        "site": "",
        "note": "",
        "occurrence_on": None,
        "_status": "created",
        "_changed": "",
        **values,
    }


def intake(**values: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "plan_id": None,
        "supplement": "calcium_citrate",
        "amount": 500,
        "unit": "mg",
        "taken_at": ms(timezone.now() - timedelta(hours=2)),
        "note": "",
        **values,
    }


def session(**values: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "kind": "weight_bearing",
        "minutes": 30,
        "performed_at": ms(timezone.now() - timedelta(hours=3)),
        "note": "walk",
        **values,
    }


@pytest.fixture
def ann_app(world: World, app_for) -> App:
    app: App = app_for(world.ann)
    return app


def test_offline_records_are_applied_once_even_when_the_push_is_replayed(world: World, ann_app: App) -> None:
    schedule = make_schedule(world.ann)
    ann_app.pull()
    changes = table_changes(
        dose_records={"created": [dose(schedule)]},
        supplement_intakes={"created": [intake()]},
        exercise_sessions={"created": [session()]},
    )
    assert ann_app.push(changes) == {}
    assert ann_app.push(changes) == {}  # the answer was lost; the app sends the same push again
    assert DoseRecord.objects.filter(patient=world.ann).count() == 1
    assert SupplementIntake.objects.filter(patient=world.ann).count() == 1
    assert ExerciseSession.objects.filter(patient=world.ann).count() == 1
    stored = DoseRecord.objects.get(patient=world.ann)
    assert stored.recorded_by == world.ann.user
    # The app's next pull brings her records back with what the server computed (local date), as updated: it has
    # them. Another of her devices gets them as created.
    pulled = ann_app.pull()["changes"]["dose_records"]
    assert pulled["created"] == []
    assert [r["taken_on"] for r in pulled["updated"]] == [stored.taken_on.isoformat()]
    tablet = App(ann_app.client, world.ann)
    tablet.pull()
    tablet.push(table_changes(exercise_sessions={"created": [session()]}))
    assert [r["id"] for r in tablet.pull()["changes"]["exercise_sessions"]["created"]] == []
    other = App(ann_app.client, world.ann, last_pulled_at=ann_app.last_pulled_at)
    created = other.pull()["changes"]["exercise_sessions"]["created"]
    assert len(created) == 1  # the tablet's session is new to this device


def test_a_replayed_push_with_defaulted_values_is_not_a_conflict(world: World, ann_app: App) -> None:
    schedule = make_schedule(world.ann)
    ann_app.pull()
    # Empty status and source mean the defaults (taken, app): the stored row differs from what was pushed.
    changes = table_changes(dose_records={"created": [dose(schedule, status="", source="")]})
    assert ann_app.push(changes) == {}
    assert ann_app.push(changes) == {}  # the answer was lost: the same push again is not a 409
    stored = DoseRecord.objects.get(patient=world.ann)
    assert (stored.status, stored.source) == ("taken", "app")
    # Changed on the server since (a correction by staff): now the replay is a real conflict.
    DoseRecord.objects.filter(pk=stored.pk).update(note="checked by the nurse")
    ann_app.push(changes, expect=409)


def test_a_dose_pushed_days_late_does_what_a_rest_post_does(world: World, ann_app: App, client_for) -> None:
    due = date(2026, 3, 2)
    with time_machine.travel(local_noon(world.ann, due), tick=False):
        schedule = denosumab(world, world.ann, due)
    watch_on(world.ann, due + timedelta(days=40))
    assert Alert.objects.get(patient=world.ann).state == AlertState.OPEN
    given = local_noon(world.ann, due + timedelta(days=33))  # given a week ago, synced today
    with time_machine.travel(local_noon(world.ann, due + timedelta(days=40)), tick=False):
        ann_app.pull()
        assert ann_app.push(table_changes(dose_records={"created": [dose(schedule, at=given, site="thigh")]})) == {}
        shown = client_for(world.cora).get(f"/api/v1/patients/{world.ann.id}/schedules/{schedule.id}/").json()
    alert = Alert.objects.get(patient=world.ann)
    assert alert.state == AlertState.RESOLVED
    assert shown["next_due"] == "2026-10-04"  # D2: 6 months from the late injection
    assert shown["injection_state"] == "scheduled"


def test_created_that_exists_is_an_update_and_updated_that_is_missing_is_a_create(world: World, ann_app: App) -> None:
    schedule = make_schedule(world.ann)
    ann_app.pull()
    record = dose(schedule)
    ann_app.push(table_changes(dose_records={"created": [record]}))
    ann_app.pull()
    assert ann_app.push(table_changes(dose_records={"created": [{**record, "note": "after breakfast"}]})) == {}
    assert DoseRecord.objects.get(pk=record["id"]).note == "after breakfast"
    missing = dose(schedule, at=timezone.now() - timedelta(days=2), _status="updated")
    assert ann_app.push(table_changes(dose_records={"updated": [missing]})) == {}
    assert DoseRecord.objects.filter(pk=missing["id"]).exists()


def test_deletes_of_missing_rows_are_ignored_and_medical_records_cannot_be_deleted(world: World, ann_app: App) -> None:
    existing = make_dose(world.ann)
    ann_app.pull()
    body = ann_app.push(table_changes(dose_records={"deleted": [str(uuid.uuid4()), str(existing.id)]}))
    assert body["experimentalRejectedIds"] == {"dose_records": [str(existing.id)]}
    assert DoseRecord.objects.filter(pk=existing.pk).exists()


def test_read_only_tables_and_columns_are_rejected_per_record_and_never_applied(world: World, ann_app: App) -> None:
    schedule = make_schedule(world.ann)
    existing = make_dose(world.ann, schedule)
    other = make_schedule(world.ann, code="letrozole")
    pulled = ann_app.pull()["changes"]
    schedule_row = (
        pulled["schedules"]["created"][0]
        if pulled["schedules"]["created"][0]["id"] == str(schedule.id)
        else pulled["schedules"]["created"][1]
    )
    profile = pulled["profiles"]["created"][0]
    dose_row = pulled["dose_records"]["created"][0]
    fine = dose(schedule, at=timezone.now() - timedelta(days=3))
    body = ann_app.push(
        table_changes(
            schedules={"updated": [{**schedule_row, "dose": "140 mg"}]},
            dose_records={"updated": [{**dose_row, "schedule_id": str(other.id)}], "created": [fine]},
            profiles={"updated": [{**profile, "weight_kg": 99.0, "quiet_hours_start": "22:00"}]},
            notices={"created": [{"id": str(uuid.uuid4()), "title": "Fake"}]},
        )
    )
    rejected = body["experimentalRejectedIds"]
    assert rejected["schedules"] == [str(schedule.id)]
    assert rejected["dose_records"] == [str(existing.id)]
    assert rejected["profiles"] == [str(world.ann.id)]
    assert len(rejected["notices"]) == 1
    assert "weight_kg" in body["rejected"]["profiles"][str(world.ann.id)]
    assert Schedule.objects.get(pk=schedule.pk).dose == "70 mg"
    assert DoseRecord.objects.get(pk=existing.pk).schedule_id == schedule.id
    assert PatientProfile.objects.get(pk=world.ann.pk).quiet_hours_start is None  # the whole record is refused
    assert DoseRecord.objects.filter(pk=fine["id"]).exists()  # the rest of the push is applied


def test_profile_preferences_are_writable(world: World, ann_app: App) -> None:
    profile = ann_app.pull()["changes"]["profiles"]["created"][0]
    changed = {**profile, "quiet_hours_start": "22:00", "quiet_hours_end": "07:00", "push_detail_opt_in": True}
    assert ann_app.push(table_changes(profiles={"updated": [changed]})) == {}
    stored = PatientProfile.objects.get(pk=world.ann.pk)
    assert (str(stored.quiet_hours_start), str(stored.quiet_hours_end), stored.push_detail_opt_in) == (
        "22:00:00",
        "07:00:00",
        True,
    )
    half = {**changed, "quiet_hours_end": None}
    ann_app.pull()
    body = ann_app.push(table_changes(profiles={"updated": [half]}))
    assert "Quiet hours need both" in body["rejected"]["profiles"][str(world.ann.id)]


def test_services_refusals_are_rejected_per_record(world: World, ann_app: App) -> None:
    schedule = make_schedule(world.ann)
    ann_app.pull()
    future = dose(schedule, at=timezone.now() + timedelta(days=2))
    body = ann_app.push(table_changes(dose_records={"created": [future]}, exercise_sessions={"created": [session()]}))
    assert body["experimentalRejectedIds"] == {"dose_records": [future["id"]]}
    assert "future" in body["rejected"]["dose_records"][future["id"]]
    assert not DoseRecord.objects.filter(pk=future["id"]).exists()
    assert ExerciseSession.objects.filter(patient=world.ann).count() == 1


def test_a_record_changed_on_the_server_after_the_pull_is_a_409_and_nothing_is_applied(
    world: World, ann_app: App, client_for
) -> None:
    existing = make_dose(world.ann)
    row = ann_app.pull()["changes"]["dose_records"]["created"][0]
    response = client_for(world.cora).patch(
        f"/api/v1/patients/{world.ann.id}/doses/{existing.id}/", {"note": "corrected by the clinic"}, format="json"
    )
    assert response.status_code == 200
    body = ann_app.push(
        table_changes(dose_records={"updated": [{**row, "note": "mine"}]}, exercise_sessions={"created": [session()]}),
        expect=409,
    )
    assert body["error"]["code"] == "conflict"
    assert body["error"]["fields"] == {"dose_records": [str(existing.id)]}
    assert DoseRecord.objects.get(pk=existing.pk).note == "corrected by the clinic"
    assert not ExerciseSession.objects.filter(patient=world.ann).exists()
    # After pulling, the same change goes through.
    ann_app.pull()
    assert ann_app.push(table_changes(dose_records={"updated": [{**row, "note": "mine"}]})) == {}
    assert DoseRecord.objects.get(pk=existing.pk).note == "mine"


def test_an_update_of_a_record_deleted_on_the_server_is_a_409(world: World, ann_app: App) -> None:
    existing = make_dose(world.ann)
    row = ann_app.pull()["changes"]["dose_records"]["created"][0]
    DoseRecord.objects.filter(pk=existing.pk).delete()
    body = ann_app.push(table_changes(dose_records={"updated": [{**row, "note": "x"}]}), expect=409)
    assert body["error"]["fields"] == {"dose_records": [str(existing.id)]}


def test_ids_of_another_patient_are_rejected_and_her_rows_untouched(world: World, ann_app: App) -> None:
    schedule = make_schedule(world.ann)
    beas = make_dose(world.bea)
    ann_app.pull()
    hijack = dose(schedule, id=str(beas.id), note="mine now")
    body = ann_app.push(table_changes(dose_records={"created": [hijack]}))
    assert body["experimentalRejectedIds"] == {"dose_records": [str(beas.id)]}
    stored = DoseRecord.objects.get(pk=beas.pk)
    assert (stored.patient_id, stored.note) == (world.bea.id, "")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"lab_results": {"created": [], "updated": [], "deleted": []}}, "lab_results"),
        (
            {"dose_records": {"created": [{"id": "not-a-uuid"}], "updated": [], "deleted": []}},
            "dose_records.created.0.id",
        ),
        (
            {"dose_records": {"created": [{"id": str(uuid.uuid4()), "secret": 1}], "updated": [], "deleted": []}},
            "dose_records.created.0.secret",
        ),
        (
            {
                "dose_records": {
                    "created": [{"id": str(uuid.uuid4()), "taken_at": "yesterday"}],
                    "updated": [],
                    "deleted": [],
                }
            },
            "dose_records.created.0.taken_at",
        ),
        ({"dose_records": {"created": "nope"}}, "dose_records.created"),
        (
            {"exercise_sessions": {"created": [session(note="a\x00b")], "updated": [], "deleted": []}},
            "exercise_sessions.created.0.note",
        ),
        ({"dose_records": {"deleted": [12]}}, "dose_records.deleted.0"),
        ([1, 2], "changes"),
    ],
)
def test_malformed_changes_are_a_400_and_nothing_is_applied(world: World, ann_app: App, changes, field) -> None:
    make_schedule(world.ann)
    ann_app.pull()
    good = {"exercise_sessions": {"created": [session()], "updated": [], "deleted": []}}
    body_changes = {**good, **changes} if isinstance(changes, dict) else changes
    response = ann_app.client.post(
        f"/api/v1/sync/?last_pulled_at={ann_app.last_pulled_at}", {"changes": body_changes}, format="json"
    )
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert not ExerciseSession.objects.filter(patient=world.ann).exists()


def test_malformed_json_and_missing_cursor_are_a_400(world: World, ann_app: App) -> None:
    ann_app.pull()
    response = ann_app.client.post(
        f"/api/v1/sync/?last_pulled_at={ann_app.last_pulled_at}", data="{nope", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
    response = ann_app.client.post("/api/v1/sync/", {"changes": {}}, format="json")
    assert response.status_code == 400
    assert "last_pulled_at" in response.json()["error"]["fields"]


def test_a_10_mb_push_is_a_413(world: World, ann_app: App) -> None:
    ann_app.pull()
    ann_app.client.raise_request_exception = False
    note = "x" * 10_000_000
    response = ann_app.client.post(
        f"/api/v1/sync/?last_pulled_at={ann_app.last_pulled_at}",
        data='{"changes": {"exercise_sessions": {"created": [{"note": "' + note + '"}]}}}',
        content_type="application/json",
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert not ExerciseSession.objects.exists()


def test_staff_cannot_push(world: World, client_for) -> None:
    response = client_for(world.cora).post("/api/v1/sync/?last_pulled_at=1", {"changes": {}}, format="json")
    assert response.status_code == 403


@pytest.mark.postgres
def test_the_same_push_sent_twice_at_once_creates_each_record_once(world: World, app_for) -> None:
    """A phone retrying while its first push is still running: two connections, one result."""
    import threading

    from django.db import connection

    schedule = make_schedule(world.ann)
    first: App = app_for(world.ann)
    first.pull()
    changes = table_changes(dose_records={"created": [dose(schedule)]}, exercise_sessions={"created": [session()]})
    answers: list[Any] = []
    start = threading.Barrier(2)

    def send() -> None:
        try:
            app = app_for(world.ann)
            start.wait(10)
            answers.append(app.push(changes, last_pulled_at=first.last_pulled_at))
        except BaseException as exc:  # surfaced below
            answers.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert answers == [{}, {}]
    assert DoseRecord.objects.filter(patient=world.ann).count() == 1
    assert ExerciseSession.objects.filter(patient=world.ann).count() == 1


def test_her_ai_course_reaches_her_app_read_only(world: World, ann_app: App, client_for) -> None:
    """Issue 15: a stop recorded by her care team reaches her app on its next pull (her app stops the weekly
    check-in); the app cannot write the course itself."""
    ann_app.pull()
    stop = client_for(world.cora).post(
        f"/api/v1/patients/{world.ann.id}/ai-course/stop/",
        {"stopped_on": str(timezone.localdate() - timedelta(days=10)), "reason": "side_effects"},
        format="json",
    )
    assert stop.status_code == 200, stop.content
    updated = ann_app.pull()["changes"]["profiles"]["updated"]
    assert [(p["ai_stopped_on"], p["ai_stop_reason"]) for p in updated] == [
        (str(timezone.localdate() - timedelta(days=10)), "side_effects")
    ]
    body = ann_app.push(table_changes(profiles={"updated": [{**updated[0], "ai_stopped_on": None}]}))
    assert "ai_stopped_on" in body["rejected"]["profiles"][str(world.ann.id)]
    assert PatientProfile.objects.get(pk=world.ann.pk).ai_stop_reason == "side_effects"
