"""The resource types this server answers (apps.fhir.registry), registered at start-up by FhirConfig."""

from typing import Any

from django.db.models import Func, IntegerField, Q, QuerySet

from apps.accounts.models import Patient
from apps.alerts.models import Alert, AlertState
from apps.appointments.models import Appointment, AppointmentStatus
from apps.exercise.models import ExercisePlan
from apps.exercise.models import PlanStatus as ExercisePlanStatus
from apps.fhir.care_status import supplement_care_plan, supplement_plan_rows, supplement_status_filter
from apps.fhir.codes import DXA_LOINC, LAB_LOINC, LAB_SYSTEM, LOINC, OBSERVATION_CATEGORY
from apps.fhir.identifiers import identifier_filter
from apps.fhir.registry import (
    ALL,
    DATE,
    NOTHING,
    PATIENT,
    ResourceType,
    SearchParam,
    Source,
    date_filter,
    patient_filter,
    register,
    split_values,
    token_filter,
)
from apps.fhir.resources.care import (
    appointment_from_appointment,
    care_plan_from_exercise_plan,
    detected_issues_from_decision,
    flag_from_alert,
    joint_pain_questionnaire,
    questionnaire_response_from_check_in,
)
from apps.fhir.resources.group import register_group  # Group/<id>/$export names an organisation
from apps.fhir.resources.medication import (
    REQUEST_STATUS,
    medication_administration_resource,
    medication_request_resource,
    medication_statement_resource,
)
from apps.fhir.resources.observation import dxa_observation_resource, lab_observation_resource
from apps.fhir.resources.patient import patient_resource
from apps.joint_pain.models import JointPainCheckIn
from apps.medications.models import AdministeredBy, DoseRecord, DoseStatus, ReviewDecision, Schedule
from apps.profiles.models import BoneDensityResult, LabKind, LabResult
from backend.access import ScopedUser, patient_scope
from backend.roles import Role
from backend.text import search_key

REQUEST_STATUS_SYSTEM = "http://hl7.org/fhir/CodeSystem/medicationrequest-status"
STATEMENT_STATUS_SYSTEM = "http://hl7.org/fhir/CodeSystem/medication-statement-status"
ADMINISTRATION_STATUS_SYSTEM = "http://terminology.hl7.org/CodeSystem/medication-admin-status"
FLAG_STATUS_SYSTEM = "http://hl7.org/fhir/flag-status"
APPOINTMENT_STATUS_SYSTEM = "http://hl7.org/fhir/appointmentstatus"
CARE_PLAN_STATUS_SYSTEM = "http://hl7.org/fhir/request-status"


def patient_rows(user: ScopedUser) -> QuerySet[Patient]:
    return Patient.objects.filter(patient_scope(user, via="")).select_related("user", "organisation", "profile")


def name_filter(values: list[str]) -> Q:
    """`name`: her name contains each value, ignoring case and accents (FHIR's default is "starts with" any part of
    the name; contains is a superset, which is allowed)."""
    q = Q()
    for value in values:
        any_of = NOTHING
        for part in split_values([value]):
            key = search_key(part).replace("\x00", "")  # PostgreSQL text holds no NUL
            any_of |= Q(user__search_name__contains=key) if key else ALL
        q &= any_of
    return q


def dose_rows(administered_by: str) -> Any:
    def rows(user: ScopedUser) -> QuerySet[DoseRecord]:
        return DoseRecord.objects.filter(
            patient_scope(user), schedule__medication__administered_by=administered_by
        ).select_related("schedule__medication")

    return rows


