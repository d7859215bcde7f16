"""A patient's identifiers in FHIR: our id (urn:uuid in the URI system) and her clinic's MRN (issue 16).

The MRN is an Identifier of type MR (HL7 v2 table 0203) in the organisation's `mrn_system`, the URI its EHR uses;
an organisation that set none gets one of ours, `https://bonesync.example/fhir/identifier/mrn/<organisation id>`,
so the identifier is still unique across organisations. The Patient search `identifier=system|value` and the
import's `subject.identifier` both read identifiers through here.
"""

from typing import Any
from uuid import UUID

from django.db.models import Q

from apps.accounts.models import Organisation, Patient
from apps.fhir.codes import FHIR_BASE, URI, coding
from apps.fhir.registry import ALL, as_uuid, split_values
from backend.access import NOTHING

IDENTIFIER_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0203"
MRN_TYPE = {"coding": [coding(IDENTIFIER_TYPE_SYSTEM, "MR", "Medical record number")], "text": "MRN"}
MRN_SYSTEM_BASE = f"{FHIR_BASE}/identifier/mrn"  # + /<organisation id>: ours, when the clinic names no system
UUID_PREFIX = "urn:uuid:"


def default_mrn_system(organisation_id: object) -> str:
    return f"{MRN_SYSTEM_BASE}/{organisation_id}"


def mrn_system(organisation: Organisation) -> str:
    return organisation.mrn_system or default_mrn_system(organisation.pk)


def mrn_identifier(patient: Patient) -> dict[str, Any] | None:
    """Her MRN as a FHIR Identifier, None when none is recorded (`patient.organisation` joined)."""
    if not patient.mrn:
        return None
    return {"use": "usual", "type": MRN_TYPE, "system": mrn_system(patient.organisation), "value": patient.mrn}


def organisation_of_default_system(system: str) -> UUID | None:
    """The organisation our own MRN system names, None for any other system."""
    prefix = f"{MRN_SYSTEM_BASE}/"
    return as_uuid(system[len(prefix) :]) if system.startswith(prefix) else None


def identifier_q(system: str | None, value: str) -> Q:
    """Patients (a Patient queryset) with this identifier. `system` None: any system (FHIR token `value`); "": none
    (FHIR `|value`, which none of ours is)."""
    value = value.replace("\x00", "")  # PostgreSQL text holds no NUL
    if not value:
        return NOTHING
    uuid = as_uuid(value.removeprefix(UUID_PREFIX)) if value.startswith(UUID_PREFIX) else None
    by_id = Q(pk=uuid) if uuid is not None else NOTHING
    by_mrn = Q(mrn=value)
    if system is None:
        return by_id | by_mrn
    if system == URI:
        return by_id
    if system == "":
        return NOTHING
    return by_mrn & _in_mrn_system(system)


def _in_mrn_system(system: str) -> Q:
    """Patients whose organisation's MRN system is `system` (its own, or ours naming it)."""
    org_id = organisation_of_default_system(system)
    in_system = Q(organisation__mrn_system=system)
    if org_id is not None:
        in_system |= Q(organisation_id=org_id, organisation__mrn_system="")
    return in_system


def identifier_filter(values: list[str]) -> Q:
    """`identifier`: a FHIR token, `system|value` or `value` (any system); comma-separated ORs, each occurrence ANDs."""
    q = Q()
    for value in values:
        any_of = NOTHING
        for part in split_values([value]):
            if "|" in part:
                system, ident = part.split("|", 1)
                if ident:
                    any_of |= identifier_q(system, ident)
                elif system:  # `system|`: any identifier in that system
                    any_of |= ALL if system == URI else _in_mrn_system(system) & ~Q(mrn="")
            else:
                any_of |= identifier_q(None, part)
        q &= any_of
    return q
