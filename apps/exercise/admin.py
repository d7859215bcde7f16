from django.contrib import admin

from apps.exercise.models import ExercisePlan, ExerciseSession
from backend.admin import PatientFixedAdmin


@admin.register(ExercisePlan)
class ExercisePlanAdmin(PatientFixedAdmin, admin.ModelAdmin[ExercisePlan]):
    list_display = [
        "patient",
        "status",
        "weight_bearing_minutes_target",
        "resistance_days_target",
        "balance_sessions_target",
        "reminder_days",
        "local_time",
        "created_at",
    ]
    list_filter = ["status"]
    raw_id_fields = ["patient", "created_by"]


@admin.register(ExerciseSession)
class ExerciseSessionAdmin(PatientFixedAdmin, admin.ModelAdmin[ExerciseSession]):
    list_display = ["patient", "kind", "minutes", "performed_at", "performed_on"]
    list_filter = ["kind"]
    raw_id_fields = ["patient", "recorded_by"]
    date_hierarchy = "performed_at"
