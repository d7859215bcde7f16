"""The pharmacists' review queue with automated findings, and review decisions (API "Review", DOMAIN
"Pharmacist checks", D6)."""

from collections.abc import Callable
from datetime import date, time
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import Patient
from apps.medications.models import ReviewDecision, Schedule
from apps.medications.services import schedule_update
from tests.conftest import World
from tests.factories import LabFactory, PatientFactory, make_schedule


def queue(client) -> list[dict]:
    response = client.get("/api/v1/reviews/")
    assert response.status_code == 200, response.content
    return response.json()["results"]


def item(rows: list[dict], schedule: Schedule) -> dict:
    [row] = [r for r in rows if r["id"] == str(schedule.id)]
    return row


def codes(row: dict) -> dict[str, str]:
    return {f["code"]: f["severity"] for f in row["findings"]}


def decide(client, schedule: Schedule, **body: object):
    return client.post(f"/api/v1/reviews/{schedule.id}/", body, format="json")


# --- the queue -------------------------------------------------------------------------------------------------------


def test_pharmacists_see_pending_schedules_of_their_organisation_only(world: World, client_for) -> None:
    ann_s = make_schedule(world.ann, "alendronate")
    bea_s = make_schedule(world.bea, "letrozole")
    zoe_s = make_schedule(world.zoe, "alendronate")
    phil_rows = queue(client_for(world.phil))
    assert {r["id"] for r in phil_rows} == {str(ann_s.id), str(bea_s.id)}
    assert {r["id"] for r in queue(client_for(world.pia))} == {str(zoe_s.id)}
    assert {r["id"] for r in queue(client_for(world.admin))} == {str(ann_s.id), str(bea_s.id), str(zoe_s.id)}
    row = item(phil_rows, ann_s)
    assert (row["patient"], row["patient_name"], row["medication_code"]) == (
        str(world.ann.id),
        "Ann Archer",
        "alendronate",
    )
    assert row["review_status"] == "pending"
    assert isinstance(row["findings"], list)
    for finding in row["findings"]:
        assert set(finding) == {"code", "severity", "message", "rule"}
        assert finding["severity"] in {"high", "moderate", "low"}


@pytest.mark.parametrize("who", ["cora", "cody", "zed", "ann"])
def test_coordinators_and_patients_cannot_see_the_queue(world: World, client_for, who: str) -> None:
    make_schedule(world.ann, "alendronate")
    user = getattr(world, who)
    user = user.user if isinstance(user, Patient) else user
    assert client_for(user).get("/api/v1/reviews/").status_code == 403


def test_denosumab_with_egfr_25_has_a_d6_renal_finding(world: World, client_for) -> None:
    LabFactory.create(patient=world.ann, kind="egfr", value=Decimal("25"), measured_on=date(2026, 1, 10))
    LabFactory.create(patient=world.bea, kind="egfr", value=Decimal("72"), measured_on=date(2026, 1, 10))
    ann_s = make_schedule(world.ann, "denosumab")
    bea_s = make_schedule(world.bea, "denosumab")
    rows = queue(client_for(world.phil))
    [renal] = [f for f in item(rows, ann_s)["findings"] if f["code"] == "denosumab_severe_renal_impairment"]
    assert (renal["severity"], renal["rule"]) == ("moderate", "D6")
    assert "25" in renal["message"] and "14 days" in renal["message"]
    # DOMAIN D6 also needs calcium and vitamin D plans (none on record), and a serum calcium before each injection.
    ann_codes = codes(item(rows, ann_s))
    assert ann_codes["denosumab_without_calcium_vitamin_d"] == "high"
    assert ann_codes["serum_calcium_missing"] == "low"
    # Normal renal function: no renal finding.
    assert "denosumab_severe_renal_impairment" not in codes(item(rows, bea_s))
    # Most severe first.
    order = {"high": 0, "moderate": 1, "low": 2}
    severities = [order[f["severity"]] for f in item(rows, ann_s)["findings"]]
    assert severities == sorted(severities)


def test_the_latest_lab_decides(world: World, client_for) -> None:
    LabFactory.create(patient=world.ann, kind="egfr", value=Decimal("25"), measured_on=date(2025, 6, 1))
    LabFactory.create(patient=world.ann, kind="egfr", value=Decimal("64"), measured_on=date(2026, 1, 10))
    schedule = make_schedule(world.ann, "denosumab")
    assert "denosumab_severe_renal_impairment" not in codes(item(queue(client_for(world.phil)), schedule))


