"""A client id reused with a different body is a 409 (issue 11, class 11), on every endpoint whose ids the client
generates: doses, supplement intakes, dietary calcium, exercise sessions, joint-pain check-ins. The same body again
stays an idempotent 200; what is compared is what the client sent, in equivalent forms (the same instant in another
offset, 500 and 500.00, a default stated or left out). Before this, the second post was silently answered with the
first record."""

import threading
import time as wall
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection, transaction
from django.db.models import Model
from django.forms.models import model_to_dict

from apps.exercise.models import ExerciseSession
from apps.joint_pain.models import JointPainCheckIn
from apps.medications.models import DoseRecord, Schedule
from apps.supplements.models import DietaryCalciumEntry, SupplementIntake, SupplementPlan
from backend.client_ids import DIFFERS, ID_REUSED, insert_or_replay
from backend.errors import ConflictError
from tests.conftest import World
from tests.factories import make_schedule
from tests.supplements.factories import make_plan

NOW = datetime(2026, 3, 11, 12, tzinfo=UTC)  # Wednesday; Ann lives in London (GMT until 29 March)
AT = "2026-03-11T08:05:00+00:00"


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def daily(world: World) -> Schedule:
    return make_schedule(world.ann, "letrozole", starts_on=date(2026, 3, 1))


@pytest.fixture
def plan(world: World) -> SupplementPlan:
    return make_plan(world.ann, supplement="calcium_carbonate", amount=Decimal("600"), unit="mg")


Ctx = tuple[Schedule, SupplementPlan]
# endpoint id -> (path, model, first body given the context)
ENDPOINTS: dict[str, tuple[str, type[Model], Callable[[Ctx], dict[str, Any]]]] = {
    "dose": (
        "doses",
        DoseRecord,
        lambda ctx: {"schedule": str(ctx[0].id), "taken_at": AT, "site": "", "note": "with water"},
    ),
    "intake": (
        "supplement-intakes",
        SupplementIntake,
        lambda ctx: {"supplement": "calcium_citrate", "amount": "500", "unit": "mg", "taken_at": AT, "note": "lunch"},
    ),
    "intake_of_plan": ("supplement-intakes", SupplementIntake, lambda ctx: {"plan": str(ctx[1].id), "taken_at": AT}),
    "diet_mg": ("dietary-calcium", DietaryCalciumEntry, lambda ctx: {"date": "2026-03-11", "mg": "250"}),
    "diet_food": ("dietary-calcium", DietaryCalciumEntry, lambda ctx: {"date": "2026-03-11", "food": "milk"}),
    "session": (
        "exercise-sessions",
        ExerciseSession,
        lambda ctx: {"kind": "balance", "minutes": 40, "performed_at": AT, "note": "tai chi"},
    ),
    "check_in": (
        "check-ins",
        JointPainCheckIn,
        lambda ctx: {"answered_at": AT, "worst_pain": 5, "stiffness": 3, "interfered": False},
    ),
}


def post(client: Any, world: World, path: str, body: dict[str, Any]) -> Any:
    return client.post(f"/api/v1/patients/{world.ann.id}/{path}/", body, format="json")


def first_post(world: World, client_for, ctx: Ctx, endpoint: str) -> tuple[Any, str, type[Model], dict[str, Any]]:
    path, model, make = ENDPOINTS[endpoint]
    client = client_for(world.ann.user)
    body = {"id": str(uuid.uuid4()), **make(ctx)}
    created = post(client, world, path, body)
    assert created.status_code == 201, created.content
    return client, path, model, body


def snapshot(model: type[Model], pk: str) -> dict[str, Any]:
    return model_to_dict(model._default_manager.get(pk=pk))


# --- the same body again: 200 --------------------------------------------------------------------------------------
OMIT = "<left out>"  # the retry does not send this field (only what the client sends is compared)

