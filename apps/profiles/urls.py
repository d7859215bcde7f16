from django.urls import path

from apps.profiles import api

urlpatterns = [
    path("patients/<uuid:patient_id>/", api.PatientDetailView.as_view(), name="patient-detail"),
    path("patients/<uuid:patient_id>/bone-density/", api.BoneDensityView.as_view(), name="bone-density"),
    path("patients/<uuid:patient_id>/labs/", api.LabView.as_view(), name="labs"),
    path("patients/<uuid:patient_id>/bone-health/", api.BoneHealthView.as_view(), name="bone-health"),
    path("patients/<uuid:patient_id>/ai-course/stop/", api.AiCourseStopView.as_view(), name="ai-course-stop"),
    path("patients/<uuid:patient_id>/ai-course/resume/", api.AiCourseResumeView.as_view(), name="ai-course-resume"),
]
