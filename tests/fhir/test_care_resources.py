"""The care mappers (apps/fhir/resources/care.py): rows made through the services, mapped, validated against the
fhir.resources R4B models (an independent implementation of the specification) and checked value by value."""

import json
import re
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.detectedissue import DetectedIssue
from fhir.resources.R4B.flag import Flag
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from apps.alerts.models import Alert
from apps.alerts.services import alert_raise, alert_resolve
from apps.appointments.models import Appointment
from apps.appointments.services import appointment_cancel, appointments_mark_given
from apps.exercise.services import exercise_plan_create, exercise_plan_update
from apps.fhir.resources import care
from apps.medications import selectors as medication_selectors
from apps.medications.models import ReviewDecision, Schedule
from apps.medications.services import review_decide
from apps.supplements.models import SupplementPlan
from apps.supplements.services import supplement_plan_create, supplement_plan_update
from tests.appointments.factories import make_appointment
from tests.conftest import World
from tests.factories import LabFactory, make_schedule
from tests.joint_pain.factories import make_check_in

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday
# Parametrised ids are fixed: pytest-xdist requires every worker to collect the same test ids.
ANY_ID = "5f0c2a4e-9a1b-4c3d-8e7f-0a1b2c3d4e5f"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _at_now() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


# R4 required bindings the models do not check (they take any code): element path -> the value set's codes, from
# the R4 resource pages (hl7.org/fhir/R4/<resource>.html).
REQUIRED_CODES: dict[str, dict[str, frozenset[str]]] = {
    "Flag": {"status": frozenset({"active", "inactive", "entered-in-error"})},
    "DetectedIssue": {
        "status": frozenset(
            {"registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error", "unknown"}
        ),
        "severity": frozenset({"high", "moderate", "low"}),
    },
    "CarePlan": {
        "status": frozenset({"draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown"}),
        "intent": frozenset({"proposal", "plan", "order", "option"}),
        "activity.detail.status": frozenset(
            {
                "not-started",
                "scheduled",
                "in-progress",
                "on-hold",
                "completed",
                "cancelled",
                "stopped",
                "unknown",
                "entered-in-error",
            }
        ),
    },
    "Goal": {
        "lifecycleStatus": frozenset(
            {
                "proposed",
                "planned",
                "accepted",
                "active",
                "on-hold",
                "completed",
                "cancelled",
                "entered-in-error",
                "rejected",
            }
        )
    },
    "Appointment": {
        "status": frozenset(
            {
                "proposed",
                "pending",
                "booked",
                "arrived",
                "fulfilled",
                "cancelled",
                "noshow",
                "entered-in-error",
                "checked-in",
                "waitlist",
            }
        ),
        "participant.status": frozenset({"accepted", "declined", "tentative", "needs-action"}),
        "participant.required": frozenset({"required", "optional", "information-only"}),
    },
    "QuestionnaireResponse": {
        "status": frozenset({"in-progress", "completed", "amended", "entered-in-error", "stopped"})
    },
    "Questionnaire": {
        "status": frozenset({"draft", "active", "retired", "unknown"}),
        "item.type": frozenset(
            {
                "group",
                "display",
                "boolean",
                "decimal",
                "integer",
                "date",
                "dateTime",
                "time",
                "string",
                "text",
                "url",
                "choice",
                "open-choice",
                "attachment",
                "reference",
                "quantity",
            }
        ),
    },
}
FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")  # R4 id datatype


def values_at(node: Any, path: list[str]) -> list[Any]:
    if isinstance(node, list):
        return [v for item in node for v in values_at(item, path)]
    if not path:
        return [node]
    if not isinstance(node, dict) or path[0] not in node:
        return []
    return values_at(node[path[0]], path[1:])


def r4_problems(resource: dict[str, Any]) -> list[str]:
    """What the R4B models leave unchecked: required-binding codes, the id datatype, dom-3 (every contained resource
    is referenced) and app-3 (a booked or fulfilled appointment has a start and an end)."""
    problems = [
        f"{resource['resourceType']}.{path} = {value!r}"
        for path, allowed in REQUIRED_CODES.get(resource["resourceType"], {}).items()
        for value in values_at(resource, path.split("."))
        if value not in allowed
    ]
    if "id" in resource and not FHIR_ID.match(resource["id"]):
        problems.append(f"id {resource['id']!r}")
    for contained in resource.get("contained", []):
        problems += r4_problems(contained)
        if f'"#{contained["id"]}"' not in json.dumps(resource):
            problems.append(f"contained {contained['id']} is not referenced")
    dated = "start" in resource and "end" in resource
    if resource["resourceType"] == "Appointment" and resource["status"] not in ("proposed", "cancelled", "waitlist"):
        problems += [] if dated else ["app-3: start and end"]
    return problems


