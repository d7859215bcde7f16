"""Supplement plans over HTTP (the patient or her care team writes them; only the care team sets a daily target),
and the role matrix of every supplements endpoint: out of scope 404, pharmacists read but never write (403)."""

import uuid
from datetime import date, timedelta
from typing import Any

import pytest

from apps.accounts.models import Patient
from apps.supplements.models import DietaryCalciumEntry, SupplementIntake, SupplementPlan
from tests.conftest import World
from tests.supplements.conftest import NOW, errors, url
from tests.supplements.factories import make_plan

pytestmark = pytest.mark.usefixtures("frozen_now")

PLAN = {"supplement": "calcium_carbonate", "amount": "500", "unit": "mg", "times_of_day": ["20:00", "08:00"]}


def test_a_patient_creates_her_own_plan(world: World, client_for) -> None:
    client = client_for(world.ann.user)
    response = client.post(url(world.ann, "supplement-plans"), PLAN, format="json")
    assert response.status_code == 201, response.content
    shown = response.json()
    assert (shown["supplement"], shown["amount"], shown["unit"], shown["status"]) == (
        "calcium_carbonate",
        "500.00",
        "mg",
        "active",
    )
    assert shown["times_of_day"] == ["08:00", "20:00"]  # sorted
    assert (shown["daily_target"], shown["effective_daily_target"]) == (None, "1200.0")  # DOMAIN C1
    assert shown["starts_on"] == "2026-03-12"  # her local today by default
    assert shown["created_by"] == str(world.ann.user.id)
    listed = client.get(url(world.ann, "supplement-plans")).json()
    assert [row["id"] for row in listed["results"]] == [shown["id"]]
    assert client.get(url(world.ann, f"supplement-plans/{shown['id']}")).json() == shown


def test_vitamin_d_plan_in_mcg_and_no_target_for_magnesium(world: World, client_for) -> None:
    client = client_for(world.cora)
    vitamin_d = client.post(
        url(world.ann, "supplement-plans"),
        {"supplement": "vitamin_d3", "amount": "25", "unit": "mcg", "daily_target": "2000"},
        format="json",
    )
    assert vitamin_d.status_code == 201, vitamin_d.content
    assert (vitamin_d.json()["daily_target"], vitamin_d.json()["effective_daily_target"]) == ("2000.0", "2000.0")
    magnesium = client.post(
        url(world.ann, "supplement-plans"), {"supplement": "magnesium", "amount": "250", "unit": "mg"}, format="json"
    )
    assert magnesium.json()["effective_daily_target"] is None  # DOMAIN C4


def test_only_the_care_team_sets_a_daily_target(world: World, client_for) -> None:
    patient = client_for(world.ann.user)
    refused = patient.post(url(world.ann, "supplement-plans"), {**PLAN, "daily_target": "1000"}, format="json")
    assert refused.status_code == 400
    assert "daily_target" in errors(refused)
    assert SupplementPlan.objects.count() == 0
    plan = make_plan(world.ann, actor=world.cora, daily_target=1500)
    plan_url = url(world.ann, f"supplement-plans/{plan.id}")
    refused = patient.patch(plan_url, {"daily_target": "1000"}, format="json")
    assert refused.status_code == 400
    assert "daily_target" in errors(refused)
    refused = patient.patch(plan_url, {"daily_target": None, "amount": "400"}, format="json")
    assert refused.status_code == 400
    plan.refresh_from_db()
    assert (plan.daily_target, str(plan.amount)) == (1500, "500.00")  # nothing half-written
    # She may change the rest of it, and send the target unchanged.
    changed = patient.patch(plan_url, {"amount": "400", "daily_target": "1500"}, format="json")
    assert changed.status_code == 200, changed.content
    assert changed.json()["amount"] == "400.00"
    coordinator = client_for(world.cora).patch(plan_url, {"daily_target": "1000"}, format="json")
    assert coordinator.status_code == 200
    assert coordinator.json()["daily_target"] == "1000.0"


