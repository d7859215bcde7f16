"""FHIR R4 (4.0.1) resources for care: Flag, DetectedIssue, CarePlan, Appointment, QuestionnaireResponse.

Pure mappers: each takes model rows (with the related rows it names already loaded) and returns the resource as a
JSON-ready dict. No queries of their own beyond the relations their docstrings name, no I/O, no request: the FHIR
framework selects the rows, checks scope, audits the read and serves what these return. Each docstring lists the search
parameters the resource naturally supports and the model fields they map to.

Our own code systems, identifiers and the joint-pain Questionnaire all live under one base URL, ``FHIR_BASE``; every
external code (HL7 terminology, the flag-priority extension, UCUM) is verified and listed in docs/clinical-rules.md
("FHIR resources for care").
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from apps.accounts.models import User
from apps.alerts.models import Alert
from apps.appointments.models import Appointment, AppointmentKind, AppointmentStatus
from apps.exercise.models import ExerciseKind, ExercisePlan
from apps.exercise.models import PlanStatus as ExercisePlanStatus
from apps.fhir.codes import FHIR_BASE, LOCAL_BASE
from apps.joint_pain.models import SCORE_MAX, AiImpact, JointPainCheckIn
from apps.medications.models import ReviewDecision, Schedule
from apps.supplements.models import PlanStatus as SupplementPlanStatus
from apps.supplements.models import Supplement, SupplementPlan
from apps.supplements.rules import NUTRIENT_NAMES, NUTRIENT_OF, NUTRITION_THRESHOLDS, TOTAL_UNIT

__all__ = [
    "AI_IMPACT_SYSTEM",
    "ALERT_KIND_SYSTEM",
    "ALERT_SEVERITY_SYSTEM",
    "APPOINTMENT_KIND_SYSTEM",
    "CARE_ACTIVITY_SYSTEM",
    "DOMAIN_RULE_SYSTEM",
    "FHIR_BASE",
    "IDENTIFIER_BASE",
    "JOINT_PAIN_QUESTIONNAIRE_URL",
    "REVIEW_DECISION_SYSTEM",
    "REVIEW_FINDING_SYSTEM",
    "CarePlanId",
    "DetectedIssueId",
    "appointment_from_appointment",
    "care_plan_from_exercise_plan",
    "care_plan_from_supplement_plan",
    "detected_issues_for_pending_schedule",
    "detected_issues_from_decision",
    "flag_from_alert",
    "joint_pain_questionnaire",
    "parse_care_plan_id",
    "parse_detected_issue_id",
    "questionnaire_response_from_check_in",
]

# --- our URLs: one base for every code system, identifier system and canonical of ours --------------------------
_CODE_SYSTEM = LOCAL_BASE
IDENTIFIER_BASE = f"{FHIR_BASE}/identifier"  # + "/<row kind>": our row id as a business identifier
ALERT_KIND_SYSTEM = f"{_CODE_SYSTEM}/alert-kind"
ALERT_SEVERITY_SYSTEM = f"{_CODE_SYSTEM}/alert-severity"
DOMAIN_RULE_SYSTEM = f"{_CODE_SYSTEM}/domain-rule"  # the rulebook's rule ids (docs/clinical-rules.md)
REVIEW_FINDING_SYSTEM = f"{_CODE_SYSTEM}/review-finding"
REVIEW_DECISION_SYSTEM = f"{_CODE_SYSTEM}/review-decision"
CARE_ACTIVITY_SYSTEM = f"{_CODE_SYSTEM}/care-activity"  # supplement codes and exercise kinds
APPOINTMENT_KIND_SYSTEM = f"{_CODE_SYSTEM}/appointment-kind"
AI_IMPACT_SYSTEM = f"{_CODE_SYSTEM}/joint-pain-ai-impact"
JOINT_PAIN_QUESTIONNAIRE_URL = f"{FHIR_BASE}/Questionnaire/joint-pain-weekly"
JOINT_PAIN_QUESTIONNAIRE_VERSION = "1"

# --- external codes (verified; sources in docs/clinical-rules.md) -------------------------------------------------
FLAG_CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/flag-category"
FLAG_PRIORITY_EXTENSION = "http://hl7.org/fhir/StructureDefinition/flag-priority"  # valueCodeableConcept
FLAG_PRIORITY_SYSTEM = "http://hl7.org/fhir/flag-priority-code"  # PN | PL | PM | PH
MIN_VALUE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/maxValue"
UCUM = "http://unitsofmeasure.org"

# Our alert severities on the flag-priority codes: urgent and high are both "high priority"; our own severity coding
# next to it keeps urgent apart.
_FLAG_PRIORITY: Mapping[str, tuple[str, str]] = {
    "urgent": ("PH", "High priority"),
    "high": ("PH", "High priority"),
    "normal": ("PM", "Medium priority"),
    "low": ("PL", "Low priority"),
}
_DETECTED_ISSUE_SEVERITIES = frozenset({"high", "moderate", "low"})  # R4 DetectedIssue.severity (required binding)

# The units our plans are kept in, as UCUM codes (the international unit is [iU] in UCUM).
_UCUM_UNITS: Mapping[str, str] = {"mg": "mg", "mcg": "ug", "IU": "[iU]"}

# Design: appointments store only their start. R4 requires an end on a booked or fulfilled appointment (invariant
# app-3), so each kind gets a nominal slot length; it is a display convention, not a recorded fact.
NOMINAL_MINUTES: Mapping[str, int] = {
    AppointmentKind.INJECTION: 15,
    AppointmentKind.INFUSION: 60,
    AppointmentKind.DXA: 30,
    AppointmentKind.VISIT: 30,
    AppointmentKind.LAB: 15,
}
_APPOINTMENT_STATUS: Mapping[str, str] = {
    AppointmentStatus.BOOKED: "booked",
    AppointmentStatus.GIVEN: "fulfilled",
    AppointmentStatus.CANCELLED: "cancelled",
}

_WORST_PAIN_TEXT = (
    "Worst joint pain in the last 24 hours (Brief Pain Inventory worst-pain item): "
    "0 = no pain, 10 = pain as bad as you can imagine"
)
_STIFFNESS_TEXT = "Joint stiffness in the last 24 hours: 0 = none, 10 = as bad as you can imagine"
_INTERFERED_TEXT = "Did joint pain keep you from your usual activities?"
_AI_IMPACT_TEXT = "Did joint pain make you miss or stop your aromatase inhibitor?"


# --- small builders -----------------------------------------------------------------------------------------------


def _instant(at: datetime) -> str:
    """An aware datetime as a FHIR instant/dateTime, in UTC."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _patient(patient_id: uuid.UUID) -> dict[str, str]:
    return {"reference": f"Patient/{patient_id}"}


