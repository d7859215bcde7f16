from django.urls import URLPattern, URLResolver, path

from apps.joint_pain import api

P = "patients/<uuid:patient_id>/"
urlpatterns: list[URLPattern | URLResolver] = [
    path(f"{P}check-ins/", api.CheckInListCreateView.as_view(), name="check-ins"),
    path(f"{P}check-ins/trend/", api.CheckInTrendView.as_view(), name="check-in-trend"),
]