def valid(model: Any, data: dict[str, Any]) -> dict[str, Any]:
    """Validate against the R4B model and the R4 rules it leaves unchecked; return the data unchanged."""
    model.model_validate(data)
    assert r4_problems(data) == []
    return data


def test_the_r4_checks_catch_what_the_models_let_through() -> None:
    assert r4_problems({"resourceType": "Flag", "id": "a_b", "status": "open"}) == ["Flag.status = 'open'", "id 'a_b'"]
    orphan = {"resourceType": "Goal", "id": "g", "lifecycleStatus": "done"}
    assert r4_problems({"resourceType": "CarePlan", "status": "active", "intent": "plan", "contained": [orphan]}) == [
        "Goal.lifecycleStatus = 'done'",
        "contained g is not referenced",
    ]
    assert r4_problems({"resourceType": "Appointment", "status": "booked", "start": "x"}) == ["app-3: start and end"]


def raise_alert(world: World, severity: str = "high", **changes: Any) -> Alert:
    values: dict[str, Any] = {
        "patient": world.ann,
        "kind": "joint_pain",
        "severity": severity,
        "message": "Joint pain 6/10 this week",
        "episode": f"e-{uuid.uuid4()}",
        "rule": "J3",
        **changes,
    }
    alert = alert_raise(**values)
    assert alert is not None
    return alert


# --- Flag ---------------------------------------------------------------------------------------------------------


def test_an_open_alert_is_an_active_flag_with_its_kind_message_and_priority(world: World) -> None:
    alert = raise_alert(world, "urgent")

    flag = valid(Flag, care.flag_from_alert(alert))

    assert flag["id"] == str(alert.pk)
    assert flag["status"] == "active"
    assert flag["subject"] == {"reference": f"Patient/{world.ann.pk}"}
    assert flag["code"]["text"] == "Joint pain 6/10 this week"
    assert flag["code"]["coding"] == [
        {"system": care.ALERT_KIND_SYSTEM, "code": "joint_pain"},
        {"system": care.DOMAIN_RULE_SYSTEM, "code": "J3", "display": "DOMAIN J3"},
    ]
    assert flag["category"][0]["coding"][0] == {
        "system": "http://terminology.hl7.org/CodeSystem/flag-category",
        "code": "clinical",
        "display": "Clinical",
    }
    assert flag["period"] == {"start": "2026-03-02T10:00:00Z"}
    (priority,) = flag["extension"]
    assert priority["url"] == "http://hl7.org/fhir/StructureDefinition/flag-priority"
    codes = [(c["system"], c["code"]) for c in priority["valueCodeableConcept"]["coding"]]
    assert codes == [("http://hl7.org/fhir/flag-priority-code", "PH"), (care.ALERT_SEVERITY_SYSTEM, "urgent")]
    assert all(url.startswith(care.FHIR_BASE) for url in (care.ALERT_KIND_SYSTEM, flag["identifier"][0]["system"]))


@pytest.mark.parametrize(("severity", "priority"), [("urgent", "PH"), ("high", "PH"), ("normal", "PM"), ("low", "PL")])
def test_each_alert_severity_has_its_flag_priority(world: World, severity: str, priority: str) -> None:
    flag = valid(Flag, care.flag_from_alert(raise_alert(world, severity)))

    coding = flag["extension"][0]["valueCodeableConcept"]["coding"]
    assert coding[0]["code"] == priority
    assert coding[1]["code"] == severity


def test_an_acknowledged_alert_stays_active_and_a_resolved_one_is_inactive_with_its_end(world: World) -> None:
    alert = raise_alert(world, rule="")
    Alert.objects.filter(pk=alert.pk).update(state="acknowledged", acknowledged_at=NOW)
    alert.refresh_from_db()
    acknowledged = valid(Flag, care.flag_from_alert(alert))
    assert acknowledged["status"] == "active"
    assert "end" not in acknowledged["period"]
    assert acknowledged["code"]["coding"] == [{"system": care.ALERT_KIND_SYSTEM, "code": "joint_pain"}]

    with time_machine.travel(NOW + timedelta(days=2), tick=False):
        alert = alert_resolve(alert=alert, actor=world.cora, note="Called her")

    resolved = valid(Flag, care.flag_from_alert(alert))
    assert resolved["status"] == "inactive"
    assert resolved["period"] == {"start": "2026-03-02T10:00:00Z", "end": "2026-03-04T10:00:00Z"}