def _identifier(kind: str, value: object) -> dict[str, str]:
    return {"system": f"{IDENTIFIER_BASE}/{kind}", "value": str(value)}


def _meta(updated_at: datetime) -> dict[str, str]:
    return {"lastUpdated": _instant(updated_at)}


def _coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return coding


def _quantity(value: Decimal | int, unit: str, code: str) -> dict[str, Any]:
    number: Decimal | int = value.normalize() if isinstance(value, Decimal) else value
    # JSON numbers: an int when whole, else a float with the stored decimals (fhir.resources keeps Decimal as well).
    as_json: int | float = int(number) if number == int(number) else float(number)
    return {"value": as_json, "unit": unit, "system": UCUM, "code": code}


def _person_display(user: User) -> str:
    return str(user.full_name or user.email)


# --- Flag ---------------------------------------------------------------------------------------------------------


def flag_from_alert(alert: Alert) -> dict[str, Any]:
    """A care alert (apps.alerts Alert) as a Flag.

    Status: open and acknowledged alerts are ``active``, resolved ones ``inactive``. Priority: the flag-priority
    extension (urgent/high PH, normal PM, low PL) plus our own severity coding. ``code.text`` is the alert's message,
    its coding our alert kind (``ALERT_KIND_SYSTEM``) and the DOMAIN rule id (``DOMAIN_RULE_SYSTEM``) when it has one.

    Search parameters: ``patient`` -> ``patient_id``; ``status`` -> ``state`` (active: open|acknowledged, inactive:
    resolved); ``date`` -> ``raised_at`` (the period start; a resolved flag ends at ``resolved_at``); ``code`` ->
    ``kind`` (token ``ALERT_KIND_SYSTEM|<kind>``).
    """
    codings = [_coding(ALERT_KIND_SYSTEM, alert.kind)]
    if alert.rule:
        codings.append(_coding(DOMAIN_RULE_SYSTEM, alert.rule, f"DOMAIN {alert.rule}"))
    priority_code, priority_display = _FLAG_PRIORITY.get(alert.severity, ("PM", "Medium priority"))
    period: dict[str, str] = {"start": _instant(alert.raised_at)}
    resolved = alert.state == "resolved"
    if resolved and alert.resolved_at is not None:
        period["end"] = _instant(alert.resolved_at)
    return {
        "resourceType": "Flag",
        "id": str(alert.pk),
        "meta": _meta(alert.updated_at),
        "extension": [
            {
                "url": FLAG_PRIORITY_EXTENSION,
                "valueCodeableConcept": {
                    "coding": [
                        _coding(FLAG_PRIORITY_SYSTEM, priority_code, priority_display),
                        _coding(ALERT_SEVERITY_SYSTEM, alert.severity, str(alert.severity).capitalize()),
                    ],
                    "text": str(alert.severity),
                },
            }
        ],
        "identifier": [_identifier("alert", alert.pk)],
        "status": "inactive" if resolved else "active",
        "category": [{"coding": [_coding(FLAG_CATEGORY_SYSTEM, "clinical", "Clinical")], "text": "Clinical"}],
        "code": {"coding": codings, "text": alert.message},
        "subject": _patient(alert.patient_id),
        "period": period,
    }


