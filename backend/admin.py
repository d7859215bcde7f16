from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from backend.models import AuditEvent


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
