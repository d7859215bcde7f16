"""MedicationRequest (a schedule), MedicationStatement (a dose she recorded of a medicine she takes herself) and
MedicationAdministration (a dose of a medicine the clinic gives: injections and infusions)."""

from typing import Any

from apps.fhir.codes import MEDICATION_SYSTEM, coding
from apps.fhir.registry import instant, reference
from apps.medications.models import DoseRecord, DoseStatus, Medication, RecurrenceUnit, Schedule, ScheduleStatus

REQUEST_STATUS = {
    ScheduleStatus.ACTIVE: "active",
    ScheduleStatus.PAUSED: "on-hold",
    ScheduleStatus.STOPPED: "stopped",
}
PERIOD_UNIT = {RecurrenceUnit.DAY: "d", RecurrenceUnit.WEEK: "wk", RecurrenceUnit.MONTH: "mo"}
DAYS_OF_WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # our weekday 0 = Monday


def medication_concept(medication: Medication, dose: str = "") -> dict[str, Any]:
    """Our catalogue code (no RxNorm or SNOMED code is sent until one is verified per product)."""
    return {
        "coding": [coding(MEDICATION_SYSTEM, medication.code, medication.name)],
        "text": f"{medication.name} {dose or medication.dose}".strip(),
    }


def timing_repeat(schedule: Schedule) -> dict[str, Any]:
    """Once every `interval` days, weeks or months at her local time (weekly: on her weekday)."""
    repeat: dict[str, Any] = {
        "boundsPeriod": {
            "start": schedule.starts_on.isoformat(),
            **({"end": schedule.ends_on.isoformat()} if schedule.ends_on else {}),
        },
        "frequency": 1,
        "period": schedule.interval,
        "periodUnit": PERIOD_UNIT[RecurrenceUnit(schedule.unit)],
        "timeOfDay": [schedule.local_time.strftime("%H:%M:%S")],
    }
    if schedule.unit == RecurrenceUnit.WEEK and schedule.weekday is not None:
        repeat["dayOfWeek"] = [DAYS_OF_WEEK[schedule.weekday]]
    return repeat


def _every(schedule: Schedule) -> str:
    unit = RecurrenceUnit(schedule.unit).label.lower()
    when = f"every {schedule.interval} {unit}s" if schedule.interval > 1 else f"every {unit}"
    if schedule.unit == RecurrenceUnit.MONTH and schedule.month_day:
        when += f" on day {schedule.month_day}"
    return f"{schedule.dose} {when} at {schedule.local_time:%H:%M}"


def medication_request_resource(schedule: Schedule) -> dict[str, Any]:
    """Rows with medication joined."""
    return {
        "resourceType": "MedicationRequest",
        "id": str(schedule.id),
        "status": REQUEST_STATUS[ScheduleStatus(schedule.status)],
        "intent": "order",
        "medicationCodeableConcept": medication_concept(schedule.medication, schedule.dose),
        "subject": reference("Patient", schedule.patient_id),
        "authoredOn": instant(schedule.created_at),
        "dosageInstruction": [
            {
                "text": _every(schedule),
                "timing": {"repeat": timing_repeat(schedule)},
                "route": {"text": schedule.medication.get_route_display()},
            }
        ],
    }


def medication_statement_resource(dose: DoseRecord) -> dict[str, Any]:
    """A dose she recorded (taken or skipped); rows with schedule and medication joined."""
    resource: dict[str, Any] = {
        "resourceType": "MedicationStatement",
        "id": str(dose.id),
        "basedOn": [reference("MedicationRequest", dose.schedule_id)],
        "status": "completed" if dose.status == DoseStatus.TAKEN else "not-taken",
        "medicationCodeableConcept": medication_concept(dose.schedule.medication, dose.schedule.dose),
        "subject": reference("Patient", dose.patient_id),
        "effectiveDateTime": instant(dose.taken_at),
        "dateAsserted": instant(dose.created_at),
    }
    if dose.note:
        resource["note"] = [{"text": dose.note}]
    return resource


def medication_administration_resource(dose: DoseRecord) -> dict[str, Any]:
    """A dose of a clinic-given medicine (injection, infusion); rows with schedule and medication joined."""
    medication = dose.schedule.medication
    dosage: dict[str, Any] = {"text": dose.schedule.dose, "route": {"text": medication.get_route_display()}}
    if dose.site:
        dosage["site"] = {"text": dose.site}
    resource: dict[str, Any] = {
        "resourceType": "MedicationAdministration",
        "id": str(dose.id),
        "status": "completed" if dose.status == DoseStatus.TAKEN else "not-done",
        "medicationCodeableConcept": medication_concept(medication, dose.schedule.dose),
        "subject": reference("Patient", dose.patient_id),
        "effectiveDateTime": instant(dose.taken_at),
        "request": reference("MedicationRequest", dose.schedule_id),
        "dosage": dosage,
    }
    if dose.note:
        resource["note"] = [{"text": dose.note}]
    return resource
