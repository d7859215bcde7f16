"""The resource types this server answers (apps.fhir.registry), registered at start-up by FhirConfig."""

from typing import Any

from django.db.models import Q, QuerySet

from apps.accounts.models import Patient
from apps.fhir.codes import DXA_LOINC, LAB_LOINC, LAB_SYSTEM, LOINC, OBSERVATION_CATEGORY
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
from apps.fhir.resources.medication import (
    REQUEST_STATUS,
    medication_administration_resource,
    medication_request_resource,
    medication_statement_resource,
)
from apps.fhir.resources.observation import dxa_observation_resource, lab_observation_resource
from apps.fhir.resources.patient import patient_resource
from apps.medications.models import AdministeredBy, DoseRecord, DoseStatus, Schedule
from apps.profiles.models import BoneDensityResult, LabKind, LabResult
from backend.access import ScopedUser, patient_scope
from backend.text import search_key

REQUEST_STATUS_SYSTEM = "http://hl7.org/fhir/CodeSystem/medicationrequest-status"
STATEMENT_STATUS_SYSTEM = "http://hl7.org/fhir/CodeSystem/medication-statement-status"
ADMINISTRATION_STATUS_SYSTEM = "http://terminology.hl7.org/CodeSystem/medication-admin-status"


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
            params={"name": SearchParam("string", "Her name contains the value (case and accents ignored).")},
            sources=(
                Source(
                    rows=patient_rows,
                    mapper=patient_resource,
                    order=("created_at", "id"),
                    filters={"name": name_filter},
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
