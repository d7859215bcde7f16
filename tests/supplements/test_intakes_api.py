"""Supplement intakes and dietary calcium over HTTP: client ids and idempotent re-posts, the patient's local day
(far-apart zones, 23:30 local), bad input refused whole (400 naming the field, nothing written)."""

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.supplements.models import DietaryCalciumEntry, SupplementIntake
from backend.models import AuditEvent
from tests.conftest import World
from tests.supplements.conftest import NOW, errors, url
from tests.supplements.factories import in_zone, make_intake, make_plan

pytestmark = pytest.mark.usefixtures("frozen_now")

LONDON = ZoneInfo("Europe/London")


def intake_body(taken_at: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "supplement": "calcium_citrate",
        "amount": "500",
        "unit": "mg",
        "taken_at": taken_at.isoformat(),
        **extra,
    }


def diet_body(on: date, **extra: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "date": on.isoformat(), **extra}


# --- recording and idempotency -----------------------------------------------------------------------------------
def test_patient_records_an_intake_and_a_repost_is_idempotent(world: World, client_for) -> None:
    client = client_for(world.ann.user)
    body = intake_body(datetime(2026, 3, 12, 8, 5, tzinfo=LONDON), note="with breakfast")
    first = client.post(url(world.ann, "supplement-intakes"), body, format="json")
    assert first.status_code == 201, first.content
    shown = first.json()
    assert (shown["id"], shown["supplement"], shown["amount"], shown["unit"], shown["taken_on"]) == (
        body["id"],
        "calcium_citrate",
        "500.00",
        "mg",
        "2026-03-12",
    )
    assert (shown["note"], shown["recorded_by"], shown["plan"]) == ("with breakfast", str(world.ann.user.id), None)
    # The phone retries (it never saw the answer): the stored record, 200, still one row.
    again = client.post(url(world.ann, "supplement-intakes"), body, format="json")
    assert again.status_code == 200, again.content
    assert again.json() == shown
    # The same id with another amount is not a retry: 409 naming it, nothing changed.
    other = client.post(url(world.ann, "supplement-intakes"), {**body, "amount": "400"}, format="json")
    assert other.status_code == 409, other.content
    assert list(other.json()["error"]["fields"]) == ["amount"]
    assert SupplementIntake.objects.count() == 1
    assert SupplementIntake.objects.get().amount == Decimal("500")


def test_the_same_intake_id_for_another_patient_is_400(world: World, client_for) -> None:
    body = intake_body(NOW - timedelta(hours=2))
    assert client_for(world.ann.user).post(url(world.ann, "supplement-intakes"), body, format="json").status_code == 201
    response = client_for(world.admin).post(url(world.bea, "supplement-intakes"), body, format="json")
    assert response.status_code == 400
    assert "id" in errors(response)
    assert SupplementIntake.objects.get().patient_id == world.ann.id


def test_an_intake_of_a_plan_takes_the_plans_amount(world: World, client_for) -> None:
    plan = make_plan(world.ann, supplement="vitamin_d3", amount=Decimal("20"), unit="mcg")
    body = {"id": str(uuid.uuid4()), "plan": str(plan.id), "taken_at": (NOW - timedelta(hours=1)).isoformat()}
    response = client_for(world.ann.user).post(url(world.ann, "supplement-intakes"), body, format="json")
    assert response.status_code == 201, response.content
    shown = response.json()
    assert (shown["plan"], shown["supplement"], shown["amount"], shown["unit"]) == (
        str(plan.id),
        "vitamin_d3",
        "20.00",
        "mcg",
    )


def test_a_coordinator_records_for_her_patient(world: World, client_for) -> None:
    response = client_for(world.cora).post(
        url(world.ann, "supplement-intakes"), intake_body(NOW - timedelta(hours=1)), format="json"
    )
    assert response.status_code == 201
    assert response.json()["recorded_by"] == str(world.cora.id)
    assert AuditEvent.objects.filter(actor=world.cora, resource="supplement_intake", action="create").count() == 1


