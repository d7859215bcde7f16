from backend.apps import BoneSyncAppConfig


class FhirConfig(BoneSyncAppConfig):
    """The FHIR R4 face of the data (issue 16): read API at /fhir/R4/, mappers from our rows to FHIR resources."""

    name = "apps.fhir"
    label = "fhir"
