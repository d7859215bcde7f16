from django.urls import path

from apps.accounts import api

urlpatterns = [
    path("auth/token/", api.TokenObtainView.as_view(), name="token-obtain"),
    path("auth/token/refresh/", api.TokenRotateView.as_view(), name="token-refresh"),
    path("auth/logout/", api.LogoutView.as_view(), name="logout"),
    path("me/", api.MeView.as_view(), name="me"),
    path("organisations/", api.OrganisationListCreateView.as_view(), name="organisations"),
    path("staff/", api.StaffListCreateView.as_view(), name="staff"),
    path("care-team/", api.CareTeamView.as_view(), name="care-team"),
]
