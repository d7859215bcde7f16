from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.medications.models import DoseRecord, Medication, ReviewDecision, Schedule
from apps.medications.services import adherence_refresh
from backend.admin import PatientFixedAdmin


def _refresh_schedules(ids: set[Any]) -> None:
    """An edit in the admin moves the stored PDC like the same write through the API (the list agrees with it)."""
    adherence_refresh(list(Schedule.objects.filter(pk__in=ids)))


class RefreshesAdherence:
    """Mixed into the admin of schedules and dose records: saves and deletes refresh the schedules' stored PDC."""

    @staticmethod
    def _schedule_id(obj: Any) -> Any:
        return obj.pk if isinstance(obj, Schedule) else obj.schedule_id

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)  # type: ignore[misc]
        _refresh_schedules({self._schedule_id(obj)})

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        schedule_id = self._schedule_id(obj)
        super().delete_model(request, obj)  # type: ignore[misc]
        _refresh_schedules({schedule_id})

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        ids = {self._schedule_id(obj) for obj in queryset}
        super().delete_queryset(request, queryset)  # type: ignore[misc]
        _refresh_schedules(ids)


@admin.register(Medication)
class MedicationAdmin(admin.ModelAdmin[Medication]):
    list_display = ["name", "dose", "route", "drug_class", "default_unit", "default_interval", "source"]
    readonly_fields = ["code"]


@admin.register(Schedule)
class ScheduleAdmin(RefreshesAdherence, PatientFixedAdmin, admin.ModelAdmin[Schedule]):
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


@admin.register(DoseRecord)
class DoseRecordAdmin(RefreshesAdherence, PatientFixedAdmin, admin.ModelAdmin[DoseRecord]):
    list_display = ["patient", "schedule", "status", "taken_at", "taken_on", "source"]
    list_filter = ["status", "source"]
    raw_id_fields = ["patient", "schedule", "recorded_by"]


@admin.register(ReviewDecision)
class ReviewDecisionAdmin(admin.ModelAdmin[ReviewDecision]):
    list_display = ["schedule", "decision", "reviewer", "created_at"]
    raw_id_fields = ["schedule", "reviewer"]
