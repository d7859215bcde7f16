"""Stock and refills over HTTP and sync (issue 17): set up and counted by her or her coordinator, taken off by each dose
taken (REST, sync push, a push's batch) exactly once, put back when undone, topped up by a refill; bad input a 400
with nothing changed; clinic-given injections hold none; pharmacists read only; other organisations 404; staff
writes audited; days of supply and the refill due date shown at exactly N days."""

import uuid
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from apps.accounts.models import Patient
from apps.medications.models import Schedule, StockRefill
from apps.supplements.models import SupplementPlan
from backend.models import AuditEvent
from tests.conftest import World
from tests.factories import make_schedule
from tests.supplements.factories import make_plan
from tests.sync.conftest import App, table_changes
from tests.sync.test_push import dose as pushed_dose

LONDON = ZoneInfo("Europe/London")
TODAY = date(2026, 3, 2)  # a Monday
NOON = datetime.combine(TODAY, time(12), tzinfo=LONDON)


@pytest.fixture(autouse=True)
def _today() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOON, tick=False) as traveller:
        yield traveller


def url(patient: Patient, schedule: Any, tail: str) -> str:
    return f"/api/v1/patients/{patient.id}/schedules/{schedule.id}/{tail}/"


def plan_url(patient: Patient, plan: Any, tail: str) -> str:
    return f"/api/v1/patients/{patient.id}/supplement-plans/{plan.id}/{tail}/"


def stock_of(item: Any) -> int | None:
    return type(item).objects.get(pk=item.pk).stock_on_hand


def daily(patient: Patient) -> Schedule:
    return make_schedule(patient, "anastrozole", local_time=time(8, 0))


def weekly(patient: Patient) -> Schedule:
    return make_schedule(patient, "alendronate", local_time=time(7, 0), weekday=TODAY.weekday())


