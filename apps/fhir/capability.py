"""The CapabilityStatement, built from the registry: it lists exactly the types and parameters served."""

from typing import Any

from django.conf import settings

from apps.fhir.registry import FHIR_VERSION, ID, REGISTRY

SOFTWARE = "BoneSync"
COMMON_PARAMS = {"_id": ID}
# Issue 16, the import: Observations are created only inside a transaction Bundle POSTed to the base
# (apps.fhir.transaction_views); no plain POST /Observation.
CREATE_IN_TRANSACTION = {"Observation"}
TRANSACTION_DOC = (
    "POST a transaction Bundle of Observation creates (DXA T-scores, labs) to the base: all or nothing, at most "
    "1,000 entries and 2 MB; duplicates (same patient, code, day and value) answer 200 OK with the existing one. "
    "Staff who may record results, or a system token with system/Observation.write (or a v2 scope with c)."
)
# Bulk Data export (apps.fhir.bulk_views): the operation on the types it starts from, and the IG's statement.
BULK_DATA = "http://hl7.org/fhir/uv/bulkdata"
EXPORT_OPERATIONS = {
    "Group": [{"name": "export", "definition": f"{BULK_DATA}/OperationDefinition/group-export"}],
    "Patient": [{"name": "export", "definition": f"{BULK_DATA}/OperationDefinition/patient-export"}],
}


def _token_url(base_url: str) -> str:
    """The SMART token endpoint (apps.fhir.token): the configured URL, else the one under this base."""
    return str(settings.FHIR_TOKEN_URL) or f"{base_url.rstrip('/')}/auth/token"


def capability_statement(base_url: str) -> dict[str, Any]:
    resources = []
    for name in sorted(REGISTRY):
        rtype = REGISTRY[name]
        params = {**COMMON_PARAMS, **rtype.params}
        resources.append(
            {
                "type": name,
                "profile": rtype.profile or f"http://hl7.org/fhir/StructureDefinition/{name}",
                "interaction": [{"code": "read"}, {"code": "search-type"}]
                + (
                    [{"code": "create", "documentation": "Only within a transaction Bundle POSTed to the base."}]
                    if name in CREATE_IN_TRANSACTION
                    else []
                ),
                "searchParam": [
                    {"name": param, "type": spec.type, "documentation": spec.documentation}
                    for param, spec in sorted(params.items())
                ],
                **({"operation": EXPORT_OPERATIONS[name]} if name in EXPORT_OPERATIONS else {}),
            }
        )
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-12-01",
        "kind": "instance",
        "instantiates": [f"{BULK_DATA}/CapabilityStatement/bulk-data"],
        "software": {"name": SOFTWARE},
        "implementation": {"description": "BoneSync FHIR R4 API", "url": base_url.rstrip("/")},
        "fhirVersion": FHIR_VERSION,
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    "Read and search; Observations are imported with a transaction Bundle. Searches page with _count "
                    "(default 50, at most 200) and the opaque next "
                    "link. Unknown search parameters are ignored (reported in an OperationOutcome entry) unless the "
                    "request says Prefer: handling=strict (then 400). Staff sign in with the API's bearer tokens. "
                    "Bulk Data export (2.0): GET Group/<organisation id>/$export or Patient/$export with Prefer: "
                    "respond-async (_type, _since, _outputFormat=application/fhir+ndjson); poll the Content-Location "
                    "URL; one export at a time per requester; files kept FHIR_EXPORT_RETENTION_HOURS."
                ),
                "security": {
                    "cors": False,
                    # SMART Backend Services for systems (the token endpoint also in .well-known/smart-configuration):
                    # the service code and the oauth-uris extension are how a client finds it from /metadata.
                    "extension": [
                        {
                            "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                            "extension": [{"url": "token", "valueUri": _token_url(base_url)}],
                        }
                    ],
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                    "code": "SMART-on-FHIR",
                                }
                            ]
                        }
                    ],
                    "description": (
                        "Bearer tokens of the BoneSync API (staff, patients), or of SMART Backend Services for a "
                        "clinic's system (client_credentials with a private_key_jwt assertion, RS384 or ES384); each "
                        "caller sees only her scope."
                    ),
                },
                "resource": resources,
                "interaction": [{"code": "transaction", "documentation": TRANSACTION_DOC}],
            }
        ],
    }