SAME = [
    pytest.param("dose", {}, id="dose_identical"),
    pytest.param("dose", {"taken_at": "2026-03-11T00:05:00-08:00"}, id="dose_same_instant_other_offset"),
    pytest.param("dose", {"taken_at": "2026-03-11T08:05:00Z"}, id="dose_same_instant_Z"),
    pytest.param("dose", {"status": "taken", "source": "app", "occurrence_on": None}, id="dose_defaults_stated"),
    pytest.param("dose", {"site": OMIT, "note": OMIT}, id="dose_fields_left_out"),
    pytest.param("intake", {"amount": "500.00"}, id="intake_500_is_500.00"),
    pytest.param("intake", {"plan": None}, id="intake_no_plan_stated"),
    pytest.param("intake_of_plan", {"supplement": "calcium_carbonate", "amount": "600", "unit": "mg"}, id="plan_spelt"),
    pytest.param("intake_of_plan", {"note": ""}, id="plan_default_note_stated"),
    pytest.param("diet_mg", {"mg": "250.0", "food": "", "servings": None}, id="diet_defaults_stated"),
    pytest.param("diet_food", {"servings": "1.00"}, id="diet_default_serving_stated"),
    pytest.param("session", {"performed_at": "2026-03-11T09:05:00+01:00", "minutes": 40}, id="session_other_offset"),
    pytest.param("check_in", {"ai_impact": "none"}, id="check_in_default_stated"),
    pytest.param("check_in", {"answered_at": "2026-03-11T00:05:00-08:00"}, id="check_in_other_offset"),
]


@pytest.mark.parametrize(("endpoint", "changes"), SAME)
def test_the_same_body_again_is_200_with_the_stored_record(
    world: World, client_for, daily: Schedule, plan: SupplementPlan, endpoint: str, changes: dict[str, Any]
) -> None:
    client, path, model, body = first_post(world, client_for, (daily, plan), endpoint)
    before = snapshot(model, body["id"])
    again = {k: v for k, v in {**body, **changes}.items() if v != OMIT}
    response = post(client, world, path, again)
    assert response.status_code == 200, response.content
    assert response.json()["id"] == body["id"]
    assert model._default_manager.count() == 1
    assert snapshot(model, body["id"]) == before


# --- another body: 409 naming each differing field, nothing written ---------------------------------------------
DIFFERENT = [
    pytest.param("dose", {"taken_at": "2026-03-11T08:05:01+00:00"}, ["taken_at"], id="dose_one_second_later"),
    pytest.param("dose", {"taken_at": "2026-03-11T08:05:00-08:00"}, ["taken_at"], id="dose_same_wall_time_other_zone"),
    pytest.param("dose", {"status": "skipped"}, ["status"], id="dose_status"),
    pytest.param("dose", {"source": "clinic"}, ["source"], id="dose_source"),
    pytest.param("dose", {"site": "left thigh"}, ["site"], id="dose_site"),
    pytest.param("dose", {"note": "with milk"}, ["note"], id="dose_note"),
    pytest.param("dose", {"occurrence_on": "2026-03-11"}, ["occurrence_on"], id="dose_occurrence"),
    pytest.param("dose", {"note": "", "status": "skipped"}, ["status", "note"], id="dose_two_fields"),
    pytest.param("intake", {"amount": "500.01"}, ["amount"], id="intake_amount"),
    pytest.param("intake", {"unit": "IU", "supplement": "vitamin_d3"}, ["supplement", "unit"], id="intake_what"),
    pytest.param("intake", {"taken_at": "2026-03-11T08:06:00+00:00"}, ["taken_at"], id="intake_time"),
    pytest.param("intake", {"note": ""}, ["note"], id="intake_note_cleared"),
    pytest.param("intake_of_plan", {"plan": None}, ["plan"], id="plan_dropped"),
    pytest.param("intake_of_plan", {"amount": "500", "unit": "mg"}, ["amount"], id="plan_amount_not_the_plans"),
    pytest.param("diet_mg", {"mg": "250.1"}, ["mg"], id="diet_mg"),
    pytest.param("diet_mg", {"date": "2026-03-10"}, ["date"], id="diet_date"),
    pytest.param("diet_food", {"servings": "2"}, ["servings"], id="diet_servings"),
    pytest.param("diet_food", {"food": "yogurt"}, ["food"], id="diet_food"),
    pytest.param("session", {"minutes": 41}, ["minutes"], id="session_minutes"),
    pytest.param("session", {"kind": "resistance"}, ["kind"], id="session_kind"),
    pytest.param("session", {"performed_at": "2026-03-11T08:05:00+01:00"}, ["performed_at"], id="session_time"),
    pytest.param("session", {"note": "yoga"}, ["note"], id="session_note"),
    pytest.param("check_in", {"worst_pain": 6}, ["worst_pain"], id="check_in_worst_pain"),
    pytest.param("check_in", {"ai_impact": "missed"}, ["ai_impact"], id="check_in_ai_impact"),
    pytest.param("check_in", {"interfered": True, "stiffness": 4}, ["stiffness", "interfered"], id="check_in_two"),
]


