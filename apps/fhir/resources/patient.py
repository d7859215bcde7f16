"""Patient: who she is, how to reach her, which organisation looks after her."""

from typing import Any

from django.core.exceptions import ObjectDoesNotExist

from apps.accounts.models import Patient
from apps.fhir.codes import uuid_identifier
from apps.fhir.identifiers import mrn_identifier


def patient_resource(patient: Patient) -> dict[str, Any]:
    """Rows from patient_rows (user, organisation and profile joined)."""
    user = patient.user
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(patient.id),
        "identifier": [uuid_identifier(patient.id), *filter(None, [mrn_identifier(patient)])],
        "active": user.is_active,
        # Our patients are women on an aromatase inhibitor after breast cancer; the app records no other gender.
        "gender": "female",
        "managingOrganization": {
            "identifier": uuid_identifier(patient.organisation_id),
            "display": patient.organisation.name,
        },
    }
    if user.full_name:
        resource["name"] = [{"use": "usual", "text": user.full_name}]
    try:
        profile = patient.profile
    except ObjectDoesNotExist:
        return resource
    resource["birthDate"] = profile.birth_date.isoformat()
    phones = [str(number) for number in (profile.phone, profile.phone_alt) if number]
    if phones:
        resource["telecom"] = [
            {"system": "phone", "value": number, "rank": rank} for rank, number in enumerate(phones, 1)
        ]
    return resource