def register_all() -> None:
    register(
        ResourceType(
            name="Patient",
            params={
                "name": SearchParam("string", "Her name contains the value (case and accents ignored)."),
                "identifier": SearchParam(  # issue 16: EHRs look her up by MRN (apps.fhir.identifiers)
                    "token",
                    "system|value: her MRN in the organisation's MRN system, or urn:ietf:rfc:3986|urn:uuid:<id>; "
                    "a value alone matches either.",
                ),
            },
            sources=(
                Source(
                    rows=patient_rows,
                    mapper=patient_resource,
                    order=("created_at", "id"),
                    filters={"name": name_filter, "identifier": identifier_filter},
                    patient_id=lambda row: row.id,
                ),
            ),
        )
    )
    register(
        ResourceType(
            name="MedicationRequest",
            params={"patient": PATIENT, "status": SearchParam("token", "active | on-hold | stopped")},
            sources=(
                Source(
                    rows=lambda user: Schedule.objects.filter(patient_scope(user)).select_related("medication"),
                    mapper=medication_request_resource,
                    order=("created_at", "id"),
                    filters={
                        "patient": patient_filter(),
                        "status": token_filter(
                            {(REQUEST_STATUS_SYSTEM, fhir): Q(status=ours) for ours, fhir in REQUEST_STATUS.items()}
                        ),
                    },
                ),
            ),
        )
    )
    taken = Q(status=DoseStatus.TAKEN)
    skipped = Q(status=DoseStatus.SKIPPED)
    register(
        ResourceType(
            name="MedicationStatement",
            params={"patient": PATIENT, "effective": DATE, "status": SearchParam("token", "completed | not-taken")},
            sources=(
                Source(
                    rows=dose_rows(AdministeredBy.PATIENT),
                    mapper=medication_statement_resource,
                    order=("taken_at", "id"),
                    filters={
                        "patient": patient_filter(),
                        "effective": date_filter("taken_at", instant=True),
                        "status": token_filter(
                            {
                                (STATEMENT_STATUS_SYSTEM, "completed"): taken,
                                (STATEMENT_STATUS_SYSTEM, "not-taken"): skipped,
                            }
                        ),
                    },
                ),
            ),
        )
    )
    register(
        ResourceType(
            name="MedicationAdministration",
            params={"patient": PATIENT, "effective-time": DATE, "status": SearchParam("token", "completed | not-done")},
            sources=(
                Source(
                    rows=dose_rows(AdministeredBy.CLINIC),
                    mapper=medication_administration_resource,
                    order=("taken_at", "id"),
                    filters={
                        "patient": patient_filter(),
                        "effective-time": date_filter("taken_at", instant=True),
                        "status": token_filter(
                            {
                                (ADMINISTRATION_STATUS_SYSTEM, "completed"): taken,
                                (ADMINISTRATION_STATUS_SYSTEM, "not-done"): skipped,
                            }
                        ),
                    },
                ),
            ),
        )
    )
    dxa_codes = {(LOINC, code): Q(site=site) for site, (code, _) in DXA_LOINC.items()}
    lab_codes = {(LAB_SYSTEM, kind): Q(kind=kind) for kind in LabKind.values}
    register(
        ResourceType(
            name="Observation",
            params={
                "patient": PATIENT,
                "date": DATE,
                "code": SearchParam(
                    "token", "LOINC (http://loinc.org|38267-1) or our lab-kind code; system|code or code."
                ),
                "category": SearchParam("token", "imaging (DXA) | laboratory (labs)"),
            },
            sources=(
                Source(
                    rows=lambda user: BoneDensityResult.objects.filter(patient_scope(user)),
                    mapper=dxa_observation_resource,
                    order=("measured_on", "id"),
                    filters={
                        "patient": patient_filter(),
                        "date": date_filter("measured_on"),
                        "code": token_filter(dxa_codes),
                        "category": token_filter({(OBSERVATION_CATEGORY, "imaging"): ALL}),
                    },
                ),
                Source(
                    rows=lambda user: LabResult.objects.filter(patient_scope(user)),
                    mapper=lab_observation_resource,
                    order=("measured_on", "id"),
                    filters={
                        "patient": patient_filter(),
                        "date": date_filter("measured_on"),
                        "code": token_filter(
                            lab_codes
                            | {(LOINC, code): Q(kind=kind, unit=unit) for (kind, unit), (code, _) in LAB_LOINC.items()}
                        ),
                        "category": token_filter({(OBSERVATION_CATEGORY, "laboratory"): ALL}),
                    },
                ),
            ),
        )
    )
    register_care()
    register_group()


class JsonArrayLength(Func):
    """The length of a JSON array column, in PostgreSQL and in the embedded SQLite (JSON1)."""

    function = "jsonb_array_length"
    output_field = IntegerField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return super().as_sql(compiler, connection, function="json_array_length", **extra)


def findings_count() -> Func:
    """How many findings a review decision recorded (its DetectedIssues), counted in the database."""
    return JsonArrayLength("findings")


def staff_scope(user: ScopedUser, *, via: str = "patient") -> Q:
    """Care-team records (alerts, the pharmacist's findings: staff text and DOMAIN rule ids): the API shows them to
    staff only (apps.alerts.api, apps.medications.api_review), so a patient's token reads none of them here either
    (her own id is a 404, logged as denied); staff and system clients within their patient scope."""
    return NOTHING if user.role == Role.PATIENT else patient_scope(user, via=via)