def set_stock(client: Any, patient: Patient, schedule: Any, **values: Any) -> Any:
    response = client.patch(url(patient, schedule, "stock"), values, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def record_dose(client: Any, patient: Patient, schedule: Any, *, dose_id: uuid.UUID | None = None, **extra: Any) -> Any:
    body = {
        "id": str(dose_id or uuid.uuid4()),
        "schedule": str(schedule.id),
        "taken_at": NOON.isoformat(),  # at her count or after it (a dose before her count is in it: below)
        **extra,
    }
    return client.post(f"/api/v1/patients/{patient.id}/doses/", body, format="json")


def errors(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"]["code"] == "invalid", body
    return body["error"]["fields"]


# --- set up, take off, put back ------------------------------------------------------------------------------------
def test_she_sets_up_her_stock_and_each_dose_takes_one_off_once_and_an_undo_puts_it_back(
    world: World, client_for
) -> None:
    ann = client_for(world.ann.user)
    schedule = daily(world.ann)
    body = set_stock(ann, world.ann, schedule, stock_on_hand=30, pack_size=28)
    assert (body["stock_on_hand"], body["pack_size"], body["units_per_dose"], body["refill_warning_days"]) == (
        30,
        28,
        1,
        7,
    )
    assert body["stock_counted_at"] is not None
    dose_id = uuid.uuid4()
    assert record_dose(ann, world.ann, schedule, dose_id=dose_id).status_code == 201
    assert stock_of(schedule) == 29
    # The phone retries: the same dose again is a replay, nothing more taken.
    assert record_dose(ann, world.ann, schedule, dose_id=dose_id).status_code == 200
    assert stock_of(schedule) == 29
    shown = ann.get(f"/api/v1/patients/{world.ann.id}/schedules/{schedule.id}/").json()["stock"]
    assert shown["stock_on_hand"] == 29
    # Undone (taken -> skipped): the tablet is back; taken again: off again.
    dose_url = f"/api/v1/patients/{world.ann.id}/doses/{dose_id}/"
    assert ann.patch(dose_url, {"status": "skipped"}, format="json").status_code == 200
    assert stock_of(schedule) == 30
    assert ann.patch(dose_url, {"status": "taken"}, format="json").status_code == 200
    assert stock_of(schedule) == 29
    # A skipped dose takes nothing.
    assert record_dose(ann, world.ann, schedule, status="skipped", taken_at=(NOON - timedelta(days=1)).isoformat())
    assert stock_of(schedule) == 29


def test_a_dose_taken_before_her_count_and_synced_after_it_is_not_taken_off_again(
    world: World, client_for, _today: time_machine.Traveller
) -> None:
    """Review: she counts 30 at noon; her phone then pushes this morning's dose. The count left it out already."""
    ann = client_for(world.ann.user)
    schedule = daily(world.ann)
    set_stock(ann, world.ann, schedule, stock_on_hand=30)
    morning = uuid.uuid4()
    assert record_dose(ann, world.ann, schedule, dose_id=morning, taken_at=(NOON - timedelta(hours=4)).isoformat())
    assert stock_of(schedule) == 30
    # Undoing it puts nothing back either: it was never taken off.
    dose_url = f"/api/v1/patients/{world.ann.id}/doses/{morning}/"
    assert ann.patch(dose_url, {"status": "skipped"}, format="json").status_code == 200
    assert stock_of(schedule) == 30
    # A supplement intake taken before the plan's count: the same.
    plan = make_plan(world.ann)
    assert ann.patch(plan_url(world.ann, plan, "stock"), {"stock_on_hand": 20}, format="json").status_code == 200
    early = {"id": str(uuid.uuid4()), "plan": str(plan.id), "taken_at": (NOON - timedelta(hours=4)).isoformat()}
    assert ann.post(f"/api/v1/patients/{world.ann.id}/supplement-intakes/", early, format="json").status_code == 201
    assert stock_of(plan) == 20


def test_untracked_stock_stays_untracked_and_zero_stays_zero(world: World, client_for) -> None:
    ann = client_for(world.ann.user)
    schedule = daily(world.ann)
    assert record_dose(ann, world.ann, schedule).status_code == 201
    assert stock_of(schedule) is None
    set_stock(ann, world.ann, schedule, stock_on_hand=0)
    response = record_dose(ann, world.ann, schedule, taken_at=(NOON - timedelta(days=1)).isoformat())
    assert response.status_code == 201  # she took one she had not counted: the dose counts, the stock stays 0
    stock = ann.get(url(world.ann, schedule, "stock")).json()
    assert (stock["stock_on_hand"], stock["days_of_supply"], stock["refill_due"]) == (0, 0, True)


@pytest.mark.django_db(transaction=True)  # a pull reads committed versions
def test_a_dose_pushed_by_sync_takes_one_off_once_even_pushed_twice(world: World, client_for) -> None:
    schedule = daily(world.ann)
    with time_machine.travel(NOON - timedelta(days=4), tick=False):  # she counted four days ago
        set_stock(client_for(world.ann.user), world.ann, schedule, stock_on_hand=10)
    app = App(client_for(world.ann.user), world.ann)
    app.pull()
    # A dose taken before her count, pushed late by an offline phone: in the count already (review).
    app.push(table_changes(dose_records={"created": [pushed_dose(schedule, at=NOON - timedelta(days=5))]}))
    assert stock_of(schedule) == 10
    one = pushed_dose(schedule)
    app.push(table_changes(dose_records={"created": [one]}))
    assert stock_of(schedule) == 9
    app.push(table_changes(dose_records={"created": [one]}))  # the answer was lost: pushed again
    assert stock_of(schedule) == 9
    # A backlog of three days at once (the batch path) takes three.
    backlog = [pushed_dose(schedule, at=NOON - timedelta(days=d, hours=3)) for d in (1, 2, 3)]
    app.push(table_changes(dose_records={"created": backlog}))
    assert stock_of(schedule) == 6
    # Her app sees the count on its next pull, read-only.
    pulled = app.pull()
    row = next(r for r in pulled["changes"]["schedules"]["updated"] if r["id"] == str(schedule.id))
    assert row["stock_on_hand"] == 6
    rejected = app.push(
        table_changes(schedules={"updated": [{**row, "stock_on_hand": 99, "_status": "updated", "_changed": ""}]})
    )
    assert str(schedule.id) in rejected["experimentalRejectedIds"]["schedules"]
    assert stock_of(schedule) == 6


# --- refills ---------------------------------------------------------------------------------------------------------
def test_a_refill_adds_packs_or_units(world: World, client_for) -> None:
    ann = client_for(world.ann.user)
    schedule = weekly(world.ann)
    set_stock(ann, world.ann, schedule, stock_on_hand=1, pack_size=4)
    response = ann.post(url(world.ann, schedule, "refill"), {"packs": 3}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["stock_on_hand"] == 13
    response = ann.post(url(world.ann, schedule, "refill"), {"units": 2}, format="json")
    assert response.json()["stock_on_hand"] == 15


@pytest.mark.parametrize(
    ("tail", "payload", "field"),
    [
        ("refill", {"packs": 10000}, "packs"),
        ("refill", {"packs": 0}, "packs"),
        ("refill", {"units": -5}, "units"),
        ("refill", {}, "packs"),
        ("refill", {"packs": 1, "units": 1}, "packs"),
        ("refill", {"packs": 12, "units": None}, "units"),
        ("stock", {"stock_on_hand": -1}, "stock_on_hand"),
        ("stock", {"stock_on_hand": 1001}, "stock_on_hand"),
        ("stock", {"pack_size": 0}, "pack_size"),
        ("stock", {"refill_warning_days": 0}, "refill_warning_days"),
        ("stock", {"units_per_dose": None}, "units_per_dose"),
        ("stock", {"stock_on_hand": "lots"}, "stock_on_hand"),
        ("stock", {"colour": "red"}, "colour"),
    ],
    ids=[
        "10000-packs",
        "0-packs",
        "negative-units",
        "nothing",
        "both",
        "null-units",
        "negative-stock",
        "over-max",
        "pack-0",
        "warning-0",
        "per-dose-null",
        "not-a-number",
        "unknown",
    ],
)
def test_bad_input_is_a_400_and_changes_nothing(
    world: World, client_for, tail: str, payload: dict[str, Any], field: str
) -> None:
    ann = client_for(world.ann.user)
    schedule = weekly(world.ann)
    set_stock(ann, world.ann, schedule, stock_on_hand=5, pack_size=4)
    before = Schedule.objects.values().get(pk=schedule.pk)
    send = ann.post if tail == "refill" else ann.patch
    assert field in errors(send(url(world.ann, schedule, tail), payload, format="json"))
    assert Schedule.objects.values().get(pk=schedule.pk) == before


def test_refills_the_service_refuses_change_nothing(world: World, client_for) -> None:
    ann = client_for(world.ann.user)
    schedule = weekly(world.ann)
    set_stock(ann, world.ann, schedule, stock_on_hand=995)
    before = Schedule.objects.values().get(pk=schedule.pk)
    assert "packs" in errors(ann.post(url(world.ann, schedule, "refill"), {"packs": 1}, format="json"))  # no size
    assert "units" in errors(ann.post(url(world.ann, schedule, "refill"), {"units": 6}, format="json"))  # > 1000
    assert Schedule.objects.values().get(pk=schedule.pk) == before


def test_a_clinic_given_injection_has_no_stock(world: World, client_for) -> None:
    cora = client_for(world.cora)
    injection = make_schedule(world.ann, "denosumab", starts_on=TODAY + timedelta(days=30))
    assert "stock_on_hand" in errors(
        cora.patch(url(world.ann, injection, "stock"), {"stock_on_hand": 1}, format="json")
    )
    assert "stock_on_hand" in errors(cora.post(url(world.ann, injection, "refill"), {"units": 1}, format="json"))
    assert stock_of(injection) is None


def test_a_refill_posted_again_adds_nothing_and_its_id_reused_is_a_409(world: World, client_for) -> None:
    ann = client_for(world.ann.user)
    schedule = weekly(world.ann)
    set_stock(ann, world.ann, schedule, stock_on_hand=1, pack_size=4)
    refill: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "packs": 2,
        "refilled_at": (NOON - timedelta(hours=2)).isoformat(),
    }
    assert ann.post(url(world.ann, schedule, "refill"), refill, format="json").status_code == 201
    again = ann.post(url(world.ann, schedule, "refill"), refill, format="json")
    assert (again.status_code, again.json()["stock_on_hand"]) == (200, 9)
    other = ann.post(url(world.ann, schedule, "refill"), {**refill, "packs": 3}, format="json")
    assert other.status_code == 409
    assert other.json()["error"]["fields"] == {"packs": ["Differs from the record already stored under this id."]}
    assert stock_of(schedule) == 9
    assert StockRefill.objects.get(pk=refill["id"]).units == 8


@pytest.mark.django_db(transaction=True)  # a pull reads committed versions
def test_a_refill_recorded_offline_is_added_once_however_often_pushed(world: World, client_for) -> None:
    schedule = weekly(world.ann)
    plan = make_plan(world.ann)
    ann = client_for(world.ann.user)
    set_stock(ann, world.ann, schedule, stock_on_hand=1, pack_size=4)
    app = App(client_for(world.ann.user), world.ann)
    app.pull()
    at = int((NOON - timedelta(hours=1)).timestamp() * 1000)
    refill = {"id": str(uuid.uuid4()), "item_kind": "schedule", "item_id": str(schedule.id), "packs": 1}
    plan_refill = {"id": str(uuid.uuid4()), "item_kind": "supplement_plan", "item_id": str(plan.id), "units": 60}
    created = [{**r, "refilled_at": at, "_status": "created", "_changed": ""} for r in (refill, plan_refill)]
    assert app.push(table_changes(stock_refills={"created": created})) == {}
    app.push(table_changes(stock_refills={"created": created}))  # the answer was lost
    assert (stock_of(schedule), stock_of(plan)) == (5, 60)
    pulled = app.pull()
    assert {r["id"]: r["units"] for r in pulled["changes"]["stock_refills"]["updated"]} == {
        refill["id"]: 4,
        plan_refill["id"]: 60,
    }
    row = next(r for r in pulled["changes"]["schedules"]["updated"] if r["id"] == str(schedule.id))
    assert row["stock_on_hand"] == 5
    # Someone else's item, a clinic-given injection: rejected per record, nothing added.
    injection = make_schedule(world.ann, "denosumab", starts_on=TODAY + timedelta(days=30))
    bad: list[dict[str, Any]] = [
        {**refill, "id": str(uuid.uuid4()), "item_id": str(daily(world.bea).id), "refilled_at": at},
        {**refill, "id": str(uuid.uuid4()), "item_id": str(injection.id), "refilled_at": at},
    ]
    body = app.push(table_changes(stock_refills={"created": bad}))
    assert sorted(body["experimentalRejectedIds"]["stock_refills"]) == sorted(r["id"] for r in bad)
    assert stock_of(schedule) == 5


# --- who may --------------------------------------------------------------------------------------------------------
def test_her_coordinator_writes_audited_the_pharmacist_reads_other_organisations_get_404(
    world: World, client_for
) -> None:
    schedule = daily(world.ann)
    assert (
        client_for(world.cora)
        .patch(url(world.ann, schedule, "stock"), {"stock_on_hand": 20}, format="json")
        .status_code
        == 200
    )
    assert (
        client_for(world.cora).post(url(world.ann, schedule, "refill"), {"units": 5}, format="json").status_code == 201
    )
    audited = AuditEvent.objects.filter(actor=world.cora, resource="schedule_stock", patient_id=world.ann.id)
    assert sorted(audited.values_list("action", flat=True)) == ["create", "update"]
    phil = client_for(world.phil)
    assert phil.get(url(world.ann, schedule, "stock")).json()["stock_on_hand"] == 25
    assert phil.patch(url(world.ann, schedule, "stock"), {"stock_on_hand": 1}, format="json").status_code == 403
    assert phil.post(url(world.ann, schedule, "refill"), {"units": 1}, format="json").status_code == 403
    for outsider in (world.zed, world.pia, world.bea.user, world.cody):
        client = client_for(outsider)
        assert client.get(url(world.ann, schedule, "stock")).status_code == 404
        assert client.post(url(world.ann, schedule, "refill"), {"units": 1}, format="json").status_code == 404
    # Ann's schedule under Bea's URL is not Bea's.
    assert (
        client_for(world.bea.user).post(url(world.bea, schedule, "refill"), {"units": 1}, format="json").status_code
        == 404
    )
    assert stock_of(schedule) == 25


# --- days of supply at exactly N days ------------------------------------------------------------------------------
def test_exactly_n_days_of_supply_is_not_due_and_one_fewer_is(world: World, client_for, _today) -> None:
    ann = client_for(world.ann.user)
    schedule = daily(world.ann)  # 08:00; today's not recorded yet
    body = set_stock(ann, world.ann, schedule, stock_on_hand=8)
    assert (body["days_of_supply"], body["refill_due"], body["supply_last_on"]) == (7, False, "2026-03-09")
    assert body["refill_due_on"] == "2026-03-03"
    assert record_dose(ann, world.ann, schedule).status_code == 201  # today's: 7 left, the last on 9 March
    body = ann.get(url(world.ann, schedule, "stock")).json()
    assert (body["stock_on_hand"], body["days_of_supply"], body["refill_due"]) == (7, 7, False)
    _today.move_to(NOON + timedelta(days=1))  # tomorrow, before her dose: the last tablet is 6 days away
    body = ann.get(url(world.ann, schedule, "stock")).json()
    assert (body["days_of_supply"], body["refill_due"]) == (6, True)


def test_weekly_alendronate_is_due_at_the_last_tablet(world: World, client_for) -> None:
    ann = client_for(world.ann.user)
    schedule = weekly(world.ann)  # Mondays; today is Monday, not yet taken
    body = set_stock(ann, world.ann, schedule, stock_on_hand=2)
    assert (body["days_of_supply"], body["refill_due"]) == (7, False)
    assert record_dose(ann, world.ann, schedule).status_code == 201
    body = ann.get(url(world.ann, schedule, "stock")).json()
    assert (body["stock_on_hand"], body["days_of_supply"], body["refill_due"]) == (1, 7, False)
    assert body["refill_due_on"] == "2026-03-03"  # tomorrow the last tablet is 6 days away


# --- supplement plans -----------------------------------------------------------------------------------------------
def test_a_supplement_plan_counts_its_intakes_and_refills(world: World, client_for) -> None:
    ann = client_for(world.ann.user)
    plan = make_plan(world.ann)  # 08:00 and 20:00
    response = ann.patch(plan_url(world.ann, plan, "stock"), {"stock_on_hand": 20, "units_per_dose": 2}, format="json")
    assert response.status_code == 200, response.content
    intake = {"id": str(uuid.uuid4()), "plan": str(plan.id), "taken_at": NOON.isoformat()}
    for _ in range(2):  # the second is the phone's retry
        assert ann.post(f"/api/v1/patients/{world.ann.id}/supplement-intakes/", intake, format="json").status_code in (
            200,
            201,
        )
    assert stock_of(plan) == 18
    # 9 intakes left: tonight, then 4 more days twice a day -> the last on 6 March, 4 days away: due.
    stock = ann.get(f"/api/v1/patients/{world.ann.id}/supplement-plans/{plan.id}/").json()["stock"]
    assert (stock["supply_last_on"], stock["days_of_supply"], stock["refill_due"]) == ("2026-03-06", 4, True)
    response = ann.post(plan_url(world.ann, plan, "refill"), {"units": 100}, format="json")
    assert response.json()["stock_on_hand"] == 118
    assert response.json()["refill_due"] is False
    assert "packs" in errors(ann.post(plan_url(world.ann, plan, "refill"), {"packs": 10000}, format="json"))
    assert SupplementPlan.objects.get(pk=plan.pk).stock_on_hand == 118