def test_diet_entry_in_mg_or_from_servings_and_idempotent(world: World, client_for) -> None:
    client = client_for(world.ann.user)
    in_mg = diet_body(date(2026, 3, 12), mg="250")
    first = client.post(url(world.ann, "dietary-calcium"), in_mg, format="json")
    assert first.status_code == 201, first.content
    assert (first.json()["mg"], first.json()["food"], first.json()["servings"]) == ("250.0", "", None)
    assert client.post(url(world.ann, "dietary-calcium"), in_mg, format="json").status_code == 200
    from_food = diet_body(date(2026, 3, 12), food="almonds", servings="1.5")
    estimated = client.post(url(world.ann, "dietary-calcium"), from_food, format="json")
    assert estimated.status_code == 201, estimated.content
    assert (estimated.json()["mg"], estimated.json()["servings"]) == ("112.5", "1.50")
    one_glass = client.post(url(world.ann, "dietary-calcium"), diet_body(date(2026, 3, 12), food="milk"), format="json")
    assert one_glass.json()["mg"] == "300.0"
    assert DietaryCalciumEntry.objects.count() == 3
    listed = client.get(url(world.ann, "dietary-calcium"), {"date": "2026-03-12"}).json()
    assert listed["count"] == 3


def test_the_foods_table_is_served(world: World, client_for) -> None:
    response = client_for(world.ann.user).get("/api/v1/calcium-foods/")
    assert response.status_code == 200
    milk = next(row for row in response.json() if row["code"] == "milk")
    assert milk == {"code": "milk", "name": "Milk", "serving": "240 mL (1 cup)", "calcium_mg": "300.0"}


# --- the patient's local day -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("zone", "local", "local_day", "utc_day"),
    [
        # 23:30 in Los Angeles (PDT, UTC-7) is 06:30 UTC the next day: it counts on her day.
        ("America/Los_Angeles", datetime(2026, 3, 10, 23, 30), date(2026, 3, 10), date(2026, 3, 11)),
        # 00:30 in Auckland (NZDT, UTC+13) is 11:30 UTC the day before.
        ("Pacific/Auckland", datetime(2026, 3, 11, 0, 30), date(2026, 3, 11), date(2026, 3, 10)),
        # 23:30 in Auckland is still 10:30 UTC on the same date.
        ("Pacific/Auckland", datetime(2026, 3, 10, 23, 30), date(2026, 3, 10), date(2026, 3, 10)),
    ],
)
def test_an_intake_counts_on_her_local_day(
    world: World, client_for, zone: str, local: datetime, local_day: date, utc_day: date
) -> None:
    in_zone(world.ann, zone)
    taken_at = local.replace(tzinfo=ZoneInfo(zone))
    client = client_for(world.ann.user)
    response = client.post(url(world.ann, "supplement-intakes"), intake_body(taken_at), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["taken_on"] == local_day.isoformat()
    assert client.get(url(world.ann, "supplement-intakes"), {"date": local_day.isoformat()}).json()["count"] == 1
    daily = client.get(url(world.ann, "nutrition/daily"), {"date": local_day.isoformat()}).json()
    assert daily["calcium_mg"]["supplements"] == "500.00"
    if utc_day != local_day:
        assert client.get(url(world.ann, "supplement-intakes"), {"date": utc_day.isoformat()}).json()["count"] == 0
        other = client.get(url(world.ann, "nutrition/daily"), {"date": utc_day.isoformat()}).json()
        assert other["calcium_mg"]["supplements"] is None  # nothing logged that day


def test_a_diet_entry_for_her_today_is_not_the_future_ahead_of_utc(world: World, client_for) -> None:
    # At 12:00 UTC on 12 March it is already 13 March 01:00 in Auckland.
    in_zone(world.ann, "Pacific/Auckland")
    client = client_for(world.ann.user)
    response = client.post(url(world.ann, "dietary-calcium"), diet_body(date(2026, 3, 13), mg="300"), format="json")
    assert response.status_code == 201, response.content
    too_far = client.post(url(world.ann, "dietary-calcium"), diet_body(date(2026, 3, 14), mg="300"), format="json")
    assert too_far.status_code == 400
    assert "date" in errors(too_far)


# --- bad input ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": "-5"}, "amount"),
        ({"amount": "0"}, "amount"),
        ({"amount": "50000"}, "amount"),  # 50,000 mg of calcium
        ({"supplement": "vitamin_d3", "amount": "2000", "unit": "mcg"}, "amount"),  # 80,000 IU
        ({"supplement": "vitamin_d3", "amount": "60000", "unit": "IU"}, "amount"),
        ({"supplement": "magnesium", "amount": "1500"}, "amount"),
        ({"amount": "1e400"}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"supplement": "calcium_gummies"}, "supplement"),
        ({"unit": "IU"}, "unit"),  # calcium is counted in elemental mg
        ({"unit": "g"}, "unit"),
        ({"supplement": "vitamin_k2", "unit": "mg"}, "unit"),
        ({"taken_at": (NOW + timedelta(hours=1)).isoformat()}, "taken_at"),
        ({"taken_at": (NOW - timedelta(days=401)).isoformat()}, "taken_at"),
        ({"taken_at": "yesterday"}, "taken_at"),
        ({"colour": "white"}, "colour"),
        ({"id": "not-a-uuid"}, "id"),
        ({"note": "a\x00b"}, "note"),
        ({"supplement": None}, "supplement"),
    ],
)
def test_bad_intakes_are_refused_whole(world: World, client_for, changes: dict[str, Any], field: str) -> None:
    body = intake_body(NOW - timedelta(hours=1))
    body.update(changes)
    response = client_for(world.ann.user).post(url(world.ann, "supplement-intakes"), body, format="json")
    assert response.status_code == 400, response.content
    assert field in errors(response)
    assert SupplementIntake.objects.count() == 0


