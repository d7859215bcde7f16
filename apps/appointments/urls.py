from django.urls import URLPattern, URLResolver, path

from apps.appointments import api

P = "patients/<uuid:patient_id>/"
urlpatterns: list[URLPattern | URLResolver] = [
    path(f"{P}appointments/", api.AppointmentListCreateView.as_view(), name="appointments"),
    path(f"{P}appointments/<uuid:appointment_id>/", api.AppointmentDetailView.as_view(), name="appointment-detail"),
    path(
        f"{P}appointments/<uuid:appointment_id>/cancel/",
        api.AppointmentCancelView.as_view(),
        name="appointment-cancel",
    ),
    path(f"{P}dental-checks/", api.DentalCheckListCreateView.as_view(), name="dental-checks"),
    path("booking-list/", api.BookingListView.as_view(), name="booking-list"),
]
