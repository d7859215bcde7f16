"""SMART Backend Services URLs under /fhir/R4/ (issue 16). Plain Django views: OAuth speaks form posts and its
own error JSON, not the DRF API's, so they are outside the OpenAPI schema (described in README and docs/api.md)."""

from django.urls import path

from apps.fhir.token import smart_configuration_view, token_view

urlpatterns = [
    path(".well-known/smart-configuration", smart_configuration_view, name="fhir-smart-configuration"),
    path("auth/token", token_view, name="fhir-smart-token"),
]