# --- DetectedIssue ------------------------------------------------------------------------------------------------


def renal_schedule(world: World) -> Schedule:
    """Alendronate for Ann with an eGFR of 25: a high renal finding (DOMAIN A4) awaiting review."""
    LabFactory.create(patient=world.ann, kind="egfr", value=Decimal("25"), measured_on=date(2026, 2, 10))
    schedule = make_schedule(world.ann, "alendronate")
    return Schedule.objects.select_related("medication").get(pk=schedule.pk)


def test_findings_awaiting_review_are_preliminary_detected_issues_on_the_schedule(world: World) -> None:
    schedule = renal_schedule(world)
    findings = medication_selectors.review_findings([schedule])[schedule.pk]
    assert findings and findings[0]["severity"] == "high"

    issues = care.detected_issues_for_pending_schedule(schedule, findings, identified_at=NOW)

    assert len(issues) == len(findings)
    first = valid(DetectedIssue, issues[0])
    assert first["id"] == f"s-{schedule.pk}-0"
    assert first["status"] == "preliminary"
    assert first["severity"] == "high"
    assert first["detail"] == findings[0]["message"]
    assert first["code"]["coding"][0] == {"system": care.REVIEW_FINDING_SYSTEM, "code": findings[0]["code"]}
    assert first["code"]["coding"][1]["code"] == findings[0]["rule"]
    assert first["patient"] == {"reference": f"Patient/{world.ann.pk}"}
    assert first["implicated"] == [{"reference": f"MedicationRequest/{schedule.pk}", "display": "Alendronate"}]
    assert first["identifiedDateTime"] == "2026-03-02T10:00:00Z"
    assert "mitigation" not in first and "author" not in first
    assert care.parse_detected_issue_id(first["id"]) == care.DetectedIssueId("schedule", schedule.pk, 0)


@pytest.mark.parametrize(
    ("decision", "note", "action"),
    [
        ("verify", "Nephrologist agrees, eGFR stable", "Verified: Nephrologist agrees, eGFR stable"),
        ("request_changes", "Switch to denosumab", "Changes requested: Switch to denosumab"),
    ],
)
def test_a_review_decision_makes_final_detected_issues_with_her_decision_as_mitigation(
    world: World, decision: str, note: str, action: str
) -> None:
    schedule = renal_schedule(world)
    findings = medication_selectors.review_findings([schedule])[schedule.pk]
    with time_machine.travel(NOW + timedelta(hours=3), tick=False):
        made = review_decide(reviewer=world.phil, schedule=schedule, decision=decision, note=note, findings=findings)
    row = ReviewDecision.objects.select_related("schedule__medication", "reviewer").get(pk=made.pk)

    issues = [valid(DetectedIssue, issue) for issue in care.detected_issues_from_decision(row)]

    assert [issue["id"] for issue in issues] == [f"d-{row.pk}-{n}" for n in range(len(findings))]
    assert [issue["severity"] for issue in issues] == [f["severity"] for f in findings]
    first = issues[0]
    assert first["status"] == "final"
    assert first["identifiedDateTime"] == "2026-03-02T13:00:00Z"
    assert first["author"] == {"display": world.phil.full_name}
    (mitigation,) = first["mitigation"]
    assert mitigation["action"]["coding"][0]["code"] == decision
    assert mitigation["action"]["text"] == action
    assert mitigation["date"] == "2026-03-02T13:00:00Z"
    assert mitigation["author"] == {"display": world.phil.full_name}
    assert care.parse_detected_issue_id(first["id"]) == care.DetectedIssueId("decision", row.pk, 0)


def test_moderate_and_low_findings_keep_their_severity_and_an_unknown_one_is_left_out(world: World) -> None:
    schedule = make_schedule(world.ann, "alendronate")
    schedule = Schedule.objects.select_related("medication").get(pk=schedule.pk)
    findings = [
        {"code": "a_moderate_one", "severity": "moderate", "message": "m", "rule": "A2"},
        {"code": "a_low_one", "severity": "low", "message": "l", "rule": ""},
        {"code": "odd", "severity": "severe", "message": "o", "rule": ""},
    ]

    issues = [
        valid(DetectedIssue, i)
        for i in care.detected_issues_for_pending_schedule(schedule, findings, identified_at=NOW)
    ]

    assert [i.get("severity") for i in issues] == ["moderate", "low", None]
    assert len(issues[1]["code"]["coding"]) == 1  # no rule, no rule coding


