from django.urls import path

from apps.accounts import api, api_account

urlpatterns = [
    path("auth/token/", api.TokenObtainView.as_view(), name="token-obtain"),
    path("auth/token/refresh/", api.TokenRotateView.as_view(), name="token-refresh"),
    path("auth/logout/", api.LogoutView.as_view(), name="logout"),
    path("me/", api.MeView.as_view(), name="me"),
    path("organisations/", api.OrganisationListCreateView.as_view(), name="organisations"),
    path("staff/", api.StaffListCreateView.as_view(), name="staff"),
    path("care-team/", api.CareTeamView.as_view(), name="care-team"),
    # her own account (issue 17 part 6)
    path("auth/invitation/accept/", api_account.InvitationAcceptView.as_view(), name="invitation-accept"),
    path("auth/password-reset/", api_account.PasswordResetView.as_view(), name="password-reset"),
    path("auth/password-reset/confirm/", api_account.PasswordResetConfirmView.as_view(), name="password-reset-confirm"),
    path(
        "patients/<uuid:patient_id>/invitation/resend/",
        api_account.InvitationResendView.as_view(),
        name="invitation-resend",
    ),
]