def test_missing_supplement_without_a_plan_and_a_plan_of_another_patient_are_400(world: World, client_for) -> None:
    client = client_for(world.admin)
    bare = {"id": str(uuid.uuid4()), "taken_at": (NOW - timedelta(hours=1)).isoformat()}
    response = client.post(url(world.ann, "supplement-intakes"), bare, format="json")
    assert response.status_code == 400
    assert {"supplement", "amount", "unit"} <= set(errors(response))
    beas = make_plan(world.bea)
    response = client.post(url(world.ann, "supplement-intakes"), {**bare, "plan": str(beas.id)}, format="json")
    assert response.status_code == 400
    assert "plan" in errors(response)
    ann_plan = make_plan(world.ann)
    mismatch = {**bare, "plan": str(ann_plan.id), "supplement": "magnesium", "amount": "200", "unit": "mg"}
    response = client.post(url(world.ann, "supplement-intakes"), mismatch, format="json")
    assert response.status_code == 400
    assert "supplement" in errors(response)
    assert SupplementIntake.objects.count() == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"mg": "-1"}, "mg"),
        ({"mg": "0"}, "mg"),
        ({"mg": "6000"}, "mg"),
        ({}, "mg"),
        ({"mg": "300", "food": "milk"}, "mg"),
        ({"food": "ice_cream"}, "food"),
        ({"food": "milk", "servings": "0"}, "servings"),
        ({"food": "milk", "servings": "30"}, "servings"),
        ({"food": "tofu_calcium_set", "servings": "15"}, "servings"),  # 5,250 mg: more than an entry holds
        ({"mg": "300", "servings": "2"}, "servings"),
        ({"mg": "300", "date": "2026-03-13"}, "date"),  # London: tomorrow
        ({"mg": "300", "date": "2024-12-01"}, "date"),
        ({"mg": "300", "grams": "30"}, "grams"),
    ],
)
def test_bad_diet_entries_are_refused_whole(world: World, client_for, changes: dict[str, Any], field: str) -> None:
    body = {**diet_body(date(2026, 3, 12)), **changes}
    response = client_for(world.ann.user).post(url(world.ann, "dietary-calcium"), body, format="json")
    assert response.status_code == 400, response.content
    assert field in errors(response)
    assert DietaryCalciumEntry.objects.count() == 0


# --- queries -----------------------------------------------------------------------------------------------------
def test_the_intake_list_query_count_does_not_grow(world: World, client_for) -> None:
    client = client_for(world.cora)
    make_intake(world.ann)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url(world.ann, "supplement-intakes"))
        assert response.status_code == 200
        return len(ctx.captured_queries)

    small = count()
    plan = make_plan(world.ann)
    for minutes in range(20):
        make_intake(world.ann, NOW - timedelta(hours=3, minutes=minutes), plan=plan)
    assert count() == small
    assert small <= 5


def test_an_id_that_raced_in_is_replayed_or_refused(world: World) -> None:
    """The IntegrityError fallback: the id was inserted after the replay check (by a writer holding another lock)."""
    from django.core.exceptions import ValidationError

    from backend.client_ids import insert_or_replay

    stored = make_intake(world.ann, NOW - timedelta(hours=1))
    late = SupplementIntake(**{f.attname: getattr(stored, f.attname) for f in SupplementIntake._meta.concrete_fields})
    row, created = insert_or_replay(late, patient_id=world.ann.pk)
    assert (row.pk, created) == (stored.pk, False)
    with pytest.raises(ValidationError) as refused:
        insert_or_replay(late, patient_id=world.bea.pk)
    assert "id" in refused.value.message_dict
    assert SupplementIntake.objects.count() == 1
