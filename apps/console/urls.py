"""Console URLs under /console/.

Patient and schedule ids are named `patient_pk` / `schedule_pk`, not `patient_id`: tests/test_access_matrix.py walks
every `<uuid:patient_id>` route expecting the API's PatientDataView (JSON errors, bearer tokens). The console's pages
have their own matrix (tests/console/test_access.py) that walks every route below for every role.
"""

from django.contrib.auth import views as auth_views
from django.urls import path

from apps.accounts.signin_limits import sign_in_limited
from apps.console import booking_views, contact_views, password_views, review_views, summary_views, views
from apps.console.forms import StaffAuthenticationForm

app_name = "console"

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "login/",
        views.console_headers(
            sign_in_limited(views.sign_in_paused)(
                auth_views.LoginView.as_view(
                    template_name="console/login.html",
                    authentication_form=StaffAuthenticationForm,
                    redirect_authenticated_user=True,
                )
            )
        ),
        name="login",
    ),
    path("logout/", views.console_headers(auth_views.LogoutView.as_view()), name="logout"),  # POST only (Django 5)
    # Forgot your password? (issue 17): apps/console/password_views.py.
    path("password-reset/", password_views.password_reset_request, name="password_reset"),
    path("password-reset/set/", password_views.password_reset_set, name="password_reset_set"),
    path("password-reset/<str:token>/", password_views.password_reset_link, name="password_reset_link"),
    # The second factor (STAFF_MFA_REQUIRED): set up an authenticator app once, then a code at each sign-in.
    path("second-factor/enrol/", views.mfa_enrol, name="mfa_enrol"),
    path("second-factor/", views.mfa_verify, name="mfa_verify"),
    path("worklist/", views.worklist, name="worklist"),
    path(
        "alerts/<uuid:alert_id>/acknowledge/", views.alert_action, {"action": "acknowledge"}, name="alert_acknowledge"
    ),
    path("alerts/<uuid:alert_id>/resolve/", views.alert_action, {"action": "resolve"}, name="alert_resolve"),
    path("patients/", views.patients, name="patients"),
    path("patients/<uuid:patient_pk>/", views.patient, name="patient"),
    path("reviews/", views.reviews, name="reviews"),
    path("reviews/<uuid:schedule_pk>/", views.review_decide, name="review_decide"),
    path("rules/", views.rules, name="rules"),
    path("patients/<uuid:patient_pk>/summary/", summary_views.patient_summary, name="patient_summary"),
    path("reviews/verify/", review_views.review_verify_many, name="review_verify_many"),
    # Issue 14 (book, give): apps/console/booking_views.py. Before the catch-all below.
    path("booking-list/", booking_views.booking_list, name="booking_list"),
    path("patients/<uuid:patient_pk>/appointments/new/", booking_views.appointment_book, name="appointment_book"),
    path("appointments/<uuid:appointment_pk>/given/", booking_views.appointment_given, name="appointment_given"),
    path("appointments/<uuid:appointment_pk>/cancel/", booking_views.appointment_cancel, name="appointment_cancel"),
    # The contact loop (issue 14): the worklist's refreshable list, a contact attempt, several alerts at once, and
    # a patient's contact details.
    path("worklist/list/", contact_views.worklist_list, name="worklist_list"),
    path("alerts/<uuid:alert_id>/contacts/", contact_views.alert_contact, name="alert_contact"),
    path("alerts/bulk/", contact_views.alerts_bulk, name="alerts_bulk"),
    path("patients/<uuid:patient_pk>/contact/", contact_views.patient_contact_details, name="patient_contact"),
    path("<path:rest>", views.unknown, name="unknown"),  # stays last: every other console path goes above it
]
