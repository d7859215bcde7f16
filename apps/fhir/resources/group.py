"""Group: an organisation as the group of its patients, the subject of `Group/<id>/$export` (Bulk Data export)."""

from typing import Any

from django.db.models import Count, QuerySet

from apps.accounts.models import Organisation
from apps.fhir.codes import uuid_identifier
from apps.fhir.registry import ResourceType, Source, register
from backend.access import ScopedUser, organisation_scope, patient_scope


def group_resource(organisation: Organisation) -> dict[str, Any]:
    """Rows from group_rows (`members`: how many of its patients the caller sees). No member list: the export is how
    a client gets the patients."""
    return {
        "resourceType": "Group",
        "id": str(organisation.id),
        "identifier": [uuid_identifier(organisation.id)],
        "active": True,
        "type": "person",
        "actual": True,
        "name": organisation.name,
        "quantity": organisation.members_in_scope,  # type: ignore[attr-defined]  # the annotation below
    }


def group_rows(user: ScopedUser) -> QuerySet[Organisation]:
    """The caller's organisation (every one for an admin; none for a patient), counting only the patients she sees
    (a coordinator's Group counts her own)."""
    return Organisation.objects.filter(organisation_scope(user, via="")).annotate(
        members_in_scope=Count("patients", filter=patient_scope(user, via="patients"), distinct=True)
    )


def register_group() -> None:
    register(
        ResourceType(
            name="Group",
            sources=(
                Source(rows=group_rows, mapper=group_resource, order=("name", "id"), patient_id=lambda row: None),
            ),
        )
    )
