"""The pharmacist's queue shows what she needs to judge (issue 14, point 9): latest labs with dates, every active
schedule and supplement plan, the previous decisions; filtered by severity; several schedules without findings
verified at once, all or none, each decision audited."""

from datetime import date, time
from decimal import Decimal

import pytest

from apps.alerts.models import Alert
from apps.medications.models import ReviewDecision, Schedule
from apps.medications.services import schedule_update
from backend.models import AuditEvent
from tests.conftest import World
from tests.factories import LabFactory, make_schedule
from tests.supplements.factories import make_plan


def queue(client, query: str = "") -> list[dict]:
    response = client.get(f"/api/v1/reviews/{query}")
    assert response.status_code == 200, response.content
    return response.json()["results"]


def item(rows: list[dict], schedule: Schedule) -> dict:
    [row] = [r for r in rows if r["id"] == str(schedule.id)]
    return row


def bulk(client, *schedules: Schedule, **body: object):
    return client.post("/api/v1/reviews/verify/", {"schedules": [str(s.id) for s in schedules], **body}, format="json")


def test_each_item_shows_her_latest_labs_with_dates(world: World, client_for) -> None:
    LabFactory.create(patient=world.ann, kind="crcl", value=Decimal("31"), unit="mL/min", measured_on=date(2025, 3, 1))
    LabFactory.create(patient=world.ann, kind="crcl", value=Decimal("48"), unit="mL/min", measured_on=date(2026, 2, 1))
    LabFactory.create(
        patient=world.ann, kind="serum_calcium", value=Decimal("2.31"), unit="mmol/L", measured_on=date(2026, 2, 3)
    )
    LabFactory.create(
        patient=world.ann, kind="vitamin_d_25oh", value=Decimal("42"), unit="nmol/L", measured_on=date(2026, 1, 20)
    )
    schedule = make_schedule(world.ann, "zoledronic_acid", dose="4 mg")
    labs = item(queue(client_for(world.phil)), schedule)["labs"]
    assert labs["crcl"] == {
        "kind": "crcl",
        "name": "Creatinine clearance",
        "value": "48.00",
        "unit": "mL/min",
        "measured_on": "2026-02-01",
    }
    assert (labs["serum_calcium"]["value"], labs["serum_calcium"]["measured_on"]) == ("2.31", "2026-02-03")
    assert (labs["vitamin_d_25oh"]["value"], labs["vitamin_d_25oh"]["unit"]) == ("42.00", "nmol/L")
    assert labs["egfr"] is None  # none on record: said, not hidden


def test_each_item_shows_her_other_active_schedules_plans_and_previous_decisions(world: World, client_for) -> None:
    letrozole = make_schedule(world.ann, "letrozole")
    stopped = make_schedule(world.ann, "anastrozole")
    schedule_update(actor=world.cora, schedule=stopped, status="stopped")
    make_plan(world.ann, supplement="calcium_citrate", amount=Decimal("500"), times_of_day=[time(8, 0)])
    make_plan(world.ann, supplement="vitamin_d3", amount=Decimal("1000"), unit="IU", times_of_day=[time(8, 0)])
    alendronate = make_schedule(world.ann, "alendronate")
    phil = client_for(world.phil)
    phil.post(f"/api/v1/reviews/{alendronate.id}/", {"decision": "request_changes", "note": "06:30"}, format="json")
    schedule_update(actor=world.cora, schedule=alendronate, local_time=time(6, 30))

    row = item(queue(phil), alendronate)
    others = row["other_active_schedules"]
    assert [s["medication_code"] for s in others] == ["letrozole"]  # the stopped one is not active
    assert others[0]["id"] == str(letrozole.id) and others[0]["local_time"] == "07:00:00"
    plans = {p["supplement"]: p for p in row["supplement_plans"]}
    assert set(plans) == {"calcium_citrate", "vitamin_d3"}
    assert (plans["calcium_citrate"]["amount"], plans["calcium_citrate"]["times"]) == ("500 mg", ["08:00:00"])
    assert plans["vitamin_d3"]["amount"] == "1000 IU"
    [previous] = row["decisions"]
    assert (previous["decision"], previous["note"], previous["reviewer"]) == (
        "request_changes",
        "06:30",
        str(world.phil.id),
    )


