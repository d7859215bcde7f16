"""The pharmacist's review gets every change and judges what is prescribed (issue 11, classes 3-5): a verified schedule
that is stopped or changes status goes back to the queue; DOMAIN A2 compares supplement plan times with the oral
bisphosphonate's; the zoledronic acid renal check (A4) reads the prescribed dose. All through the API."""

from collections.abc import Iterator
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client

from apps.accounts.models import Patient
from apps.medications.models import Medication, ReviewDecision, Schedule
from tests.conftest import World
from tests.factories import LabFactory, make_schedule

LONDON = ZoneInfo("Europe/London")
TODAY = date(2026, 3, 2)  # a Monday


@pytest.fixture(autouse=True)
def _today() -> Iterator[None]:
    with time_machine.travel(datetime.combine(TODAY, time(12), tzinfo=LONDON), tick=False):
        yield


def queue(client) -> list[dict]:
    response = client.get("/api/v1/reviews/")
    assert response.status_code == 200, response.content
    return response.json()["results"]


def queued(client, schedule: Schedule) -> dict | None:
    rows = [r for r in queue(client) if r["id"] == str(schedule.id)]
    return rows[0] if rows else None


def findings(client, schedule: Schedule, code: str | None = None) -> list[dict]:
    row = queued(client, schedule)
    assert row is not None, "not in the review queue"
    return [f for f in row["findings"] if code is None or f["code"] == code]


def decide(client, schedule: Schedule, decision: str = "verify", note: str = "Checked.") -> None:
    response = client.post(f"/api/v1/reviews/{schedule.id}/", {"decision": decision, "note": note}, format="json")
    assert response.status_code == 201, response.content


def patch_schedule(client, patient: Patient, schedule: Schedule, **body: Any):
    return client.patch(f"/api/v1/patients/{patient.id}/schedules/{schedule.id}/", body, format="json")


def review_status(schedule: Schedule) -> str:
    return Schedule.objects.get(pk=schedule.pk).review_status