# --- DetectedIssue ------------------------------------------------------------------------------------------------


class DetectedIssueId(NamedTuple):
    """What a DetectedIssue id names: findings are not rows of their own. ``d-<decision id>-<n>`` is the n-th
    finding (0-based) a review decision recorded (``ReviewDecision.findings``, as she saw them when deciding);
    ``s-<schedule id>-<n>`` the n-th finding computed now for a schedule awaiting review (most severe first, as
    ``apps.medications.selectors.review_findings`` returns them, so it may shift as her record changes)."""

    source: str  # "decision" | "schedule"
    row_id: uuid.UUID
    position: int  # 0-based, in the order of the findings


_ID_PREFIX = {"decision": "d", "schedule": "s"}


def parse_detected_issue_id(resource_id: str) -> DetectedIssueId | None:
    """The decision or schedule and the finding index a DetectedIssue id names; None for anything else (a 404)."""
    prefix, _, rest = resource_id.partition("-")
    source = {v: k for k, v in _ID_PREFIX.items()}.get(prefix)
    row, _, index = rest.rpartition("-")
    if source is None or not index.isdigit() or len(index) > 3:
        return None
    try:
        return DetectedIssueId(source, uuid.UUID(row), int(index))
    except ValueError:
        return None


def _detected_issue(
    *,
    resource_id: str,
    status: str,
    schedule: Schedule,
    finding: Mapping[str, str],
    identified_at: datetime,
) -> dict[str, Any]:
    code = finding["code"]
    codings = [_coding(REVIEW_FINDING_SYSTEM, code)]
    if finding.get("rule"):
        codings.append(_coding(DOMAIN_RULE_SYSTEM, finding["rule"], f"DOMAIN {finding['rule']}"))
    issue: dict[str, Any] = {
        "resourceType": "DetectedIssue",
        "id": resource_id,
        "status": status,
        "code": {"coding": codings, "text": code.replace("_", " ").capitalize()},
        "patient": _patient(schedule.patient_id),
        "identifiedDateTime": _instant(identified_at),
        "implicated": [{"reference": f"MedicationRequest/{schedule.pk}", "display": schedule.medication.name}],
        "detail": finding["message"],
    }
    if finding.get("severity") in _DETECTED_ISSUE_SEVERITIES:
        issue["severity"] = finding["severity"]
    return issue


def detected_issues_from_decision(decision: ReviewDecision) -> list[dict[str, Any]]:
    """The findings a pharmacist's review decision recorded, each a ``final`` DetectedIssue with her decision as
    the mitigation (action: verified | changes requested, with her note; date; author her name, display only).
    Needs ``decision.schedule.medication`` and ``decision.reviewer`` loaded. A decision without findings gives [].

    Ids: ``d-<decision id>-<index>`` (see ``DetectedIssueId``).

    Search parameters: ``patient`` -> ``schedule.patient_id``; ``status`` -> final (every recorded decision);
    ``date`` (identified) -> ``decision.created_at``; ``code`` -> the finding's ``code`` (token
    ``REVIEW_FINDING_SYSTEM|<code>``, a JSON key of ``findings``); ``implicated`` -> ``schedule_id``.
    """
    schedule = decision.schedule
    reviewer = _person_display(decision.reviewer)
    label = str(ReviewDecision.Decision(decision.decision).label)
    action_text = f"{label}: {decision.note}" if decision.note else label
    mitigation = {
        "action": {"coding": [_coding(REVIEW_DECISION_SYSTEM, decision.decision, label)], "text": action_text},
        "date": _instant(decision.created_at),
        "author": {"display": reviewer},
    }
    issues = []
    for index, finding in enumerate(decision.findings):
        issue = _detected_issue(
            resource_id=f"d-{decision.pk}-{index}",
            status="final",
            schedule=schedule,
            finding=finding,
            identified_at=decision.created_at,
        )
        issue["author"] = {"display": reviewer}
        issue["mitigation"] = [mitigation]
        issues.append(issue)
    return issues


