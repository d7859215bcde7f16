from collections.abc import Mapping
from typing import Any, ClassVar

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from backend.models import AuditEvent
from backend.parsers import SafeJSONFormField


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[AuditEvent]):
    """Read-only: the audit log is written by the application and never edited."""

    list_display = ["at", "actor", "actor_role", "action", "resource", "patient_id", "path"]
    list_filter = ["action", "resource", "actor_role"]
    search_fields = ["patient_id", "actor__email", "path"]
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# An admin's JSON inputs: too deep a nesting is a form error, not a 500 (issue 12).
SAFE_JSON_INPUTS: Mapping[type[models.Field[Any, Any]], Mapping[str, Any]] = {
    models.JSONField: {"form_class": SafeJSONFormField}
}


class PatientFixedAdmin:
    """Mixed into the admin of every patient-owned model: a saved row's patient is read-only. Patients' apps hold
    synced copies; a row moved to another patient would reach neither app as it should (the first would never get
    a delete), so a wrong owner is fixed by deleting the row and recording it again for the right patient.

    Its JSON inputs (a plan's times or days) answer too deep a nesting with a form error, not a 500."""

    formfield_overrides: ClassVar[Mapping[type[models.Field[Any, Any]], Mapping[str, Any]]] = SAFE_JSON_INPUTS

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str] | tuple[str, ...]:
        fields = list(super().get_readonly_fields(request, obj))  # type: ignore[misc]
        return [*fields, "patient"] if obj is not None and "patient" not in fields else fields
