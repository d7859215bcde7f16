from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

from apps.accounts.admin import admin_sign_in_paused
from apps.accounts.api_docs import DocsView, SchemaView
from apps.accounts.signin_limits import sign_in_limited
from backend.health import HealthView

api_v1: list[URLPattern | URLResolver] = [
    path("health/", HealthView.as_view(), name="health"),
    path("", include("apps.accounts.urls")),
    path("", include("apps.profiles.urls")),
    path("", include("apps.medications.urls")),
    path("", include("apps.supplements.urls")),
    path("", include("apps.exercise.urls")),
    path("", include("apps.joint_pain.urls")),
    path("", include("apps.alerts.urls")),
    path("", include("apps.appointments.urls")),
    path("", include("apps.reminders.urls")),
    path("", include("apps.sync.urls")),
    path("", include("apps.caseload.urls")),
    path("", include("backend.urls")),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("api/schema/", SchemaView.as_view(), name="schema"),
    path("api/docs/", DocsView.as_view(url_name="schema"), name="docs"),
    # The admin's sign-in behind the same limits as the API's and the console's (429 page with Retry-After).
    path("admin/login/", sign_in_limited(admin_sign_in_paused)(admin.site.login)),
    path("admin/", admin.site.urls),
    path("console/", include("apps.console.urls")),
    # SMART Backend Services: .well-known/smart-configuration and the token endpoint (before the FHIR read API).
    path("fhir/R4/", include("apps.fhir.smart_urls")),
    path("fhir/R4/", include("apps.fhir.urls")),
]

handler400 = "backend.errors.bad_request_view"
handler403 = "backend.errors.permission_denied_view"
handler404 = "backend.errors.not_found_view"
handler500 = "backend.errors.server_error_view"