def detected_issues_for_pending_schedule(
    schedule: Schedule, findings: Sequence[Mapping[str, str]], *, identified_at: datetime
) -> list[dict[str, Any]]:
    """The automated findings of a schedule awaiting the pharmacist's review, each a ``preliminary``
    DetectedIssue without author or mitigation (nobody has judged it yet). ``findings`` are the dicts
    ``apps.medications.selectors.review_findings`` returns for it; ``identified_at`` is when they were computed (now).
    Needs ``schedule.medication`` loaded.

    Ids: ``s-<schedule id>-<index>`` (see ``DetectedIssueId``).

    Search parameters: ``patient`` -> ``schedule.patient_id``; ``status`` -> preliminary (``review_status`` pending);
    ``date`` -> now; ``code`` -> the finding's ``code``; ``implicated`` -> the schedule id.
    """
    return [
        _detected_issue(
            resource_id=f"s-{schedule.pk}-{index}",
            status="preliminary",
            schedule=schedule,
            finding=finding,
            identified_at=identified_at,
        )
        for index, finding in enumerate(findings)
    ]


# --- CarePlan -----------------------------------------------------------------------------------------------------


class CarePlanId(NamedTuple):
    """A CarePlan id names a supplement plan (``supplement-<id>``) or an exercise plan (``exercise-<id>``)."""

    kind: str  # "supplement" | "exercise"
    row_id: uuid.UUID


def parse_care_plan_id(resource_id: str) -> CarePlanId | None:
    """The plan a CarePlan id names; None for anything else (a 404)."""
    kind, _, row = resource_id.partition("-")
    if kind not in ("supplement", "exercise"):
        return None
    try:
        return CarePlanId(kind, uuid.UUID(row))
    except ValueError:
        return None


_ACTIVITY_STATUS = {"active": "in-progress", "revoked": "stopped", "completed": "completed"}
_GOAL_STATUS = {"active": "active", "revoked": "cancelled", "completed": "completed"}


def _goal(
    goal_id: str, *, patient_id: uuid.UUID, status: str, description: str, target: dict[str, Any]
) -> dict[str, Any]:
    return {
        "resourceType": "Goal",
        "id": goal_id,
        "lifecycleStatus": _GOAL_STATUS[status],
        "description": {"text": description},
        "subject": _patient(patient_id),
        "target": [target],
    }


def _number_text(value: Decimal | int) -> str:
    number = value.normalize() if isinstance(value, Decimal) else Decimal(value)
    return f"{number:,f}" if number != int(number) else f"{int(number):,}"


def _supplement_status(plan: SupplementPlan, today: date | None) -> str:
    if plan.status == SupplementPlanStatus.STOPPED:
        return "revoked"
    if plan.ends_on is not None and today is not None and plan.ends_on < today:
        return "completed"  # an active plan whose planned end has passed
    return "active"


