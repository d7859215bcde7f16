"""Observation: DXA T-scores (category imaging) and labs (category laboratory), coded with LOINC where verified."""

from typing import Any

from apps.fhir.codes import (
    DXA_LOINC,
    DXA_SITE_SYSTEM,
    LAB_LOINC,
    LAB_SYSTEM,
    LOINC,
    OBSERVATION_CATEGORY,
    T_SCORE_UNIT,
    UCUM,
    UCUM_UNITS,
    coding,
)
from apps.fhir.registry import reference
from apps.profiles.models import BoneDensityResult, DxaSite, LabKind, LabResult


def _category(code: str, display: str) -> list[dict[str, Any]]:
    return [{"coding": [coding(OBSERVATION_CATEGORY, code, display)]}]


def dxa_observation_resource(result: BoneDensityResult) -> dict[str, Any]:
    code, display = DXA_LOINC[result.site]
    site_name = DxaSite(result.site).label
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": str(result.id),
        "status": "final",
        "category": _category("imaging", "Imaging"),
        "code": {"coding": [coding(LOINC, code, display)], "text": f"DXA {site_name} T-score"},
        "subject": reference("Patient", result.patient_id),
        "effectiveDateTime": result.measured_on.isoformat(),
        "valueQuantity": {"value": float(result.t_score), "unit": T_SCORE_UNIT, "system": UCUM, "code": T_SCORE_UNIT},
    }
    if result.site == DxaSite.FEMORAL_NECK:
        # The LOINC femur term covers the neck; the site says which region was measured.
        resource["bodySite"] = {"coding": [coding(DXA_SITE_SYSTEM, result.site, site_name)], "text": site_name}
    return resource


def lab_observation_resource(result: LabResult) -> dict[str, Any]:
    kind_name = LabKind(result.kind).label
    codings = [coding(LAB_SYSTEM, result.kind, kind_name)]
    loinc = LAB_LOINC.get((result.kind, result.unit))
    if loinc is not None:
        codings.insert(0, coding(LOINC, *loinc))
    quantity: dict[str, Any] = {"value": float(result.value), "unit": result.unit}
    ucum = UCUM_UNITS.get(result.unit)
    if ucum is not None:
        quantity |= {"system": UCUM, "code": ucum}
    return {
        "resourceType": "Observation",
        "id": str(result.id),
        "status": "final",
        "category": _category("laboratory", "Laboratory"),
        "code": {"coding": codings, "text": kind_name},
        "subject": reference("Patient", result.patient_id),
        "effectiveDateTime": result.measured_on.isoformat(),
        "valueQuantity": quantity,
    }