def register_care() -> None:
    """Alerts, review findings, supplement and exercise plans, appointments and joint-pain check-ins (the mappers in
    apps.fhir.resources.care; each docstring there names the search parameters served here)."""
    register(
        ResourceType(
            name="Flag",
            params={
                "patient": PATIENT,
                "status": SearchParam("token", "active (open or acknowledged alerts) | inactive (resolved)"),
                "date": SearchParam("date", f"When the alert was raised (Flag.period.start). {DATE.documentation}"),
            },
            sources=(
                Source(
                    rows=lambda user: Alert.objects.filter(staff_scope(user)),
                    mapper=flag_from_alert,
                    order=("raised_at", "id"),
                    filters={
                        "patient": patient_filter(),
                        "status": token_filter(
                            {
                                (FLAG_STATUS_SYSTEM, "active"): ~Q(state=AlertState.RESOLVED),
                                (FLAG_STATUS_SYSTEM, "inactive"): Q(state=AlertState.RESOLVED),
                            }
                        ),
                        "date": date_filter("raised_at", instant=True),
                    },
                ),
            ),
        )
    )
    register(
        ResourceType(
            name="Appointment",
            params={
                "patient": PATIENT,
                "status": SearchParam("token", "booked | fulfilled (given) | cancelled"),
                "date": SearchParam("date", f"When it starts (Appointment.start). {DATE.documentation}"),
            },
            sources=(
                Source(
                    rows=lambda user: Appointment.objects.filter(patient_scope(user)),
                    mapper=appointment_from_appointment,
                    order=("starts_at", "id"),
                    filters={
                        "patient": patient_filter(),
                        "status": token_filter(
                            {
                                (APPOINTMENT_STATUS_SYSTEM, "booked"): Q(status=AppointmentStatus.BOOKED),
                                (APPOINTMENT_STATUS_SYSTEM, "fulfilled"): Q(status=AppointmentStatus.GIVEN),
                                (APPOINTMENT_STATUS_SYSTEM, "cancelled"): Q(status=AppointmentStatus.CANCELLED),
                            }
                        ),
                        "date": date_filter("starts_at", instant=True),
                    },
                ),
            ),
        )
    )
    register(
        ResourceType(
            name="QuestionnaireResponse",
            params={
                "patient": PATIENT,
                "authored": SearchParam("date", f"When she answered. {DATE.documentation}"),
            },
            sources=(
                Source(
                    rows=lambda user: JointPainCheckIn.objects.filter(patient_scope(user)),
                    mapper=questionnaire_response_from_check_in,
                    order=("answered_at", "id"),
                    filters={"patient": patient_filter(), "authored": date_filter("answered_at", instant=True)},
                ),
            ),
        )
    )
    # The definition every QuestionnaireResponse names, so its canonical resolves here too.
    register(ResourceType(name="Questionnaire", sources=(), fixed=lambda: [joint_pain_questionnaire()]))
    care_plan_status = SearchParam(
        "token", "active | completed (a supplement plan past its planned end, in her zone) | revoked (stopped)"
    )
    register(
        ResourceType(
            name="CarePlan",
            params={
                "patient": PATIENT,
                "status": care_plan_status,
                "date": SearchParam(
                    "date",
                    "When the plan starts (supplement plans: their start day; exercise plans: when set). "
                    + DATE.documentation,
                ),
            },
            sources=(
                Source(
                    rows=supplement_plan_rows,  # with her zone: past its planned end in her zone is completed
                    mapper=supplement_care_plan,
                    order=("starts_on", "id"),
                    id_prefix="supplement-",
                    filters={
                        "patient": patient_filter(),
                        "status": supplement_status_filter(CARE_PLAN_STATUS_SYSTEM),
                        "date": date_filter("starts_on"),
                    },
                ),
                Source(
                    rows=lambda user: ExercisePlan.objects.filter(patient_scope(user)),
                    mapper=care_plan_from_exercise_plan,
                    order=("created_at", "id"),
                    id_prefix="exercise-",
                    filters={
                        "patient": patient_filter(),
                        "status": token_filter(
                            {
                                (CARE_PLAN_STATUS_SYSTEM, "active"): Q(status=ExercisePlanStatus.ACTIVE),
                                (CARE_PLAN_STATUS_SYSTEM, "revoked"): Q(status=ExercisePlanStatus.STOPPED),
                            }
                        ),
                        "date": date_filter("created_at", instant=True),
                    },
                ),
            ),
        )
    )
    register(
        ResourceType(
            name="DetectedIssue",
            params={
                "patient": PATIENT,
                "date": SearchParam("date", f"When the pharmacist decided (identified). {DATE.documentation}"),
            },
            sources=(
                Source(
                    # The findings each review decision recorded; a decision without findings yields none.
                    rows=lambda user: (
                        ReviewDecision.objects.filter(staff_scope(user, via="schedule__patient"))
                        .exclude(findings=[])
                        .select_related("schedule__medication", "reviewer")
                    ),
                    mapper=detected_issues_from_decision,
                    order=("created_at", "id"),
                    id_prefix="d-",
                    per_row=True,
                    weight=findings_count(),
                    filters={
                        "patient": patient_filter("schedule__patient_id"),
                        "date": date_filter("created_at", instant=True),
                    },
                    patient_id=lambda row: row.schedule.patient_id,
                ),
            ),
        )
    )