def care_plan_from_supplement_plan(plan: SupplementPlan, *, today: date | None = None) -> dict[str, Any]:
    """A supplement plan as a CarePlan (id ``supplement-<plan id>``): one activity (the supplement, its amount per
    time of day as ``scheduledTiming``, ``dailyAmount``) and, for calcium and vitamin D, a contained Goal with the
    daily target in ``target.detailQuantity`` (clinician-set, else the DOMAIN default: C1 1,200 mg calcium, C3 800 IU
    vitamin D; magnesium and K2 have none, DOMAIN C4). ``today`` (her local date) marks an active plan past its
    ``ends_on`` as completed; without it the stored status alone decides (active, or revoked when stopped).

    Search parameters: ``patient`` -> ``patient_id``; ``status`` -> ``status`` (+ ``ends_on`` for completed);
    ``date`` -> the period ``starts_on`` .. ``stopped_on`` or ``ends_on``; ``code`` (activity-code) -> ``supplement``
    (token ``CARE_ACTIVITY_SYSTEM|<supplement>``).
    """
    status = _supplement_status(plan, today)
    label = str(Supplement(plan.supplement).label)
    unit_label = str(plan.unit)
    times = [str(t) for t in plan.times_of_day]
    amount_text = f"{_number_text(plan.amount)} {unit_label}"
    title = f"{label} {amount_text}" + (f" at {', '.join(times)}" if times else "")
    detail: dict[str, Any] = {
        "code": {"coding": [_coding(CARE_ACTIVITY_SYSTEM, plan.supplement, label)], "text": label},
        "status": _ACTIVITY_STATUS[status],
        "productCodeableConcept": {"text": label},
        "quantity": _quantity(plan.amount, unit_label, _UCUM_UNITS[plan.unit]),
        "description": f"{amount_text} each time" + (f", at {', '.join(times)}" if times else ""),
    }
    if times:
        detail["scheduledTiming"] = {
            "repeat": {"frequency": len(times), "period": 1, "periodUnit": "d", "timeOfDay": [f"{t}:00" for t in times]}
        }
        detail["dailyAmount"] = _quantity(plan.amount * len(times), unit_label, _UCUM_UNITS[plan.unit])
    care_plan: dict[str, Any] = {
        "resourceType": "CarePlan",
        "id": f"supplement-{plan.pk}",
        "meta": _meta(plan.updated_at),
        "identifier": [_identifier("supplement-plan", plan.pk)],
        "status": status,
        "intent": "plan",
        "category": [{"text": "Supplement plan"}],
        "title": title,
        "subject": _patient(plan.patient_id),
        "period": _date_period(plan.starts_on, plan.stopped_on or plan.ends_on),
        "created": _instant(plan.created_at),
    }
    nutrient = NUTRIENT_OF.get(plan.supplement)
    target = plan.daily_target
    if target is None and nutrient is not None:
        target = NUTRITION_THRESHOLDS.default_daily_target[nutrient]  # DOMAIN C1, C3 (C4: None)
    if nutrient is not None and target is not None:
        total_unit = TOTAL_UNIT[nutrient]
        name = NUTRIENT_NAMES[nutrient]
        source = "set by the care team" if plan.daily_target is not None else "default"
        care_plan["contained"] = [
            _goal(
                "daily-target",
                patient_id=plan.patient_id,
                status=status,
                description=f"{name[0].upper()}{name[1:]} {_number_text(target)} {total_unit} a day ({source})",
                target={
                    "measure": {"text": f"{name} a day"},
                    "detailQuantity": _quantity(target, f"{total_unit}/d", f"{_UCUM_UNITS[total_unit]}/d"),
                },
            )
        ]
        care_plan["goal"] = [{"reference": "#daily-target"}]
        detail["goal"] = [{"reference": "#daily-target"}]
    care_plan["activity"] = [{"detail": detail}]
    return care_plan


def _date_period(start: date, end: date | None) -> dict[str, str]:
    period = {"start": start.isoformat()}
    if end is not None:
        period["end"] = end.isoformat()
    return period


# Exercise targets: (model field, goal id, what is counted, UCUM unit code, unit text). DOMAIN E1-E3.
_EXERCISE_TARGETS: tuple[tuple[str, str, str, str, str], ...] = (
    (ExerciseKind.WEIGHT_BEARING, "weight_bearing_minutes_target", "minutes", "min/wk", "min/wk"),  # DOMAIN E1
    (ExerciseKind.RESISTANCE, "resistance_days_target", "days", "{days}/wk", "days/wk"),  # DOMAIN E2
    (ExerciseKind.BALANCE, "balance_sessions_target", "sessions", "{sessions}/wk", "sessions/wk"),  # DOMAIN E3
)


