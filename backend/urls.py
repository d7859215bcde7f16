from django.urls import path

from backend.audit_api import AuditEventListView

urlpatterns = [path("audit-events/", AuditEventListView.as_view(), name="audit-events")]
