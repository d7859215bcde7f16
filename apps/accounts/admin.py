from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from apps.accounts.models import CareTeamAssignment, Organisation, Patient, User
from backend.admin import AuditedPatientAdmin, PatientFixedAdmin


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin[Organisation]):
    list_display = ["name", "mrn_system", "created_at"]
    search_fields = ["name"]
    fields = ["name", "mrn_system"]  # mrn_system: the EHR's MRN identifier system (FHIR import and Patient)


@admin.register(User)
class UserAdmin(AuditedPatientAdmin, DjangoUserAdmin):
    audit_patient_path = "patient"  # a patient's login (her name, email); staff rows log no patient
    ordering = ["email"]
    list_display = ["email", "full_name", "role", "organisation", "is_active"]
    list_filter = ["role", "organisation", "is_active"]
    search_fields = ["email", "full_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Person", {"fields": ("full_name", "role", "organisation")}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {"classes": ("wide",), "fields": ("email", "full_name", "role", "organisation", "password1", "password2")},
        ),
    )


class CareTeamInline(admin.TabularInline[CareTeamAssignment, Patient]):
    model = CareTeamAssignment
    fk_name = "patient"
    extra = 0
    raw_id_fields = ["staff", "assigned_by"]


@admin.register(Patient)
class PatientAdmin(AuditedPatientAdmin, admin.ModelAdmin[Patient]):
    audit_patient_path = "pk"
    list_display = ["__str__", "organisation", "created_at"]
    list_filter = ["organisation"]
    search_fields = ["user__email", "user__full_name", "mrn"]
    raw_id_fields = ["user"]
    inlines = [CareTeamInline]


@admin.register(CareTeamAssignment)
class CareTeamAssignmentAdmin(PatientFixedAdmin, admin.ModelAdmin[CareTeamAssignment]):
    list_display = ["patient", "staff", "assigned_by", "created_at"]
    list_filter = ["patient__organisation"]
    raw_id_fields = ["patient", "staff", "assigned_by"]


def admin_sign_in_paused(request: HttpRequest, seconds: int) -> HttpResponse:
    """The admin's page for a sign-in beyond the limits (config/urls.py wraps the admin's login view)."""
    context = {**admin.site.each_context(request), "title": "Too many sign-in attempts", "seconds": seconds}
    return TemplateResponse(request, "accounts/admin_sign_in_paused.html", context, status=429)
