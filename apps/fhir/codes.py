"""The code systems and codes the FHIR resources carry (each real-world code verified: docs/clinical-rules.md,
"Interoperability")."""

# Standard systems.
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
# Our ids are UUIDs: identifiers in the URI system with urn:uuid values (FHIR R4 Identifier, "urn:ietf:rfc:3986").
URI = "urn:ietf:rfc:3986"

# Our own code systems (catalogue codes, lab kinds): stable URIs naming BoneSync's tables, not resolvable pages.
FHIR_BASE = "https://bonesync.example/fhir"  # the one base of every system, identifier and canonical URL of ours
LOCAL_BASE = f"{FHIR_BASE}/CodeSystem"
MEDICATION_SYSTEM = f"{LOCAL_BASE}/medication"
LAB_SYSTEM = f"{LOCAL_BASE}/lab-kind"
DXA_SITE_SYSTEM = f"{LOCAL_BASE}/dxa-site"

T_SCORE_UNIT = "{T-score}"  # UCUM annotation, LOINC's example unit for the DXA T-score terms

# DXA T-scores (DOMAIN "Interoperability codes"). No LOINC term names the femoral neck: the femur term with a
# bodySite saying "Femoral neck".
DXA_LOINC: dict[str, tuple[str, str]] = {
    "lumbar_spine": ("38267-1", "DXA Lumbar spine [T-score] Bone density"),
    "total_hip": ("38264-8", "DXA Hip [T-score] Bone density"),
    "femoral_neck": ("38263-0", "DXA Femur [T-score] Bone density"),
}

# Labs: (kind, unit as stored) -> LOINC (code, display), only where verified (the rulebook's table names each source);
# the others carry our own code only. The unit picks the term: LOINC's mass and molar concentrations are distinct.
LAB_LOINC: dict[tuple[str, str], tuple[str, str]] = {
    ("vitamin_d_25oh", "ng/mL"): (
        "62292-8",
        "25-Hydroxyvitamin D2+25-Hydroxyvitamin D3 [Mass/volume] in Serum or Plasma",
    ),
    ("serum_calcium", "mg/dL"): ("17861-6", "Calcium [Mass/volume] in Serum or Plasma"),
    ("serum_calcium", "mmol/L"): ("2000-8", "Calcium [Moles/volume] in Serum or Plasma"),
    # The method-less eGFR term: we record no equation, so no per-equation term (CKD-EPI, MDRD) would be honest.
    ("egfr", "mL/min/1.73m2"): (
        "69405-9",
        "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma or Blood",
    ),
}

# Stored unit -> UCUM code.
UCUM_UNITS: dict[str, str] = {
    "mL/min/1.73m2": "mL/min/{1.73_m2}",
    "mL/min": "mL/min",
    "mg/dL": "mg/dL",
    "mmol/L": "mmol/L",
    "ng/mL": "ng/mL",
    "nmol/L": "nmol/L",
}


def coding(system: str, code: str, display: str = "") -> dict[str, str]:
    return {"system": system, "code": code, **({"display": display} if display else {})}


def uuid_identifier(value: object) -> dict[str, str]:
    return {"system": URI, "value": f"urn:uuid:{value}"}