def care_plan_from_exercise_plan(plan: ExercisePlan) -> dict[str, Any]:
    """An exercise plan as a CarePlan (id ``exercise-<plan id>``): one activity per kind (weight-bearing,
    resistance, balance) with its weekly target as a contained Goal (``target.detailQuantity``: e.g. 150 min/wk
    weight-bearing, 2 days/wk resistance, 2 sessions/wk balance; DOMAIN E1-E3 defaults unless the care team set
    others). Active plans are ``active``; a stopped one ``revoked`` (plans have no planned end, so never completed).

    Search parameters: ``patient`` -> ``patient_id``; ``status`` -> ``status``; ``date`` -> the period
    ``created_at`` .. ``status_changed_at`` (when stopped); ``code`` (activity-code) -> the exercise kinds (token
    ``CARE_ACTIVITY_SYSTEM|weight_bearing`` etc.: every exercise plan has all three).
    """
    stopped = plan.status == ExercisePlanStatus.STOPPED
    status = "revoked" if stopped else "active"
    period = {"start": _instant(plan.created_at)}
    if stopped and plan.status_changed_at is not None:
        period["end"] = _instant(plan.status_changed_at)
    goals = []
    activities = []
    for kind, field, counted, ucum, unit_text in _EXERCISE_TARGETS:
        value = int(getattr(plan, field))
        label = str(ExerciseKind(kind).label)
        goal_id = str(kind).replace("_", "-")
        description = f"{label}: {value} {counted} a week"
        goals.append(
            _goal(
                goal_id,
                patient_id=plan.patient_id,
                status=status,
                description=description,
                target={
                    "measure": {"text": f"{label}, {counted} a week"},
                    "detailQuantity": _quantity(value, unit_text, ucum),
                },
            )
        )
        activities.append(
            {
                "detail": {
                    "code": {"coding": [_coding(CARE_ACTIVITY_SYSTEM, kind, label)], "text": label},
                    "status": _ACTIVITY_STATUS[status],
                    "goal": [{"reference": f"#{goal_id}"}],
                    "description": description,
                }
            }
        )
    return {
        "resourceType": "CarePlan",
        "id": f"exercise-{plan.pk}",
        "meta": _meta(plan.updated_at),
        "contained": goals,
        "identifier": [_identifier("exercise-plan", plan.pk)],
        "status": status,
        "intent": "plan",
        "category": [{"text": "Exercise plan"}],
        "title": "Weekly exercise plan",
        "subject": _patient(plan.patient_id),
        "period": period,
        "created": _instant(plan.created_at),
        "goal": [{"reference": f"#{goal['id']}"} for goal in goals],
        "activity": activities,
    }


# --- Appointment --------------------------------------------------------------------------------------------------


def appointment_from_appointment(appointment: Appointment) -> dict[str, Any]:
    """An appointment as an Appointment: booked -> ``booked``, given -> ``fulfilled``, cancelled -> ``cancelled``
    (with ``cancelationReason.text``). ``serviceType`` is the kind (``APPOINTMENT_KIND_SYSTEM``); ``end`` is
    ``start`` plus the kind's nominal slot (``NOMINAL_MINUTES``, design: only the start is stored); the patient takes
    part (accepted), and the location, when recorded, as a display-only participant. An injection or infusion given
    from one of her schedules names it in ``supportingInformation`` (MedicationRequest/<schedule id>).

    Search parameters: ``patient`` (actor) -> ``patient_id``; ``status`` -> ``status``; ``date`` -> ``starts_at``;
    ``service-type`` (the code) -> ``kind`` (token ``APPOINTMENT_KIND_SYSTEM|<kind>``).
    """
    label = str(AppointmentKind(appointment.kind).label)
    minutes = NOMINAL_MINUTES[appointment.kind]
    participants: list[dict[str, Any]] = [
        {"actor": _patient(appointment.patient_id), "required": "required", "status": "accepted"}
    ]
    if appointment.location:
        participants.append({"actor": {"display": appointment.location}, "required": "required", "status": "accepted"})
    resource: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": str(appointment.pk),
        "meta": _meta(appointment.updated_at),
        "identifier": [_identifier("appointment", appointment.pk)],
        "status": _APPOINTMENT_STATUS[appointment.status],
        "serviceType": [{"coding": [_coding(APPOINTMENT_KIND_SYSTEM, appointment.kind, label)], "text": label}],
        "description": label + (f" at {appointment.location}" if appointment.location else ""),
        "start": _instant(appointment.starts_at),
        "end": _instant(appointment.starts_at + timedelta(minutes=minutes)),
        "minutesDuration": minutes,
        "created": _instant(appointment.created_at),
        "participant": participants,
    }
    if appointment.schedule_id is not None:
        resource["supportingInformation"] = [{"reference": f"MedicationRequest/{appointment.schedule_id}"}]
    if appointment.note:
        resource["comment"] = appointment.note
    if appointment.status == AppointmentStatus.CANCELLED:
        resource["cancelationReason"] = {"text": appointment.cancel_reason or "Cancelled"}
    return resource


