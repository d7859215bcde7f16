from django.urls import path

from apps.medications import api, api_off_ramp, api_review, api_stock

P = "patients/<uuid:patient_id>/"
urlpatterns = [
    path("medications/", api.MedicationListView.as_view(), name="medications"),
    path(f"{P}schedules/", api.ScheduleListCreateView.as_view(), name="schedules"),
    path(f"{P}schedules/<uuid:schedule_id>/", api.ScheduleDetailView.as_view(), name="schedule-detail"),
    path(f"{P}schedules/<uuid:schedule_id>/occurrences/", api.OccurrenceListView.as_view(), name="occurrences"),
    path(f"{P}schedules/<uuid:schedule_id>/stock/", api_stock.ScheduleStockView.as_view(), name="schedule-stock"),
    path(f"{P}schedules/<uuid:schedule_id>/refill/", api_stock.ScheduleRefillView.as_view(), name="schedule-refill"),
    path(f"{P}doses/", api.DoseListCreateView.as_view(), name="doses"),
    path(f"{P}doses/<uuid:dose_id>/", api.DoseDetailView.as_view(), name="dose-detail"),
    path(f"{P}adherence/", api_review.AdherenceView.as_view(), name="adherence"),
    path(f"{P}off-ramp/", api_off_ramp.OffRampView.as_view(), name="off-ramp"),
    path("reviews/", api_review.ReviewQueueView.as_view(), name="reviews"),
    path("reviews/verify/", api_review.ReviewBulkVerifyView.as_view(), name="review-verify-many"),
    path("reviews/<uuid:schedule_id>/", api_review.ReviewDecideView.as_view(), name="review-decide"),
    path("reviews/<uuid:schedule_id>/history/", api_review.ReviewHistoryView.as_view(), name="review-history"),
]
