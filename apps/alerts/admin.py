from django.contrib import admin

from apps.alerts.models import Alert, AlertEvent, Notice
from backend.admin import PatientFixedAdmin


class AlertEventInline(admin.TabularInline[AlertEvent, Alert]):
    model = AlertEvent
    extra = 0
    readonly_fields = ["action", "actor", "note", "at"]
    can_delete = False


@admin.register(Alert)
class AlertAdmin(PatientFixedAdmin, admin.ModelAdmin[Alert]):
    list_display = ["kind", "severity", "state", "patient", "raised_at"]
    list_filter = ["state", "severity", "kind"]
    raw_id_fields = ["patient", "schedule", "acknowledged_by", "resolved_by"]
    inlines = [AlertEventInline]


@admin.register(Notice)
class NoticeAdmin(PatientFixedAdmin, admin.ModelAdmin[Notice]):
    list_display = ["kind", "title", "patient", "published_at"]
    raw_id_fields = ["patient", "schedule"]