@pytest.mark.parametrize(
    "resource_id",
    [
        "",
        "d-",
        f"x-{ANY_ID}-0",
        f"d-{ANY_ID}-a",
        f"d-{ANY_ID}",
        "d-not-a-uuid-1",
        f"s-{ANY_ID}-1234",
    ],
)
def test_a_detected_issue_id_that_names_nothing_parses_to_none(resource_id: str) -> None:
    assert care.parse_detected_issue_id(resource_id) is None


# --- CarePlan -----------------------------------------------------------------------------------------------------


def test_a_calcium_plan_is_an_active_care_plan_with_its_timing_and_the_default_daily_target(world: World) -> None:
    plan = supplement_plan_create(
        actor=world.cora,
        patient=world.ann,
        supplement="calcium_carbonate",
        amount=Decimal("500"),
        unit="mg",
        times_of_day=[time(8, 0), time(20, 0)],
        starts_on=date(2026, 3, 1),
    )

    care_plan = valid(CarePlan, care.care_plan_from_supplement_plan(plan))

    assert care_plan["id"] == f"supplement-{plan.pk}"
    assert care_plan["status"] == "active"
    assert care_plan["intent"] == "plan"
    assert care_plan["subject"] == {"reference": f"Patient/{world.ann.pk}"}
    assert care_plan["period"] == {"start": "2026-03-01"}
    assert care_plan["title"] == "Calcium carbonate 500 mg at 08:00, 20:00"
    detail = care_plan["activity"][0]["detail"]
    assert detail["status"] == "in-progress"
    assert detail["code"]["coding"][0] == {
        "system": care.CARE_ACTIVITY_SYSTEM,
        "code": "calcium_carbonate",
        "display": "Calcium carbonate",
    }
    assert detail["scheduledTiming"]["repeat"] == {
        "frequency": 2,
        "period": 1,
        "periodUnit": "d",
        "timeOfDay": ["08:00:00", "20:00:00"],
    }
    assert detail["dailyAmount"] == {"value": 1000, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}
    (goal,) = care_plan["contained"]
    assert care_plan["goal"] == [{"reference": "#daily-target"}] and detail["goal"] == [{"reference": "#daily-target"}]
    assert goal["lifecycleStatus"] == "active"
    assert goal["description"] == {"text": "Calcium 1,200 mg a day (default)"}
    assert goal["target"][0]["detailQuantity"] == {  # DOMAIN C1
        "value": 1200,
        "unit": "mg/d",
        "system": "http://unitsofmeasure.org",
        "code": "mg/d",
    }
    assert care.parse_care_plan_id(care_plan["id"]) == care.CarePlanId("supplement", plan.pk)


def test_a_vitamin_d_plan_with_a_target_set_by_the_care_team_uses_it_in_international_units(world: World) -> None:
    plan = supplement_plan_create(
        actor=world.cora,
        patient=world.ann,
        supplement="vitamin_d3",
        amount=Decimal("1000"),
        unit="IU",
        times_of_day=[time(8, 0)],
        daily_target=Decimal("1000"),
    )

    care_plan = valid(CarePlan, care.care_plan_from_supplement_plan(plan))

    quantity = care_plan["contained"][0]["target"][0]["detailQuantity"]
    assert (quantity["value"], quantity["code"]) == (1000, "[iU]/d")
    assert care_plan["contained"][0]["description"]["text"] == "Vitamin D 1,000 IU a day (set by the care team)"
    assert care_plan["activity"][0]["detail"]["quantity"]["code"] == "[iU]"


def test_a_magnesium_plan_has_no_target_and_no_goal(world: World) -> None:
    plan = supplement_plan_create(
        actor=world.cora, patient=world.ann, supplement="magnesium", amount=Decimal("250"), unit="mg"
    )

    care_plan = valid(CarePlan, care.care_plan_from_supplement_plan(plan))

    assert "contained" not in care_plan and "goal" not in care_plan
    assert "scheduledTiming" not in care_plan["activity"][0]["detail"]  # no times of day: nothing to schedule


