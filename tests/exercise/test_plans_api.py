"""Exercise plans over HTTP: DOMAIN defaults (E1-E3), targets set by the care team only, reminder days and time set
by the patient too, one active plan at a time, roles."""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine

from apps.accounts.models import Patient
from apps.exercise.models import ExercisePlan
from backend.models import AuditEvent
from tests.conftest import World
from tests.exercise.factories import make_exercise_plan

NOW = datetime(2026, 4, 15, 12, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def plans_url(patient: Patient, plan: Any = None) -> str:
    return f"/api/v1/patients/{patient.id}/exercise-plans/" + (f"{plan.id}/" if plan else "")


def errors(response) -> dict[str, list[str]]:
    body = response.json()
    assert body["error"]["code"] == "invalid", body
    return body["error"]["fields"]


TARGETS = {"weight_bearing_minutes_target": 90, "resistance_days_target": 1, "balance_sessions_target": 3}


# --- creating ------------------------------------------------------------------------------------------------
def test_a_patient_creates_her_plan_with_the_domain_defaults(world: World, client_for) -> None:
    response = client_for(world.ann.user).post(
        plans_url(world.ann), {"reminder_days": [5, 1, 3], "local_time": "18:30"}, format="json"
    )
    assert response.status_code == 201, response.content
    shown = response.json()
    assert (
        shown["weight_bearing_minutes_target"],
        shown["resistance_days_target"],
        shown["balance_sessions_target"],
    ) == (150, 2, 2)  # DOMAIN E1, E2, E3
    assert shown["reminder_days"] == [1, 3, 5]
    assert shown["local_time"] == "18:30:00"
    assert shown["status"] == "active"
    assert shown["created_by"] == str(world.ann.user.id)


def test_an_empty_body_is_a_default_plan_without_reminders(world: World, client_for) -> None:
    response = client_for(world.ann.user).post(plans_url(world.ann), {}, format="json")
    assert response.status_code == 201
    assert (response.json()["reminder_days"], response.json()["local_time"]) == ([], "09:00:00")


def test_a_coordinator_sets_targets(world: World, client_for) -> None:
    response = client_for(world.cora).post(plans_url(world.ann), TARGETS, format="json")
    assert response.status_code == 201, response.content
    assert {k: response.json()[k] for k in TARGETS} == TARGETS
    assert AuditEvent.objects.filter(actor=world.cora, patient_id=world.ann.id, resource="exercise_plan").exists()


@pytest.mark.parametrize("field", sorted(TARGETS))
def test_a_patient_may_not_set_targets(world: World, client_for, field: str) -> None:
    response = client_for(world.ann.user).post(plans_url(world.ann), {field: TARGETS[field]}, format="json")
    assert response.status_code == 403
    assert not ExercisePlan.objects.exists()


def test_only_one_active_plan(world: World, client_for) -> None:
    make_exercise_plan(world.ann)
    response = client_for(world.cora).post(plans_url(world.ann), TARGETS, format="json")
    assert response.status_code == 400
    assert "already has an active exercise plan" in response.json()["error"]["message"]
    assert ExercisePlan.objects.count() == 1


def test_after_stopping_a_plan_a_new_one_may_start(world: World, client_for) -> None:
    plan = make_exercise_plan(world.ann)
    client = client_for(world.cora)
    assert client.patch(plans_url(world.ann, plan), {"status": "stopped"}, format="json").status_code == 200
    assert client.post(plans_url(world.ann), TARGETS, format="json").status_code == 201
    rows = client.get(plans_url(world.ann)).json()["results"]
    assert [row["status"] for row in rows] == ["active", "stopped"]


def test_the_database_refuses_a_second_active_plan(world: World) -> None:
    from django.db import IntegrityError, transaction

    make_exercise_plan(world.ann)
    with pytest.raises(IntegrityError), transaction.atomic():
        ExercisePlan.objects.create(patient=world.ann)


BAD_PLANS = [
    ({"weight_bearing_minutes_target": 1001}, "weight_bearing_minutes_target"),
    ({"weight_bearing_minutes_target": -10}, "weight_bearing_minutes_target"),
    ({"resistance_days_target": 8}, "resistance_days_target"),
    ({"balance_sessions_target": "two"}, "balance_sessions_target"),
    ({"reminder_days": [7]}, "reminder_days.0"),
    ({"reminder_days": [-1, 2]}, "reminder_days.0"),
    ({"reminder_days": [1, 1]}, "reminder_days"),
    ({"reminder_days": "mon"}, "reminder_days"),
    ({"reminder_days": [0, 1, 2, 3, 4, 5, 6, 0]}, "reminder_days"),
    ({"local_time": "25:00"}, "local_time"),
    ({"status": "stopped"}, "status"),  # a new plan is active
    ({"intensity": "moderate"}, "intensity"),
]


@pytest.mark.parametrize(("body", "field"), BAD_PLANS, ids=[f for _, f in BAD_PLANS])
def test_bad_plans_are_refused_whole(world: World, client_for, body: dict[str, Any], field: str) -> None:
    response = client_for(world.cora).post(plans_url(world.ann), body, format="json")
    assert response.status_code == 400, response.content
    assert field in errors(response)
    assert not ExercisePlan.objects.exists()


# --- changing ------------------------------------------------------------------------------------------------
def test_a_patient_changes_her_reminder_days_and_time(world: World, client_for) -> None:
    plan = make_exercise_plan(world.ann, world.cora, **TARGETS)
    response = client_for(world.ann.user).patch(
        plans_url(world.ann, plan), {"reminder_days": [6, 0], "local_time": "07:15"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert (response.json()["reminder_days"], response.json()["local_time"]) == ([0, 6], "07:15:00")
    assert response.json()["weight_bearing_minutes_target"] == 90


@pytest.mark.parametrize(
    "change", [{"weight_bearing_minutes_target": 100}, {"resistance_days_target": 3}, {"status": "stopped"}]
)
def test_a_patient_may_not_change_targets_or_stop_the_plan(world: World, client_for, change: dict[str, Any]) -> None:
    plan = make_exercise_plan(world.ann)
    response = client_for(world.ann.user).patch(
        plans_url(world.ann, plan), {**change, "local_time": "20:00"}, format="json"
    )
    assert response.status_code == 403
    plan.refresh_from_db()
    assert (plan.weight_bearing_minutes_target, plan.resistance_days_target, plan.status) == (150, 2, "active")
    assert plan.local_time.hour == 9  # nothing half-written


def test_an_app_echoing_unchanged_targets_is_not_setting_them(world: World, client_for) -> None:
    plan = make_exercise_plan(world.ann)
    body = {"weight_bearing_minutes_target": 150, "resistance_days_target": 2, "reminder_days": [2]}
    response = client_for(world.ann.user).patch(plans_url(world.ann, plan), body, format="json")
    assert response.status_code == 200
    assert response.json()["reminder_days"] == [2]


def test_a_coordinator_adjusts_targets(world: World, client_for) -> None:
    plan = make_exercise_plan(world.ann)
    response = client_for(world.cora).patch(plans_url(world.ann, plan), TARGETS, format="json")
    assert response.status_code == 200
    assert {k: response.json()[k] for k in TARGETS} == TARGETS


def test_a_stopped_plan_cannot_change(world: World, client_for) -> None:
    plan = make_exercise_plan(world.ann)
    client = client_for(world.cora)
    assert client.patch(plans_url(world.ann, plan), {"status": "stopped"}, format="json").status_code == 200
    response = client.patch(plans_url(world.ann, plan), {"status": "active"}, format="json")
    assert response.status_code == 400
    assert "status" in errors(response)
    plan.refresh_from_db()
    assert plan.status == "stopped"
    assert plan.status_changed_at == NOW


def test_another_patients_plan_is_404(world: World, client_for) -> None:
    bea_plan = make_exercise_plan(world.bea)
    client = client_for(world.admin)
    assert client.get(f"/api/v1/patients/{world.ann.id}/exercise-plans/{bea_plan.id}/").status_code == 404
    assert client.get(plans_url(world.bea, bea_plan)).status_code == 200


# --- roles -----------------------------------------------------------------------------------------------------
def actor(world: World, who: str) -> Any:
    value = getattr(world, who)
    return value.user if isinstance(value, Patient) else value


@pytest.mark.parametrize("who", ["ann", "cora", "phil", "admin"])
def test_in_scope_reads(world: World, client_for, who: str) -> None:
    plan = make_exercise_plan(world.ann)
    client = client_for(actor(world, who))
    assert [row["id"] for row in client.get(plans_url(world.ann)).json()["results"]] == [str(plan.id)]
    assert client.get(plans_url(world.ann, plan)).json()["id"] == str(plan.id)


def test_a_pharmacist_reads_only(world: World, client_for) -> None:
    plan = make_exercise_plan(world.ann)
    client = client_for(world.phil)
    assert client.patch(plans_url(world.ann, plan), {"reminder_days": [1]}, format="json").status_code == 403
    plan.delete()
    assert client.post(plans_url(world.ann), {}, format="json").status_code == 403
    assert not ExercisePlan.objects.exists()


@pytest.mark.parametrize("who", ["bea", "cody", "zed", "pia"])
def test_out_of_scope_is_404(world: World, client_for, who: str) -> None:
    plan = make_exercise_plan(world.ann)
    client = client_for(actor(world, who))
    assert client.get(plans_url(world.ann)).status_code == 404
    assert client.get(plans_url(world.ann, plan)).status_code == 404
    assert client.post(plans_url(world.ann), {}, format="json").status_code == 404
    assert client.patch(plans_url(world.ann, plan), {"status": "stopped"}, format="json").status_code == 404
    plan.refresh_from_db()
    assert plan.status == "active"
    assert ExercisePlan.objects.count() == 1
