from collections.abc import Mapping
from typing import Any, ClassVar
from uuid import UUID

from django import forms
from django.contrib import admin
from django.contrib.admin import widgets
from django.db import models
from django.http import HttpRequest

from backend import clock
from backend.audit import audit_record
from backend.dates import date_bound_errors
from backend.models import AuditEvent
from backend.parsers import SafeJSONFormField


class ViewOnlyAdmin:
    """An admin page that lists and shows rows but never adds, changes or deletes one (put it before ModelAdmin)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ViewOnlyAdmin, admin.ModelAdmin[AuditEvent]):
    """Read-only: the audit log is written by the application and never edited."""

    # object_id: the row read or changed; for `denied` the id asked for, for `burst` how many refusals.
    list_display = [
        "at",
        "actor",
        "actor_role",
        "actor_client",
        "action",
        "resource",
        "patient_id",
        "object_id",
        "path",
    ]
    list_filter = ["action", "resource", "actor_role"]
    search_fields = ["patient_id", "actor__email", "path", "object_id"]
    date_hierarchy = "at"


class BoundedDateFormField(forms.DateField):
    """An admin's date input takes the API's dates (backend.dates): year 9999 is a form error, not a row that
    overflows the jobs' date arithmetic later."""

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value is not None:
            problems = date_bound_errors(value, clock.now().date())
            if problems:
                raise forms.ValidationError(" ".join(problems), code="out_of_range")


# An admin's inputs: too deep a JSON nesting or a date out of bounds is a form error, not a 500 (issue 12).
SAFE_FORM_INPUTS: Mapping[type[models.Field[Any, Any]], Mapping[str, Any]] = {
    models.JSONField: {"form_class": SafeJSONFormField},
    models.DateField: {"form_class": BoundedDateFormField, "widget": widgets.AdminDateWidget},
}


class AuditedPatientAdmin:
    """Mixed into the admin of every model holding a patient's data: the Django admin writes the audit log like the
    API and the console. A list page logs one `list` event per patient on the page (one without a patient when the
    page has none); opening a row (its change, delete-confirmation or history page) a `read`; an add, a change and a
    delete (one row or a bulk action) `create`, `update`, `delete` with the row's id. `resource` is
    `admin_<model>`. Django's own hooks are used (`log_addition`, `log_change`, `log_deletions`), so an admin that
    overrides `save_model` or `delete_model` is still audited.

    `audit_patient_path` is the ORM path from the model to its patient ("patient" by default; "pk" for the patient
    herself)."""

    audit_patient_path: ClassVar[str] = "patient"
    model: Any

    def _audit(self, request: HttpRequest, action: str, rows: list[Any], *, one: bool = False) -> None:
        patient_ids: list[UUID | None] = [p for p in self._patient_ids(rows) if p is not None]
        if action == AuditEvent.Action.LIST:
            patient_ids = patient_ids or [None]  # the page view itself
        elif not patient_ids:  # a row of no patient (a staff member's login)
            return
        audit_record(
            actor=request.user,
            action=action,
            resource=f"admin_{self.model._meta.model_name}",
            patient_ids=patient_ids,
            object_id=rows[0].pk if one and rows else "",
            request=request,
        )

    def _patient_ids(self, rows: list[Any]) -> list[Any]:
        if not rows:
            return []
        path = self.audit_patient_path
        if path == "pk":
            return [row.pk for row in rows]
        if "__" not in path and hasattr(rows[0], f"{path}_id"):  # a foreign key on the row: no query
            return [getattr(row, f"{path}_id") for row in rows]
        by_pk = dict(self.model._default_manager.filter(pk__in=[r.pk for r in rows]).values_list("pk", path))
        return [by_pk.get(row.pk) for row in rows]

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        changelist = super().get_changelist_instance(request)  # type: ignore[misc]
        self._audit(request, AuditEvent.Action.LIST, list(changelist.result_list))
        return changelist

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        obj = super().get_object(request, object_id, from_field)  # type: ignore[misc]
        if obj is not None and request.method in ("GET", "HEAD"):  # a POST is logged as what it changes
            self._audit(request, AuditEvent.Action.READ, [obj], one=True)
        return obj

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        self._audit(request, AuditEvent.Action.CREATE, [obj], one=True)
        return super().log_addition(request, obj, message)  # type: ignore[misc]

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        self._audit(request, AuditEvent.Action.UPDATE, [obj], one=True)
        return super().log_change(request, obj, message)  # type: ignore[misc]

    def log_deletions(self, request: HttpRequest, queryset: Any) -> Any:
        rows = list(queryset)  # before they are gone
        for row in rows:
            self._audit(request, AuditEvent.Action.DELETE, [row], one=True)
        return super().log_deletions(request, queryset)  # type: ignore[misc]


class PatientFixedAdmin(AuditedPatientAdmin):
    """Mixed into the admin of every patient-owned model (audited, above): a saved row's patient is read-only.
    Patients' apps hold synced copies; a row moved to another patient would reach neither app as it should (the
    first would never get a delete), so a wrong owner is fixed by deleting the row and recording it again for the
    right patient.

    Its JSON inputs (a plan's times or days) answer too deep a nesting, and its dates one out of the API's bounds,
    with a form error, not a 500."""

    formfield_overrides: ClassVar[Mapping[type[models.Field[Any, Any]], Mapping[str, Any]]] = SAFE_FORM_INPUTS

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str] | tuple[str, ...]:
        fields = list(super().get_readonly_fields(request, obj))  # type: ignore[misc]
        return [*fields, "patient"] if obj is not None and "patient" not in fields else fields