def test_a_stopped_plan_is_revoked_and_one_past_its_end_is_completed(world: World) -> None:
    stopping = supplement_plan_create(
        actor=world.cora,
        patient=world.ann,
        supplement="calcium_citrate",
        amount=Decimal("500"),
        unit="mg",
        starts_on=date(2026, 2, 1),
    )
    stopped = supplement_plan_update(actor=world.cora, plan=stopping, status="stopped")
    ending = supplement_plan_create(
        actor=world.cora,
        patient=world.ann,
        supplement="vitamin_d3",
        amount=Decimal("800"),
        unit="IU",
        starts_on=date(2026, 2, 1),
        ends_on=date(2026, 3, 10),
    )

    revoked = valid(CarePlan, care.care_plan_from_supplement_plan(stopped))
    assert revoked["status"] == "revoked"
    assert revoked["period"] == {"start": "2026-02-01", "end": "2026-03-02"}
    assert revoked["activity"][0]["detail"]["status"] == "stopped"
    assert revoked["contained"][0]["lifecycleStatus"] == "cancelled"

    on_its_last_day = care.care_plan_from_supplement_plan(ending, today=date(2026, 3, 10))
    assert on_its_last_day["status"] == "active"
    completed = valid(CarePlan, care.care_plan_from_supplement_plan(ending, today=date(2026, 3, 11)))
    assert completed["status"] == "completed"
    assert completed["contained"][0]["lifecycleStatus"] == "completed"
    assert SupplementPlan.objects.get(pk=ending.pk).status == "active"


def test_an_exercise_plan_has_three_activities_with_their_weekly_targets(world: World) -> None:
    plan = exercise_plan_create(actor=world.cora, patient=world.ann, resistance_days_target=3)

    care_plan = valid(CarePlan, care.care_plan_from_exercise_plan(plan))

    assert care_plan["id"] == f"exercise-{plan.pk}"
    assert care_plan["status"] == "active"
    assert care_plan["period"] == {"start": "2026-03-02T10:00:00Z"}
    targets = {
        g["id"]: (g["target"][0]["detailQuantity"]["value"], g["target"][0]["detailQuantity"]["code"])
        for g in care_plan["contained"]
    }
    assert targets == {  # DOMAIN E1, E3 defaults; E2 set by the care team
        "weight-bearing": (150, "min/wk"),
        "resistance": (3, "{days}/wk"),
        "balance": (2, "{sessions}/wk"),
    }
    codes = [a["detail"]["code"]["coding"][0]["code"] for a in care_plan["activity"]]
    assert codes == ["weight_bearing", "resistance", "balance"]
    assert [a["detail"]["goal"] for a in care_plan["activity"]] == [
        [{"reference": "#weight-bearing"}],
        [{"reference": "#resistance"}],
        [{"reference": "#balance"}],
    ]
    assert care_plan["activity"][0]["detail"]["description"] == "Weight-bearing aerobic activity: 150 minutes a week"


def test_a_stopped_exercise_plan_is_revoked_from_when_it_stopped(world: World) -> None:
    plan = exercise_plan_create(actor=world.cora, patient=world.ann)
    with time_machine.travel(NOW + timedelta(days=5), tick=False):
        plan = exercise_plan_update(actor=world.cora, plan=plan, status="stopped")

    care_plan = valid(CarePlan, care.care_plan_from_exercise_plan(plan))

    assert care_plan["status"] == "revoked"
    assert care_plan["period"] == {"start": "2026-03-02T10:00:00Z", "end": "2026-03-07T10:00:00Z"}
    assert {a["detail"]["status"] for a in care_plan["activity"]} == {"stopped"}
    assert {g["lifecycleStatus"] for g in care_plan["contained"]} == {"cancelled"}


@pytest.mark.parametrize("resource_id", ["", "supplement-", "exercise-nope", f"other-{ANY_ID}"])
def test_a_care_plan_id_that_names_nothing_parses_to_none(resource_id: str) -> None:
    assert care.parse_care_plan_id(resource_id) is None


# --- Appointment --------------------------------------------------------------------------------------------------


