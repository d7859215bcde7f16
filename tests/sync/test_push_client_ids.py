"""Sync push and reused client ids (issue 11, class 11, the sync path). WatermelonDB's protocol keeps its own
semantics (a created record that exists is an update; the same record pushed again is a replay), but a different
body is never silently dropped: the app's own record pushed again as created, with values edited on the phone
after a push whose answer was lost, is applied as her update (or rejected per record), and a create that meets the
same id recorded over REST with other values is a 409, not a silent success."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.exercise.models import ExerciseSession
from apps.medications.models import DoseRecord
from apps.supplements.models import SupplementIntake
from apps.sync import push
from tests.conftest import World
from tests.factories import make_schedule
from tests.sync.conftest import App, table_changes
from tests.sync.test_push import dose, intake, ms, session

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ann_app(world: World, app_for) -> App:
    app: App = app_for(world.ann)
    return app


def test_the_apps_own_create_pushed_again_with_an_edit_is_applied_not_dropped(world: World, ann_app: App) -> None:
    schedule = make_schedule(world.ann, "letrozole")
    ann_app.pull()
    first = dose(schedule, at=timezone.now() - timedelta(hours=3))
    assert ann_app.push(table_changes(dose_records={"created": [first]})) == {}
    # The answer was lost; meanwhile she corrected the time on her phone. WatermelonDB still holds it as created.
    edited = {**first, "taken_at": ms(timezone.now() - timedelta(hours=2)), "note": "after breakfast"}
    assert ann_app.push(table_changes(dose_records={"created": [edited]})) == {}
    stored = DoseRecord.objects.get(pk=first["id"])
    assert ms(stored.taken_at) == edited["taken_at"]
    assert stored.note == "after breakfast"
    assert DoseRecord.objects.count() == 1


def test_the_same_create_pushed_again_is_still_a_replay(world: World, ann_app: App) -> None:
    schedule = make_schedule(world.ann, "letrozole")
    ann_app.pull()
    changes = table_changes(dose_records={"created": [dose(schedule, status="", source="")]})
    assert ann_app.push(changes) == {}
    stored = DoseRecord.objects.get()
    assert ann_app.push(changes) == {}
    assert DoseRecord.objects.get().updated_at == stored.updated_at  # nothing written


def test_an_edit_the_app_may_not_make_is_rejected_per_record_not_dropped(world: World, ann_app: App) -> None:
    ann_app.pull()
    first = intake()
    assert ann_app.push(table_changes(supplement_intakes={"created": [first]})) == {}
    body = ann_app.push(table_changes(supplement_intakes={"created": [{**first, "amount": 400}]}))
    assert body["experimentalRejectedIds"] == {"supplement_intakes": [first["id"]]}
    assert "amount" in body["rejected"]["supplement_intakes"][first["id"]]
    assert SupplementIntake.objects.get().amount == 500


def _hide_stored_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """The push reads (and locks) the rows it names first; a REST post of the same id that commits after that read
    is invisible to it until the service looks the id up. Hiding the read rows reproduces that interleaving."""
    monkeypatch.setattr(push, "_stored", lambda table, patient, ids: {})


def test_a_create_meeting_the_same_id_recorded_over_rest_with_other_values_is_a_409(
    world: World, ann_app: App, client_for, monkeypatch: pytest.MonkeyPatch
) -> None:
    ann_app.pull()
    record = session(minutes=30)
    rest = {
        "id": record["id"],
        "kind": "weight_bearing",
        "minutes": 45,
        "performed_at": (timezone.now() - timedelta(hours=3)).isoformat(),
    }
    response = client_for(world.ann.user).post(
        f"/api/v1/patients/{world.ann.id}/exercise-sessions/", rest, format="json"
    )
    assert response.status_code == 201
    _hide_stored_rows(monkeypatch)
    other = session()
    body = ann_app.push(table_changes(exercise_sessions={"created": [other, record]}), expect=409)
    assert body["error"]["code"] == "conflict"
    assert body["error"]["fields"] == {"exercise_sessions": [record["id"]]}
    assert ExerciseSession.objects.get(pk=record["id"]).minutes == 45
    assert not ExerciseSession.objects.filter(pk=other["id"]).exists()  # all or nothing


def test_a_create_meeting_the_same_id_with_the_same_values_is_a_replay(
    world: World, ann_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    schedule = make_schedule(world.ann, "letrozole")
    ann_app.pull()
    record: dict[str, Any] = dose(schedule, status="", source="")
    assert ann_app.push(table_changes(dose_records={"created": [record]})) == {}
    _hide_stored_rows(monkeypatch)
    assert ann_app.push(table_changes(dose_records={"created": [record]})) == {}
    assert DoseRecord.objects.count() == 1
