from django.urls import URLPattern, URLResolver, path

from apps.reminders import api, api_devices

urlpatterns: list[URLPattern | URLResolver] = [
    path("devices/", api_devices.DeviceListView.as_view(), name="devices"),
    path("devices/<int:device_id>/", api_devices.DeviceDetailView.as_view(), name="device-detail"),
    path("patients/<uuid:patient_id>/reminders/", api.ReminderListView.as_view(), name="reminders"),
    path(
        "patients/<uuid:patient_id>/reminder-preferences/",
        api.ReminderPreferenceView.as_view(),
        name="reminder-preferences",
    ),
]