# --- QuestionnaireResponse and its Questionnaire -------------------------------------------------------------------


def _score_limits() -> list[dict[str, Any]]:
    return [
        {"url": MIN_VALUE_EXTENSION, "valueInteger": 0},
        {"url": MAX_VALUE_EXTENSION, "valueInteger": SCORE_MAX},  # DOMAIN J2: 0-10
    ]


def joint_pain_questionnaire() -> dict[str, Any]:
    """The weekly joint-pain check-in as a Questionnaire (id ``joint-pain-weekly``), so the canonical URL every
    QuestionnaireResponse names resolves. Items and linkIds match ``questionnaire_response_from_check_in``."""
    return {
        "resourceType": "Questionnaire",
        "id": "joint-pain-weekly",
        "url": JOINT_PAIN_QUESTIONNAIRE_URL,
        "version": JOINT_PAIN_QUESTIONNAIRE_VERSION,
        "name": "JointPainWeeklyCheckIn",
        "title": "Weekly joint-pain check-in (aromatase inhibitor)",
        "status": "active",
        "subjectType": ["Patient"],
        "publisher": "BoneSync",
        "description": (
            "Asked once a week of women on an aromatase inhibitor: the Brief Pain Inventory worst-pain item (0-10), "
            "stiffness, interference with usual activities, and whether joint pain made her miss or stop the drug."
        ),
        "item": [
            {
                "linkId": "worst_pain",
                "text": _WORST_PAIN_TEXT,
                "type": "integer",
                "required": True,
                "extension": _score_limits(),
            },
            {
                "linkId": "stiffness",
                "text": _STIFFNESS_TEXT,
                "type": "integer",
                "required": True,
                "extension": _score_limits(),
            },
            {"linkId": "interfered", "text": _INTERFERED_TEXT, "type": "boolean", "required": True},
            {
                "linkId": "ai_impact",
                "text": _AI_IMPACT_TEXT,
                "type": "choice",
                "required": True,
                "answerOption": [
                    {"valueCoding": _coding(AI_IMPACT_SYSTEM, choice.value, str(choice.label))} for choice in AiImpact
                ],
            },
        ],
    }


def questionnaire_response_from_check_in(check_in: JointPainCheckIn) -> dict[str, Any]:
    """A weekly joint-pain check-in as a completed QuestionnaireResponse to ``JOINT_PAIN_QUESTIONNAIRE_URL``:
    worst_pain and stiffness (valueInteger, 0-10), interfered (valueBoolean), ai_impact (valueCoding,
    ``AI_IMPACT_SYSTEM``). Subject and source are the patient (she answers it herself, in her app).

    Search parameters: ``patient``/``subject`` -> ``patient_id``; ``status`` -> completed (always); ``authored``
    (date) -> ``answered_at``; ``questionnaire`` -> the one canonical URL.
    """
    impact = AiImpact(check_in.ai_impact)
    return {
        "resourceType": "QuestionnaireResponse",
        "id": str(check_in.pk),
        "meta": _meta(check_in.updated_at),
        "identifier": _identifier("joint-pain-check-in", check_in.pk),
        "questionnaire": f"{JOINT_PAIN_QUESTIONNAIRE_URL}|{JOINT_PAIN_QUESTIONNAIRE_VERSION}",
        "status": "completed",
        "subject": _patient(check_in.patient_id),
        "authored": _instant(check_in.answered_at),
        "source": _patient(check_in.patient_id),
        "item": [
            {"linkId": "worst_pain", "text": _WORST_PAIN_TEXT, "answer": [{"valueInteger": check_in.worst_pain}]},
            {"linkId": "stiffness", "text": _STIFFNESS_TEXT, "answer": [{"valueInteger": check_in.stiffness}]},
            {"linkId": "interfered", "text": _INTERFERED_TEXT, "answer": [{"valueBoolean": check_in.interfered}]},
            {
                "linkId": "ai_impact",
                "text": _AI_IMPACT_TEXT,
                "answer": [{"valueCoding": _coding(AI_IMPACT_SYSTEM, impact.value, str(impact.label))}],
            },
        ],
    }
