from django.urls import path, re_path

from apps.fhir.bulk_views import bulk_urlpatterns  # Bulk Data export
from apps.fhir.transaction_views import TransactionView
from apps.fhir.views import MetadataView, NotSupportedView, ReadView, SearchView

# FHIR ids and type names: [A-Za-z0-9\-\.]{1,64}; anything else under /fhir/R4/ is an OperationOutcome too.
urlpatterns = [
    path("", TransactionView.as_view(), name="fhir-transaction"),  # POST: the Observation import (issue 16)
    path("metadata", MetadataView.as_view(), name="fhir-metadata"),
    re_path(r"^(?P<resource_type>[A-Z][A-Za-z]{0,63})$", SearchView.as_view(), name="fhir-search"),
    re_path(
        r"^(?P<resource_type>[A-Z][A-Za-z]{0,63})/(?P<resource_id>[A-Za-z0-9\-.]{1,64})$",
        ReadView.as_view(),
        name="fhir-read",
    ),
    *bulk_urlpatterns,
    re_path(r"^.*$", NotSupportedView.as_view(), name="fhir-not-supported"),
]
