from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.medications.services import review_recheck
from apps.supplements.models import DietaryCalciumEntry, SupplementIntake, SupplementPlan
from backend.admin import PatientFixedAdmin


@admin.register(SupplementPlan)
class SupplementPlanAdmin(PatientFixedAdmin, admin.ModelAdmin[SupplementPlan]):
    list_display = ["patient", "supplement", "amount", "unit", "daily_target", "status", "starts_on", "ends_on"]
    list_filter = ["supplement", "status"]
    raw_id_fields = ["patient", "created_by"]
    # Issue 17: the stock has one writer (apps.medications.stock: doses, refills, counts through the API).
    readonly_fields = [
        *("stock_on_hand", "pack_size", "units_per_dose", "refill_warning_days", "stock_counted_at"),
        *("supply_last_on", "refill_due_on"),
    ]

    # A plan's times and nutrients feed the pharmacist's checks (DOMAIN A2, D6): after an edit here, the patient's
    # verified schedules are rechecked as after an edit through the API.
    def save_model(self, request: HttpRequest, obj: SupplementPlan, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        review_recheck(patient_id=obj.patient_id)

    def delete_model(self, request: HttpRequest, obj: SupplementPlan) -> None:
        super().delete_model(request, obj)
        review_recheck(patient_id=obj.patient_id)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[SupplementPlan]) -> None:
        patient_ids = set(queryset.values_list("patient_id", flat=True))
        super().delete_queryset(request, queryset)
        for patient_id in sorted(patient_ids):
            review_recheck(patient_id=patient_id)


@admin.register(SupplementIntake)
class SupplementIntakeAdmin(PatientFixedAdmin, admin.ModelAdmin[SupplementIntake]):
    list_display = ["patient", "supplement", "amount", "unit", "taken_at", "taken_on"]
    list_filter = ["supplement", "unit"]
    raw_id_fields = ["patient", "plan", "recorded_by"]
    date_hierarchy = "taken_at"


@admin.register(DietaryCalciumEntry)
class DietaryCalciumEntryAdmin(PatientFixedAdmin, admin.ModelAdmin[DietaryCalciumEntry]):
    list_display = ["patient", "date", "mg", "food", "servings"]
    list_filter = ["food"]
    raw_id_fields = ["patient", "recorded_by"]