@pytest.mark.parametrize(("endpoint", "changes", "named"), DIFFERENT)
def test_another_body_is_a_409_naming_what_differs(
    world: World,
    client_for,
    daily: Schedule,
    plan: SupplementPlan,
    endpoint: str,
    changes: dict[str, Any],
    named: list[str],
) -> None:
    client, path, model, body = first_post(world, client_for, (daily, plan), endpoint)
    before = snapshot(model, body["id"])
    response = post(client, world, path, {**body, **changes})
    assert response.status_code == 409, response.content
    assert response.json() == {
        "error": {"code": "conflict", "message": ID_REUSED, "fields": {key: [DIFFERS] for key in named}}
    }
    assert model._default_manager.count() == 1
    assert snapshot(model, body["id"]) == before
    # And the original body is still an idempotent 200 afterwards.
    assert post(client, world, path, body).status_code == 200


def test_a_dose_id_reused_for_another_schedule_is_a_409_naming_it(world: World, client_for, daily: Schedule) -> None:
    other = make_schedule(world.ann, "alendronate")
    client = client_for(world.ann.user)
    body = {"id": str(uuid.uuid4()), "schedule": str(daily.id), "taken_at": AT}
    assert post(client, world, "doses", body).status_code == 201
    response = post(client, world, "doses", {**body, "schedule": str(other.id)})
    assert response.status_code == 409
    assert response.json()["error"]["fields"] == {"schedule": [DIFFERS]}
    assert DoseRecord.objects.get().schedule_id == daily.id


def test_another_patients_id_is_still_a_400_that_leaks_nothing(world: World, client_for) -> None:
    body = {"id": str(uuid.uuid4()), "kind": "balance", "minutes": 40, "performed_at": AT}
    assert post(client_for(world.ann.user), world, "exercise-sessions", body).status_code == 201
    response = client_for(world.bea.user).post(
        f"/api/v1/patients/{world.bea.id}/exercise-sessions/", {**body, "minutes": 5}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["id"]


# --- the concurrent double post ------------------------------------------------------------------------------------
def test_an_id_that_raced_in_with_another_body_is_a_conflict(world: World) -> None:
    """insert_or_replay's fallback: the id was inserted after the replay check (by a request holding another lock)."""
    stored = ExerciseSession.objects.create(
        id=uuid.uuid4(), patient=world.ann, kind="balance", minutes=40, performed_at=NOW, performed_on=NOW.date()
    )
    late = ExerciseSession(**{f.attname: getattr(stored, f.attname) for f in ExerciseSession._meta.concrete_fields})
    same = {"minutes": ("minutes", 40), "performed_at": ("performed_at", NOW)}
    assert insert_or_replay(late, body=same, patient_id=world.ann.pk) == (stored, False)
    with pytest.raises(ConflictError) as conflict:
        insert_or_replay(late, body={**same, "minutes": ("minutes", 45)}, patient_id=world.ann.pk)
    assert conflict.value.fields == {"minutes": [DIFFERS]}
    assert ExerciseSession.objects.get().minutes == 40


def _waiting_on_locks() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return int(cursor.fetchone()[0])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_posts_of_one_id_with_different_bodies_at_once_are_201_and_409(world: World, client_for) -> None:
    body = {"id": str(uuid.uuid4()), "kind": "weight_bearing", "performed_at": AT}
    results: list[tuple[int, int] | str] = []

    def send(minutes: int) -> None:
        try:
            response = post(client_for(world.ann.user), world, "exercise-sessions", {**body, "minutes": minutes})
            results.append((response.status_code, minutes))
        except Exception as exc:  # a 500 surfaces as the exception in the test client
            results.append(type(exc).__name__)
        finally:
            connection.close()

    # An uncommitted row with the same id makes both requests pass the id lookup and wait at the insert; rolling it
    # back lets one insert and the other find that one's row (insert_or_replay's IntegrityError path).
    threads = [threading.Thread(target=send, args=(minutes,)) for minutes in (30, 45)]
    with transaction.atomic():
        ExerciseSession.objects.create(
            id=body["id"], patient=world.ann, kind="balance", minutes=5, performed_at=NOW, performed_on=NOW.date()
        )
        for thread in threads:
            thread.start()
        deadline = wall.monotonic() + 10
        while _waiting_on_locks() < 2 and wall.monotonic() < deadline:
            wall.sleep(0.02)
        assert _waiting_on_locks() == 2
        transaction.set_rollback(True)
    for thread in threads:
        thread.join()
    statuses = sorted(str(r[0]) if isinstance(r, tuple) else r for r in results)
    assert statuses == ["201", "409"], results
    winner = next(r[1] for r in results if isinstance(r, tuple) and r[0] == 201)
    assert ExerciseSession.objects.get(pk=body["id"]).minutes == winner
