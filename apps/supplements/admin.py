from django.contrib import admin

from apps.supplements.models import DietaryCalciumEntry, SupplementIntake, SupplementPlan
from backend.admin import PatientFixedAdmin


@admin.register(SupplementPlan)
class SupplementPlanAdmin(PatientFixedAdmin, admin.ModelAdmin[SupplementPlan]):
    list_display = ["patient", "supplement", "amount", "unit", "daily_target", "status", "starts_on", "ends_on"]
    list_filter = ["supplement", "status"]
    raw_id_fields = ["patient", "created_by"]


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