def test_alendronate_and_denosumab_together_are_multiple_anti_resorptives(world: World, client_for) -> None:
    alendronate = make_schedule(world.ann, "alendronate")
    denosumab = make_schedule(world.ann, "denosumab")
    alone = make_schedule(world.bea, "alendronate")
    rows = queue(client_for(world.phil))
    for schedule in (alendronate, denosumab):
        [finding] = [f for f in item(rows, schedule)["findings"] if f["code"] == "multiple_anti_resorptives"]
        assert finding["severity"] == "high"
    assert "multiple_anti_resorptives" not in codes(item(rows, alone))
    # Once one of them is stopped, the other no longer clashes.
    schedule_update(actor=world.cora, schedule=denosumab, status="stopped")
    rows = queue(client_for(world.phil))
    assert "multiple_anti_resorptives" not in codes(item(rows, alendronate))


# --- decisions -------------------------------------------------------------------------------------------------------


def test_verify_keeps_the_decision_with_reviewer_and_findings(world: World, client_for) -> None:
    LabFactory.create(patient=world.ann, kind="egfr", value=Decimal("25"), measured_on=date(2026, 1, 10))
    schedule = make_schedule(world.ann, "denosumab")
    client = client_for(world.phil)
    seen = item(queue(client), schedule)["findings"]
    assert seen  # the snapshot below is not trivially empty
    response = decide(client, schedule, decision="verify", note="Calcium check booked 10 days after the injection.")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["schedule"], body["decision"], body["reviewer"]) == (str(schedule.id), "verify", str(world.phil.id))
    assert body["note"] == "Calcium check booked 10 days after the injection."
    assert body["findings"] == seen
    schedule.refresh_from_db()
    assert schedule.review_status == "verified"
    decision = ReviewDecision.objects.get(schedule=schedule)
    assert (decision.reviewer_id, decision.decision, decision.findings) == (world.phil.id, "verify", seen)
    # Verified: out of the queue, and shown as verified to the coordinator.
    assert str(schedule.id) not in {r["id"] for r in queue(client)}
    shown = client_for(world.cora).get(f"/api/v1/patients/{world.ann.id}/schedules/{schedule.id}/").json()
    assert shown["review_status"] == "verified"


def test_verify_over_a_high_finding_needs_a_note(world: World, client_for) -> None:
    schedule = make_schedule(world.ann, "denosumab")  # no calcium or vitamin D plan: a high D6 finding
    client = client_for(world.phil)
    assert codes(item(queue(client), schedule))["denosumab_without_calcium_vitamin_d"] == "high"
    response = decide(client, schedule, decision="verify", note="  ")
    assert response.status_code == 400
    assert "note" in response.json()["error"]["fields"]
    schedule.refresh_from_db()
    assert schedule.review_status == "pending" and not ReviewDecision.objects.filter(schedule=schedule).exists()
    response = decide(client, schedule, decision="verify", note="Calcium and vitamin D started today.")
    assert response.status_code == 201


def test_verify_without_note_is_fine(world: World, client_for) -> None:
    schedule = make_schedule(world.bea, "letrozole")
    response = decide(client_for(world.phil), schedule, decision="verify")
    assert response.status_code == 201
    assert response.json()["note"] == ""


@pytest.mark.parametrize("note", [None, "", "   "])
def test_request_changes_needs_a_note(world: World, client_for, note: str | None) -> None:
    schedule = make_schedule(world.ann, "alendronate")
    body = {"decision": "request_changes"} if note is None else {"decision": "request_changes", "note": note}
    response = decide(client_for(world.phil), schedule, **body)
    assert response.status_code == 400
    assert "note" in response.json()["error"]["fields"]
    schedule.refresh_from_db()
    assert schedule.review_status == "pending"
    assert not ReviewDecision.objects.filter(schedule=schedule).exists()


def test_request_changes_with_note(world: World, client_for) -> None:
    schedule = make_schedule(world.ann, "alendronate")
    response = decide(client_for(world.phil), schedule, decision="request_changes", note="Move to 06:30.")
    assert response.status_code == 201
    schedule.refresh_from_db()
    assert schedule.review_status == "changes_requested"
    assert str(schedule.id) not in {r["id"] for r in queue(client_for(world.phil))}


