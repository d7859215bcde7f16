from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.medications.models import DoseRecord, Medication, ReviewDecision, Schedule
from apps.medications.services import schedule_delete
from backend.admin import SAFE_FORM_INPUTS, AuditedPatientAdmin, PatientFixedAdmin, ViewOnlyAdmin


@admin.register(Medication)
class MedicationAdmin(admin.ModelAdmin[Medication]):
    list_display = ["name", "dose", "route", "drug_class", "default_unit", "default_interval", "source"]
    readonly_fields = ["code"]


@admin.register(Schedule)
class ScheduleAdmin(PatientFixedAdmin, admin.ModelAdmin[Schedule]):
    """View only: a schedule is written through the API (apps.medications.services), where every change sends it
    back to the pharmacist's review and moves the injection watch; a form saving the row directly would do
    neither (and could mark it verified without a review)."""

    list_display = [
        "patient",
        "medication",
        "unit",
        "interval",
        "status",
        "review_status",
        "next_due_on",
        "injection_state",
    ]
    list_filter = ["status", "review_status", "medication", "injection_state"]
    raw_id_fields = ["patient", "created_by"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    # Deleting stays possible (a row entered by mistake), through the service that tells the review, the reminders
    # and the stopped-injectable check (a deleted follow-on leaves a stopped denosumab without one, DOMAIN D5).
    def delete_model(self, request: HttpRequest, obj: Schedule) -> None:
        schedule_delete(schedule=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        for schedule in queryset.order_by("patient_id", "id"):
            schedule_delete(schedule=schedule)


@admin.register(DoseRecord)
class DoseRecordAdmin(ViewOnlyAdmin, PatientFixedAdmin, admin.ModelAdmin[DoseRecord]):
    """View only: a dose moves the injection due date, its alerts and the patient's reminders, which only the dose
    services keep true; corrections go through `PATCH .../doses/{id}/` (audit-logged), e.g. to `skipped`."""

    list_display = ["patient", "schedule", "status", "taken_at", "taken_on", "source"]
    list_filter = ["status", "source"]
    raw_id_fields = ["patient", "schedule", "recorded_by"]


@admin.register(ReviewDecision)
class ReviewDecisionAdmin(AuditedPatientAdmin, admin.ModelAdmin[ReviewDecision]):
    audit_patient_path = "schedule__patient"
    formfield_overrides = SAFE_FORM_INPUTS
    list_display = ["schedule", "decision", "reviewer", "created_at"]
    raw_id_fields = ["schedule", "reviewer"]
