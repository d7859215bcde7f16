"""Building transaction Bundles of Observations for the import tests (issue 16)."""

from typing import Any

from apps.fhir.codes import LAB_SYSTEM, LOINC, UCUM

BASE = "/fhir/R4/"
FHIR_JSON = "application/fhir+json"


def dxa(subject: dict[str, Any], t_score: float, day: str = "2026-04-01", code: str = "38267-1") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": subject,
        "effectiveDateTime": day,
        "valueQuantity": {"value": t_score, "unit": "{T-score}", "system": UCUM, "code": "{T-score}"},
    }


def lab(
    subject: dict[str, Any], kind: str, value: float, ucum: str, day: str = "2026-04-01", **extra: Any
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LAB_SYSTEM, "code": kind}]},
        "subject": subject,
        "effectiveDateTime": day,
        "valueQuantity": {"value": value, "system": UCUM, "code": ucum},
        **extra,
    }


def ref(patient: Any) -> dict[str, str]:
    return {"reference": f"Patient/{patient.pk}"}


def bundle(*resources: dict[str, Any], kind: str = "transaction") -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": kind,
        "entry": [{"request": {"method": "POST", "url": "Observation"}, "resource": r} for r in resources],
    }


def post(client: Any, body: Any, content_type: str = FHIR_JSON) -> Any:
    import json

    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.generic("POST", BASE, data, content_type=content_type)
