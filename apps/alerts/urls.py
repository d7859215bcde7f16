from django.urls import path

from apps.alerts import api

urlpatterns = [
    path("alerts/", api.AlertListView.as_view(), name="alerts"),
    path("alerts/<uuid:alert_id>/acknowledge/", api.AlertAcknowledgeView.as_view(), name="alert-acknowledge"),
    path("alerts/<uuid:alert_id>/resolve/", api.AlertResolveView.as_view(), name="alert-resolve"),
    path("alerts/<uuid:alert_id>/contacts/", api.AlertContactsView.as_view(), name="alert-contacts"),
    path("alerts/bulk/", api.AlertBulkView.as_view(), name="alerts-bulk"),
    path("patients/<uuid:patient_id>/notices/", api.NoticeListView.as_view(), name="notices"),
]
