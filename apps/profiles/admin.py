from django.contrib import admin

from apps.profiles.models import BoneDensityResult, LabResult, PatientProfile
from backend.admin import PatientFixedAdmin


@admin.register(PatientProfile)
class PatientProfileAdmin(PatientFixedAdmin, admin.ModelAdmin[PatientProfile]):
    list_display = ["patient", "birth_date", "timezone", "aromatase_inhibitor"]
    raw_id_fields = ["patient"]


@admin.register(BoneDensityResult)
class BoneDensityResultAdmin(PatientFixedAdmin, admin.ModelAdmin[BoneDensityResult]):
    list_display = ["patient", "measured_on", "site", "t_score"]
    raw_id_fields = ["patient", "recorded_by"]


@admin.register(LabResult)
class LabResultAdmin(PatientFixedAdmin, admin.ModelAdmin[LabResult]):
    list_display = ["patient", "kind", "value", "unit", "measured_on"]
    raw_id_fields = ["patient", "recorded_by"]