def test_a_booked_injection_is_a_booked_appointment_with_a_nominal_end(world: World) -> None:
    appointment = make_appointment(world.ann, starts_at=NOW + timedelta(days=3), note="Bring her card")

    resource = valid(FhirAppointment, care.appointment_from_appointment(appointment))

    assert resource["id"] == str(appointment.pk)
    assert resource["status"] == "booked"
    assert resource["start"] == "2026-03-05T10:00:00Z"
    assert resource["end"] == "2026-03-05T10:15:00Z"  # design: an injection's nominal 15-minute slot
    assert resource["serviceType"][0]["coding"][0] == {
        "system": care.APPOINTMENT_KIND_SYSTEM,
        "code": "injection",
        "display": "Injection",
    }
    assert resource["participant"][0] == {
        "actor": {"reference": f"Patient/{world.ann.pk}"},
        "required": "required",
        "status": "accepted",
    }
    assert resource["participant"][1]["actor"] == {"display": "Clinic B, room 4"}
    assert resource["supportingInformation"] == [{"reference": f"MedicationRequest/{appointment.schedule_id}"}]
    assert resource["comment"] == "Bring her card"
    assert "cancelationReason" not in resource


def test_a_given_injection_is_fulfilled_and_a_cancelled_one_says_why(world: World) -> None:
    given = make_appointment(world.ann, starts_at=NOW + timedelta(hours=2))
    appointments_mark_given(schedule_id=given.schedule_id, taken_on=date(2026, 3, 2))
    given.refresh_from_db()
    assert given.status == "given"
    cancelled = make_appointment(world.ann, kind="dxa", starts_at=NOW + timedelta(days=20), location="")
    cancelled = appointment_cancel(actor=world.cora, appointment=cancelled, reason="She moved it to April")

    fulfilled = valid(FhirAppointment, care.appointment_from_appointment(given))
    assert fulfilled["status"] == "fulfilled"

    resource = valid(FhirAppointment, care.appointment_from_appointment(cancelled))
    assert resource["status"] == "cancelled"
    assert resource["cancelationReason"] == {"text": "She moved it to April"}
    assert resource["end"] == "2026-03-22T10:30:00Z"  # DXA: 30 minutes
    assert len(resource["participant"]) == 1 and "supportingInformation" not in resource
    assert Appointment.objects.get(pk=cancelled.pk).status == "cancelled"


# --- QuestionnaireResponse ----------------------------------------------------------------------------------------


def test_a_check_in_is_a_completed_questionnaire_response_to_our_questionnaire(world: World) -> None:
    check_in = make_check_in(world.ann, NOW - timedelta(hours=1), 6, stiffness=4, interfered=True, ai_impact="missed")

    response = valid(QuestionnaireResponse, care.questionnaire_response_from_check_in(check_in))

    assert response["status"] == "completed"
    assert response["questionnaire"] == f"{care.JOINT_PAIN_QUESTIONNAIRE_URL}|1"
    assert response["authored"] == "2026-03-02T09:00:00Z"
    assert response["subject"] == response["source"] == {"reference": f"Patient/{world.ann.pk}"}
    answers = {item["linkId"]: item["answer"][0] for item in response["item"]}
    assert answers == {
        "worst_pain": {"valueInteger": 6},
        "stiffness": {"valueInteger": 4},
        "interfered": {"valueBoolean": True},
        "ai_impact": {
            "valueCoding": {
                "system": care.AI_IMPACT_SYSTEM,
                "code": "missed",
                "display": "Missed doses because of joint pain",
            }
        },
    }
    assert "Brief Pain Inventory" in response["item"][0]["text"]


def test_the_questionnaire_defines_every_item_a_response_answers(world: World) -> None:
    questionnaire = valid(Questionnaire, care.joint_pain_questionnaire())
    check_in = make_check_in(world.ann, NOW - timedelta(hours=1), 0)
    response = care.questionnaire_response_from_check_in(check_in)

    assert questionnaire["url"] == care.JOINT_PAIN_QUESTIONNAIRE_URL
    assert response["questionnaire"] == f"{questionnaire['url']}|{questionnaire['version']}"
    items = {item["linkId"]: item for item in questionnaire["item"]}
    assert [item["linkId"] for item in response["item"]] == list(items)
    assert {link: item["type"] for link, item in items.items()} == {
        "worst_pain": "integer",
        "stiffness": "integer",
        "interfered": "boolean",
        "ai_impact": "choice",
    }
    assert [o["valueCoding"]["code"] for o in items["ai_impact"]["answerOption"]] == ["none", "missed", "stopped"]
    assert items["worst_pain"]["extension"][1] == {
        "url": "http://hl7.org/fhir/StructureDefinition/maxValue",
        "valueInteger": 10,  # DOMAIN J2
    }
    assert response["item"][3]["answer"][0]["valueCoding"]["code"] == "none"