def test_stopping_a_plan_is_final(world: World, client_for) -> None:
    plan = make_plan(world.ann)
    client = client_for(world.ann.user)
    plan_url = url(world.ann, f"supplement-plans/{plan.id}")
    stopped = client.patch(plan_url, {"status": "stopped"}, format="json")
    assert stopped.status_code == 200
    assert (stopped.json()["status"], stopped.json()["stopped_on"]) == ("stopped", "2026-03-12")
    again = client.patch(plan_url, {"amount": "300"}, format="json")
    assert again.status_code == 400
    assert "status" in errors(again)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"unit": "IU"}, "unit"),
        ({"amount": "0"}, "amount"),
        ({"amount": "50000"}, "amount"),
        ({"supplement": "vitamin_d3", "unit": "mcg", "amount": "2000"}, "amount"),
        ({"supplement": "calcium_gummies"}, "supplement"),
        ({"times_of_day": ["08:00", "08:00"]}, "times_of_day"),
        ({"times_of_day": ["25:00"]}, "times_of_day.0"),
        ({"times_of_day": ["08:00:30"]}, "times_of_day"),
        ({"times_of_day": [f"0{n}:00" for n in range(9)]}, "times_of_day"),
        ({"starts_on": "2026-03-10", "ends_on": "2026-03-01"}, "ends_on"),
        ({"starts_on": "2027-06-01"}, "starts_on"),
        ({"status": "active"}, "status"),
    ],
)
def test_bad_plans_are_refused_whole(world: World, client_for, changes: dict[str, Any], field: str) -> None:
    response = client_for(world.cora).post(url(world.ann, "supplement-plans"), {**PLAN, **changes}, format="json")
    assert response.status_code == 400, response.content
    assert field in errors(response)
    assert SupplementPlan.objects.count() == 0


def test_a_plan_of_another_patient_is_404(world: World, client_for) -> None:
    beas = make_plan(world.bea)
    response = client_for(world.admin).get(url(world.ann, f"supplement-plans/{beas.id}"))
    assert response.status_code == 404


# --- role matrix -------------------------------------------------------------------------------------------------
def _intake() -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "supplement": "vitamin_d3",
        "amount": "1000",
        "unit": "IU",
        "taken_at": (NOW - timedelta(hours=1)).isoformat(),
    }


def _diet() -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "date": date(2026, 3, 12).isoformat(), "mg": "300"}


WRITES = {
    "supplement-plans": (lambda: dict(PLAN), 201),
    "supplement-intakes": (_intake, 201),
    "dietary-calcium": (_diet, 201),
}
READS = ["supplement-plans", "supplement-intakes", "dietary-calcium", "nutrition/daily", "plan"]


def _actor(world: World, who: str) -> Any:
    value = getattr(world, who)
    return value.user if isinstance(value, Patient) else value


def _read_url(world: World, path: str) -> str:
    if path == "plan":
        return url(world.ann, f"supplement-plans/{make_plan(world.ann).id}")
    return url(world.ann, path)


@pytest.mark.parametrize("path", READS)
@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("ann", 200),
        ("cora", 200),
        ("phil", 200),
        ("admin", 200),
        ("bea", 404),
        ("cody", 404),
        ("zed", 404),
        ("pia", 404),
    ],
)
def test_who_may_read(world: World, client_for, path: str, who: str, status: int) -> None:
    response = client_for(_actor(world, who)).get(_read_url(world, path))
    assert response.status_code == status, response.content


@pytest.mark.parametrize("path", sorted(WRITES))
@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("ann", 201),
        ("cora", 201),
        ("admin", 201),
        ("phil", 403),  # pharmacists read
        ("bea", 404),
        ("cody", 404),
        ("zed", 404),
        ("pia", 404),
    ],
)
def test_who_may_write(world: World, client_for, path: str, who: str, status: int) -> None:
    make_body, _ = WRITES[path]
    response = client_for(_actor(world, who)).post(url(world.ann, path), make_body(), format="json")
    assert response.status_code == status, response.content
    written = SupplementPlan.objects.count() + SupplementIntake.objects.count() + DietaryCalciumEntry.objects.count()
    assert written == (1 if status == 201 else 0)


@pytest.mark.parametrize(("who", "status"), [("ann", 200), ("cora", 200), ("admin", 200), ("phil", 403), ("cody", 404)])
def test_who_may_change_a_plan(world: World, client_for, who: str, status: int) -> None:
    plan = make_plan(world.ann)
    response = client_for(_actor(world, who)).patch(
        url(world.ann, f"supplement-plans/{plan.id}"), {"amount": "250"}, format="json"
    )
    assert response.status_code == status, response.content
    plan.refresh_from_db()
    assert str(plan.amount) == ("250.00" if status == 200 else "500.00")


def test_anonymous_is_401(world: World, api) -> None:
    for path in ("supplement-plans", "supplement-intakes", "dietary-calcium", "nutrition/daily"):
        assert api.get(url(world.ann, path)).status_code == 401
    assert api.get("/api/v1/calcium-foods/").status_code == 401


def test_staff_reads_are_audited(world: World, client_for) -> None:
    from backend.models import AuditEvent

    client_for(world.phil).get(url(world.ann, "nutrition/daily"))
    event = AuditEvent.objects.get(actor=world.phil)
    assert (event.resource, event.action, event.patient_id) == ("nutrition_daily", "read", world.ann.id)