def test_filter_by_severity(world: World, client_for) -> None:
    make_schedule(world.ann, "alendronate")
    high = make_schedule(world.ann, "denosumab")  # two anti-resorptives: high
    none = make_schedule(world.bea, "letrozole")
    phil = client_for(world.phil)
    everything = queue(phil)
    assert item(everything, high)["top_severity"] == "high"
    assert item(everything, none)["top_severity"] == "none"
    assert {r["top_severity"] for r in queue(phil, "?severity=high")} == {"high"}
    assert str(high.id) in {r["id"] for r in queue(phil, "?severity=high")}
    assert [r["id"] for r in queue(phil, "?severity=none")] == [str(none.id)]
    both = {r["id"] for r in queue(phil, "?severity=none&severity=high")}
    assert {str(high.id), str(none.id)} <= both
    response = phil.get("/api/v1/reviews/?severity=urgent")
    assert response.status_code == 400 and "severity" in response.json()["error"]["fields"]


def test_verify_several_without_findings_at_once(world: World, client_for) -> None:
    first, second = make_schedule(world.ann, "letrozole"), make_schedule(world.bea, "letrozole")
    phil = client_for(world.phil)
    response = bulk(phil, first, second)
    assert response.status_code == 201, response.content
    assert {d["schedule"] for d in response.json()} == {str(first.id), str(second.id)}
    for schedule in (first, second):
        schedule.refresh_from_db()
        assert schedule.review_status == "verified"
        assert ReviewDecision.objects.get(schedule=schedule).decision == "verify"
        assert AuditEvent.objects.filter(
            resource="review", action="update", object_id=str(schedule.id), patient_id=schedule.patient_id
        ).exists()
    assert queue(phil) == []


def _nothing_written(*schedules: Schedule) -> None:
    for schedule in schedules:
        schedule.refresh_from_db()
        assert schedule.review_status == "pending"
    assert not ReviewDecision.objects.exists()
    assert not AuditEvent.objects.filter(resource="review", action="update").exists()


def test_one_with_a_finding_refuses_them_all(world: World, client_for) -> None:
    clean = make_schedule(world.bea, "letrozole")
    make_schedule(world.ann, "alendronate")
    flagged = make_schedule(world.ann, "denosumab")
    response = bulk(client_for(world.phil), clean, flagged, note="Looks fine.")
    assert response.status_code == 400
    assert str(flagged.id) in " ".join(response.json()["error"]["fields"]["schedules"])
    _nothing_written(clean, flagged)


def test_one_not_awaiting_review_refuses_them_all(world: World, client_for) -> None:
    clean, done = make_schedule(world.bea, "letrozole"), make_schedule(world.ann, "letrozole")
    phil = client_for(world.phil)
    phil.post(f"/api/v1/reviews/{done.id}/", {"decision": "verify"}, format="json")
    ReviewDecision.objects.all().delete()
    AuditEvent.objects.all().delete()
    assert bulk(phil, clean, done).status_code == 400
    clean.refresh_from_db()
    assert clean.review_status == "pending" and not ReviewDecision.objects.exists()


@pytest.mark.parametrize("who", ["pia", "zed"])
def test_another_organisations_schedule_is_404_and_nothing_written(world: World, client_for, who: str) -> None:
    ours, theirs = make_schedule(world.zoe, "letrozole"), make_schedule(world.ann, "letrozole")
    response = bulk(client_for(getattr(world, who)), ours, theirs)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    _nothing_written(ours, theirs)


@pytest.mark.parametrize(
    "body",
    [{"schedules": []}, {"schedules": ["nope"]}, {"schedules": "x"}, {"schedules": [], "extra": 1}, {"note": "x"}],
)
def test_bad_bulk_input_is_400(world: World, client_for, body: dict) -> None:
    response = client_for(world.phil).post("/api/v1/reviews/verify/", body, format="json")
    assert response.status_code == 400


def test_a_bulk_verification_resolves_open_change_requests(world: World, client_for) -> None:
    schedule = make_schedule(world.ann, "letrozole")
    phil = client_for(world.phil)
    phil.post(f"/api/v1/reviews/{schedule.id}/", {"decision": "request_changes", "note": "Dose?"}, format="json")
    schedule_update(actor=world.cora, schedule=schedule, dose="2.5 mg daily")
    assert Alert.objects.filter(kind="review_changes_requested", state="open").count() == 1
    assert bulk(phil, schedule).status_code == 201
    assert Alert.objects.filter(kind="review_changes_requested", state="open").count() == 0