@pytest.mark.parametrize("body", [{"decision": "approve"}, {}, {"decision": "verify", "extra": 1}])
def test_malformed_decision_is_400(world: World, client_for, body: dict) -> None:
    schedule = make_schedule(world.ann, "alendronate")
    assert decide(client_for(world.phil), schedule, **body).status_code == 400
    schedule.refresh_from_db()
    assert schedule.review_status == "pending"


@pytest.mark.parametrize("first", ["verify", "request_changes"])
def test_deciding_a_decided_schedule_is_400(world: World, client_for, first: str) -> None:
    schedule = make_schedule(world.ann, "alendronate")
    client = client_for(world.phil)
    assert decide(client, schedule, decision=first, note="First look.").status_code == 201
    again = decide(client, schedule, decision="verify", note="Second look.")
    assert again.status_code == 400
    assert ReviewDecision.objects.filter(schedule=schedule).count() == 1


@pytest.mark.parametrize(("who", "status"), [("cora", 403), ("ann", 403), ("pia", 404), ("zed", 404), ("cody", 404)])
def test_who_may_not_decide(world: World, client_for, who: str, status: int) -> None:
    schedule = make_schedule(world.ann, "alendronate")
    user = getattr(world, who)
    user = user.user if isinstance(user, Patient) else user
    response = decide(client_for(user), schedule, decision="verify", note="ok")
    assert response.status_code == status
    schedule.refresh_from_db()
    assert schedule.review_status == "pending"
    assert not ReviewDecision.objects.filter(schedule=schedule).exists()


def test_admin_may_decide(world: World, client_for) -> None:
    schedule = make_schedule(world.zoe, "alendronate")
    response = decide(client_for(world.admin), schedule, decision="verify")
    assert response.status_code == 201
    assert response.json()["reviewer"] == str(world.admin.id)


def test_unknown_schedule_is_404(world: World, client_for) -> None:
    import uuid

    assert decide(client_for(world.phil), Schedule(id=uuid.uuid4()), decision="verify").status_code == 404


def test_a_change_after_verification_goes_back_to_the_queue(world: World, client_for) -> None:
    schedule = make_schedule(world.ann, "alendronate", local_time=time(7, 0))
    pharmacist, coordinator = client_for(world.phil), client_for(world.cora)
    assert decide(pharmacist, schedule, decision="verify").status_code == 201
    response = coordinator.patch(
        f"/api/v1/patients/{world.ann.id}/schedules/{schedule.id}/", {"local_time": "06:30"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["review_status"] == "pending"
    schedule.refresh_from_db()
    assert schedule.review_status == "pending"
    row = item(queue(pharmacist), schedule)
    assert row["local_time"].startswith("06:30")
    # ... and can be decided again; both decisions are kept.
    assert decide(pharmacist, schedule, decision="verify", note="New time is fine.").status_code == 201
    assert ReviewDecision.objects.filter(schedule=schedule).count() == 2


def test_patching_nothing_new_keeps_verified(world: World, client_for) -> None:
    schedule = make_schedule(world.ann, "alendronate", local_time=time(7, 0))
    assert decide(client_for(world.phil), schedule, decision="verify").status_code == 201
    response = client_for(world.cora).patch(
        f"/api/v1/patients/{world.ann.id}/schedules/{schedule.id}/", {"local_time": "07:00"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["review_status"] == "verified"


# --- query count -----------------------------------------------------------------------------------------------------


def count_queries(call: Callable[[], object]) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = call()
    assert getattr(response, "status_code", None) == 200
    return len(ctx.captured_queries)


def grow(world: World, n: int) -> None:
    drugs = ("alendronate", "denosumab", "letrozole", "zoledronic_acid")
    for i in range(n):
        patient = PatientFactory.create(organisation=world.org_a)
        LabFactory.create(patient=patient, kind="egfr", value=Decimal(20 + i))
        make_schedule(patient, drugs[i % len(drugs)])
        if i % 2:
            make_schedule(patient, "alendronate")


@pytest.mark.parametrize("who", ["phil", "admin"])
def test_review_queue_queries_do_not_grow(world: World, client_for, who: str) -> None:
    client = client_for(getattr(world, who))
    grow(world, 2)  # 3 schedules
    assert len(queue(client)) == 3
    small = count_queries(lambda: client.get("/api/v1/reviews/"))
    grow(world, 6)  # 12 schedules
    assert len(queue(client)) == 12
    assert count_queries(lambda: client.get("/api/v1/reviews/")) == small