def post_plan(client, patient: Patient, times: list[str], supplement: str = "calcium_citrate") -> dict:
    amount, unit = ("800", "IU") if supplement == "vitamin_d3" else ("500", "mg")
    response = client.post(
        f"/api/v1/patients/{patient.id}/supplement-plans/",
        {"supplement": supplement, "amount": amount, "unit": unit, "times_of_day": times},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


# --- class 3: a status change goes back to the pharmacist ------------------------------------------------------------


def test_a_verified_denosumab_stopped_without_follow_on_reaches_the_queue_and_can_be_decided(
    world: World, client_for
) -> None:
    pharmacist, coordinator = client_for(world.phil), client_for(world.cora)
    denosumab = make_schedule(world.ann, "denosumab")
    decide(pharmacist, denosumab, note="Calcium and vitamin D started.")
    assert queued(pharmacist, denosumab) is None

    response = patch_schedule(coordinator, world.ann, denosumab, status="stopped")
    assert response.status_code == 200, response.content
    assert response.json()["review_status"] == "pending"
    [d5] = findings(pharmacist, denosumab, "denosumab_stopped_without_follow_on")
    assert (d5["severity"], d5["rule"]) == ("high", "D5")
    row = queued(pharmacist, denosumab)
    assert row is not None and row["status"] == "stopped"
    # A decision can be recorded on the stopped schedule; over its high finding it needs a note.
    assert pharmacist.post(f"/api/v1/reviews/{denosumab.id}/", {"decision": "verify"}, format="json").status_code == 400
    decide(pharmacist, denosumab, "request_changes", note="Start alendronate within 6 months of the last injection.")
    assert review_status(denosumab) == "changes_requested"
    decision = ReviewDecision.objects.get(schedule=denosumab, decision="request_changes")
    assert decision.findings[0]["code"] == "denosumab_stopped_without_follow_on"


def test_stopping_the_follow_on_sends_the_stopped_denosumab_back(world: World, client_for) -> None:
    # The stopped denosumab was verified while its follow-on ran: no D5 finding then. Stopping the follow-on brings
    # the finding, so the denosumab goes back to the pharmacist with it (and the alendronate, for its own change).
    pharmacist, coordinator = client_for(world.phil), client_for(world.cora)
    LabFactory.create(patient=world.ann, kind="crcl", value=Decimal("80"))
    denosumab = make_schedule(world.ann, "denosumab")
    patch_schedule(coordinator, world.ann, denosumab, status="stopped")
    alendronate = make_schedule(world.ann, "alendronate")
    assert findings(pharmacist, denosumab, "denosumab_stopped_without_follow_on") == []
    decide(pharmacist, denosumab)
    decide(pharmacist, alendronate)

    response = patch_schedule(coordinator, world.ann, alendronate, status="stopped")
    assert response.status_code == 200, response.content
    assert (review_status(alendronate), review_status(denosumab)) == ("pending", "pending")
    [d5] = findings(pharmacist, denosumab, "denosumab_stopped_without_follow_on")
    assert d5["severity"] == "high"


def test_a_change_that_brings_no_new_finding_leaves_other_verified_schedules_alone(world: World, client_for) -> None:
    pharmacist, coordinator = client_for(world.phil), client_for(world.cora)
    letrozole = make_schedule(world.ann, "letrozole")
    alendronate = make_schedule(world.ann, "alendronate")  # no CrCl on record: a low finding the pharmacist sees
    decide(pharmacist, letrozole)
    decide(pharmacist, alendronate)
    assert patch_schedule(coordinator, world.ann, letrozole, local_time="09:00").status_code == 200
    assert (review_status(letrozole), review_status(alendronate)) == ("pending", "verified")


def test_the_django_admin_cannot_edit_a_schedule_behind_the_review(world: World, client_for) -> None:
    schedule = make_schedule(world.ann, "alendronate")
    decide(client_for(world.phil), schedule)
    admin = Client()
    admin.force_login(world.admin)
    url = f"/admin/medications/schedule/{schedule.id}/change/"
    page = admin.get(url)
    assert page.status_code == 200  # view only
    assert b'name="local_time"' not in page.content
    response = admin.post(url, {"local_time": "09:00", "status": "stopped", "review_status": "verified"})
    assert response.status_code == 403
    row = Schedule.objects.get(pk=schedule.pk)
    assert (row.local_time, row.status, row.review_status) == (time(7), "active", "verified")
    assert admin.get("/admin/medications/schedule/add/").status_code == 403


def test_deleting_the_follow_on_in_the_admin_sends_the_stopped_denosumab_back(world: World, client_for) -> None:
    pharmacist, coordinator = client_for(world.phil), client_for(world.cora)
    LabFactory.create(patient=world.ann, kind="crcl", value=Decimal("80"))
    denosumab = make_schedule(world.ann, "denosumab")
    patch_schedule(coordinator, world.ann, denosumab, status="stopped")
    alendronate = make_schedule(world.ann, "alendronate")
    decide(pharmacist, denosumab)
    admin = Client()
    admin.force_login(world.admin)
    response = admin.post(f"/admin/medications/schedule/{alendronate.id}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Schedule.objects.filter(pk=alendronate.pk).exists()
    assert review_status(denosumab) == "pending"
    assert findings(pharmacist, denosumab, "denosumab_stopped_without_follow_on") != []


def test_a_plan_edited_in_the_admin_is_rechecked_against_the_verified_bisphosphonate(world: World, client_for) -> None:
    pharmacist = client_for(world.phil)
    LabFactory.create(patient=world.ann, kind="crcl", value=Decimal("80"))
    schedule = make_schedule(world.ann, "alendronate")
    plan = post_plan(client_for(world.cora), world.ann, ["08:00"])
    decide(pharmacist, schedule)
    admin = Client()
    admin.force_login(world.admin)
    url = f"/admin/supplements/supplementplan/{plan['id']}/change/"
    form = {
        "supplement": "calcium_citrate",
        "amount": "500",
        "unit": "mg",
        "times_of_day": '["07:10"]',
        "status": "active",
        "starts_on": plan["starts_on"],
    }
    response = admin.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert review_status(schedule) == "pending"
    [a2] = findings(pharmacist, schedule, A2)
    assert "07:10" in a2["message"]


# --- class 4: A2 with supplement plans --------------------------------------------------------------------------------

A2 = "oral_medicine_too_soon_after_bisphosphonate"


@pytest.mark.parametrize(
    ("drug", "at", "plan_time", "supplement", "flagged"),
    [
        pytest.param("alendronate", "07:00", "07:29", "calcium_citrate", True, id="alendronate-29-min"),
        pytest.param("alendronate", "07:00", "07:30", "calcium_citrate", False, id="alendronate-30-min"),
        pytest.param("risedronate", "07:00", "07:29", "calcium_carbonate", True, id="risedronate-29-min"),
        pytest.param("risedronate", "07:00", "07:30", "calcium_carbonate", False, id="risedronate-30-min"),
        pytest.param("ibandronate", "07:00", "07:59", "calcium_citrate", True, id="ibandronate-59-min"),
        pytest.param("ibandronate", "07:00", "08:00", "calcium_citrate", False, id="ibandronate-60-min"),
        pytest.param("alendronate", "07:00", "07:00", "calcium_citrate", True, id="same-minute"),
        pytest.param("alendronate", "07:00", "07:10", "magnesium", True, id="magnesium-is-an-oral-product"),
        pytest.param("alendronate", "07:00", "07:10", "vitamin_d3", True, id="vitamin-d-is-an-oral-product"),
        pytest.param("alendronate", "07:00", "06:50", "calcium_citrate", False, id="before-is-not-after"),
        pytest.param("alendronate", "23:45", "00:14", "calcium_citrate", True, id="after-midnight-29-min"),
        pytest.param("alendronate", "23:45", "00:15", "calcium_citrate", False, id="after-midnight-30-min"),
    ],
)
def test_a2_compares_every_supplement_plan_time_with_the_bisphosphonate(
    world: World, client_for, drug: str, at: str, plan_time: str, supplement: str, flagged: bool
) -> None:
    LabFactory.create(patient=world.ann, kind="crcl", value=Decimal("80"))
    schedule = make_schedule(world.ann, drug, local_time=time.fromisoformat(at))
    post_plan(client_for(world.cora), world.ann, ["12:00", plan_time, "20:00"], supplement)
    found = findings(client_for(world.phil), schedule, A2)
    assert len(found) == (1 if flagged else 0), found
    if flagged:
        assert (found[0]["severity"], found[0]["rule"]) == ("moderate", "A2")
        assert f"at {plan_time} (supplement plan, daily)" in found[0]["message"]


def test_a2_ignores_stopped_plans_and_paused_bisphosphonates(world: World, client_for) -> None:
    coordinator, pharmacist = client_for(world.cora), client_for(world.phil)
    LabFactory.create(patient=world.ann, kind="crcl", value=Decimal("80"))
    schedule = make_schedule(world.ann, "alendronate")
    plan = post_plan(coordinator, world.ann, ["07:10"])
    assert len(findings(pharmacist, schedule, A2)) == 1
    patch_schedule(coordinator, world.ann, schedule, status="paused")
    assert findings(pharmacist, schedule, A2) == []
    patch_schedule(coordinator, world.ann, schedule, status="active")
    assert len(findings(pharmacist, schedule, A2)) == 1
    coordinator.patch(
        f"/api/v1/patients/{world.ann.id}/supplement-plans/{plan['id']}/", {"status": "stopped"}, format="json"
    )
    assert findings(pharmacist, schedule, A2) == []


def test_a_plan_moved_too_close_sends_the_verified_bisphosphonate_back(world: World, client_for) -> None:
    # Decision: a verified schedule goes back to pending when a change elsewhere (here the patient's own plan) gives
    # it a finding its pharmacist did not see; a plan change that brings none leaves it verified.
    pharmacist = client_for(world.phil)
    LabFactory.create(patient=world.ann, kind="crcl", value=Decimal("80"))
    schedule = make_schedule(world.ann, "alendronate")
    plan = post_plan(client_for(world.ann.user), world.ann, ["08:00"])
    decide(pharmacist, schedule)
    plan_url = f"/api/v1/patients/{world.ann.id}/supplement-plans/{plan['id']}/"
    patient = client_for(world.ann.user)
    assert patient.patch(plan_url, {"times_of_day": ["07:30"]}, format="json").status_code == 200
    assert review_status(schedule) == "verified"  # exactly 30 minutes after: no finding
    assert patient.patch(plan_url, {"times_of_day": ["07:29"]}, format="json").status_code == 200
    assert review_status(schedule) == "pending"
    [a2] = findings(pharmacist, schedule, A2)
    assert "07:29" in a2["message"]
    with time_machine.travel(datetime.combine(TODAY, time(13), tzinfo=LONDON), tick=False):  # the later decision
        decide(pharmacist, schedule, note="She takes it with lunch in practice; told her to wait.")
        assert patient.patch(plan_url, {"amount": "400"}, format="json").status_code == 200
        assert review_status(schedule) == "verified"  # the finding she accepted did not change


def test_the_console_review_queue_shows_the_supplement_timing_finding(world: World, client_for) -> None:
    make_schedule(world.ann, "alendronate")
    post_plan(client_for(world.cora), world.ann, ["07:15"])
    console = Client()
    console.force_login(world.phil)
    page = console.get("/console/reviews/")
    assert page.status_code == 200
    assert "Calcium citrate at 07:15 (supplement plan, daily) comes 15 minutes after alendronate" in (
        page.content.decode()
    )


# --- class 5: the zoledronic acid renal check reads the prescribed dose ---------------------------------------------

RENAL_HIGH = ("renal_function_below_threshold", "high")
STEP = ("zoledronic_acid_dose_above_renal_step", "moderate")


def renal_findings(client, schedule: Schedule) -> list[tuple[str, str]]:
    return [(f["code"], f["severity"]) for f in findings(client, schedule) if f["rule"] == "A4"]


def post_zoledronic(client, patient: Patient, dose: str):
    return client.post(
        f"/api/v1/patients/{patient.id}/schedules/",
        {
            "medication": str(Medication.objects.get(code="zoledronic_acid").id),
            "dose": dose,
            "local_time": "10:00",
            "starts_on": "2026-03-16",
        },
        format="json",
    )


@pytest.mark.parametrize(
    ("dose", "labs", "expected"),
    [
        pytest.param("5 mg", {"crcl": "35"}, [], id="5mg-crcl-35"),
        pytest.param("5 mg", {"crcl": "34.99"}, [RENAL_HIGH], id="5mg-crcl-34.99-contraindicated"),
        pytest.param("5 mg", {"crcl": "34"}, [RENAL_HIGH], id="5mg-crcl-34-not-a-4mg-step"),
        pytest.param("4 mg", {"crcl": "60.01"}, [], id="4mg-crcl-60.01"),
        pytest.param("4 mg", {"crcl": "60"}, [STEP], id="4mg-crcl-60"),
        pytest.param("3.5 mg", {"crcl": "60"}, [], id="3.5mg-crcl-60-stepped-down"),
        pytest.param("3.5 mg", {"crcl": "50"}, [], id="3.5mg-crcl-50"),
        pytest.param("3.5 mg", {"crcl": "49.99"}, [STEP], id="3.5mg-crcl-49.99"),
        pytest.param("3.3 mg", {"crcl": "40"}, [], id="3.3mg-crcl-40"),
        pytest.param("3.3 mg", {"crcl": "39.99"}, [STEP], id="3.3mg-crcl-39.99"),
        pytest.param("3.0 mg", {"crcl": "30"}, [], id="3.0mg-crcl-30"),
        pytest.param("3 mg", {"crcl": "29.99"}, [RENAL_HIGH], id="3mg-crcl-29.99-not-recommended"),
        pytest.param("5 mg", {"egfr": "34.99"}, [RENAL_HIGH], id="5mg-egfr-fallback-34.99"),
        pytest.param("5 mg", {"egfr": "35"}, [], id="5mg-egfr-fallback-35"),
        pytest.param("5 mg", {"crcl": "35", "egfr": "20"}, [], id="crcl-preferred-over-egfr"),
        pytest.param("3500 mcg", {"crcl": "55"}, [], id="mcg-read-as-3.5mg"),
    ],
)
def test_zoledronic_acid_renal_check_judges_the_prescribed_dose(
    world: World, client_for, dose: str, labs: dict[str, str], expected: list[tuple[str, str]]
) -> None:
    for kind, value in labs.items():
        LabFactory.create(patient=world.ann, kind=kind, value=Decimal(value), measured_on=date(2026, 2, 20))
    response = post_zoledronic(client_for(world.cora), world.ann, dose)
    assert response.status_code == 201, response.content
    schedule = Schedule.objects.get(pk=response.json()["id"])
    assert renal_findings(client_for(world.phil), schedule) == expected


def test_the_renal_message_names_the_prescribed_dose_and_the_measure(world: World, client_for) -> None:
    LabFactory.create(patient=world.ann, kind="egfr", value=Decimal("34"), measured_on=date(2026, 2, 20))
    response = post_zoledronic(client_for(world.cora), world.ann, "5 mg")
    [finding] = findings(client_for(world.phil), Schedule.objects.get(pk=response.json()["id"]), RENAL_HIGH[0])
    assert finding["message"] == (
        "eGFR (no CrCl on record) 34 is below 35 mL/min: zoledronic acid 5 mg is contraindicated."
    )


def test_stepping_the_dose_down_clears_the_finding(world: World, client_for) -> None:
    coordinator, pharmacist = client_for(world.cora), client_for(world.phil)
    LabFactory.create(patient=world.ann, kind="crcl", value=Decimal("45"), measured_on=date(2026, 2, 20))
    schedule = Schedule.objects.get(pk=post_zoledronic(coordinator, world.ann, "4 mg").json()["id"])
    assert renal_findings(pharmacist, schedule) == [STEP]
    decide(pharmacist, schedule, "request_changes", note="Step down to 3.3 mg for CrCl 45.")
    response = patch_schedule(coordinator, world.ann, schedule, dose="3.3 mg")
    assert response.status_code == 200, response.content
    assert response.json()["review_status"] == "pending"
    assert renal_findings(pharmacist, schedule) == []


def test_a_new_crcl_below_the_limit_sends_the_verified_infusion_back(world: World, client_for) -> None:
    # Sibling: the prescribed 5 mg was safe at CrCl 35; a later CrCl of 34.99 makes it contraindicated, so the
    # verified schedule returns to the pharmacist with the high finding. A lab that changes nothing leaves it.
    coordinator, pharmacist = client_for(world.cora), client_for(world.phil)
    LabFactory.create(patient=world.ann, kind="crcl", value=Decimal("35"), measured_on=date(2026, 2, 1))
    schedule = Schedule.objects.get(pk=post_zoledronic(coordinator, world.ann, "5 mg").json()["id"])
    decide(pharmacist, schedule)
    labs_url = f"/api/v1/patients/{world.ann.id}/labs/"

    def lab(value: str, day: str) -> None:
        body = {"kind": "crcl", "value": value, "unit": "mL/min", "measured_on": day}
        assert coordinator.post(labs_url, body, format="json").status_code == 201

    lab("36", "2026-02-15")
    assert review_status(schedule) == "verified"
    lab("34.99", "2026-03-01")
    assert review_status(schedule) == "pending"
    assert renal_findings(pharmacist, schedule) == [RENAL_HIGH]


@pytest.mark.parametrize("dose", ["four mg", "4", "6 mg", "40 mg"])
def test_a_zoledronic_acid_dose_the_check_cannot_judge_is_refused(world: World, client_for, dose: str) -> None:
    coordinator = client_for(world.cora)
    response = post_zoledronic(coordinator, world.ann, dose)
    assert response.status_code == 400, response.content
    assert "dose" in response.json()["error"]["fields"]
    assert not Schedule.objects.filter(patient=world.ann).exists()
    schedule = Schedule.objects.get(pk=post_zoledronic(coordinator, world.ann, "4 mg").json()["id"])
    response = patch_schedule(coordinator, world.ann, schedule, dose=dose)
    assert response.status_code == 400, response.content
    assert "dose" in response.json()["error"]["fields"]
    assert Schedule.objects.get(pk=schedule.pk).dose == "4 mg"


def test_an_old_unreadable_zoledronic_dose_is_a_low_finding_and_can_still_be_stopped(world: World, client_for) -> None:
    coordinator, pharmacist = client_for(world.cora), client_for(world.phil)
    LabFactory.create(patient=world.ann, kind="crcl", value=Decimal("45"), measured_on=date(2026, 2, 20))
    schedule = Schedule.objects.get(pk=post_zoledronic(coordinator, world.ann, "4 mg").json()["id"])
    Schedule.objects.filter(pk=schedule.pk).update(dose="four milligrams")  # written before doses were checked
    assert renal_findings(pharmacist, schedule) == [("dose_unreadable", "low")]
    response = patch_schedule(coordinator, world.ann, schedule, status="stopped")
    assert response.status_code == 200, response.content


def test_the_console_queue_shows_a_stopped_denosumab_and_takes_the_decision(world: World, client_for) -> None:
    denosumab = make_schedule(world.ann, "denosumab")
    decide(client_for(world.phil), denosumab, note="Calcium and vitamin D started.")
    assert patch_schedule(client_for(world.cora), world.ann, denosumab, status="stopped").status_code == 200
    console = Client()
    console.force_login(world.phil)
    html = console.get("/console/reviews/").content.decode()
    card = html[html.index(f'data-schedule="{denosumab.pk}"') :]
    card = card[: card.index("</article>")]
    assert "Stopped on 2 Mar 2026" in card
    assert "Denosumab is stopped with no active follow-on bisphosphonate" in card
    prefix = str(denosumab.pk)
    response = console.post(
        f"/console/reviews/{denosumab.pk}/",
        {f"{prefix}-decision": "request_changes", f"{prefix}-note": "Start alendronate now."},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert review_status(denosumab) == "changes_requested"
