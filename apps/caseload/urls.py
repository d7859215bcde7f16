from django.urls import path

from apps.caseload import api

urlpatterns = [
    path("patients/", api.PatientListCreateView.as_view(), name="patients"),
]
