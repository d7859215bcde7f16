"""Bulk Data export test helpers: a storage of the test's own, kick-off and poll, files read back and every NDJSON
line validated (fhir.resources R4B models and the R4 rules they leave unchecked)."""

import json
from datetime import date, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from apps.accounts.models import Organisation, Patient
from apps.fhir.bulk_models import ExportJob
from tests.conftest import World
from tests.factories import BoneDensityFactory, LabFactory, make_dose, make_schedule
from tests.fhir.conftest import MODELS
from tests.fhir.smart_helpers import assertion, form_post, register, signing_key, token_request
from tests.fhir.test_care_read_api import one_of_each
from tests.fhir.test_care_resources import r4_problems

BASE = "/fhir/R4/"


@pytest.fixture
def export_dir(settings: Any, tmp_path: Path) -> Path:
    """The `fhir_exports` storage in this test's temporary directory (never var/)."""
    location = tmp_path / "fhir-exports"
    settings.STORAGES = {
        **settings.STORAGES,
        "fhir_exports": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(location)},
        },
    }
    return location


def kickoff(client: Any, path: str = "Patient/$export", *, prefer: str = "respond-async", **params: Any) -> Any:
    headers = {"HTTP_PREFER": prefer} if prefer else {}
    return client.get(f"{BASE}{path}", params, **headers)


def job_of(response: Any) -> ExportJob:
    assert response.status_code == 202, (response.status_code, response.content[:300])
    return ExportJob.objects.get(pk=response["Content-Location"].rsplit("/", 1)[1])


def manifest_of(client: Any, status_url: str) -> dict[str, Any]:
    response = client.get(status_url)
    assert response.status_code == 200, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    body: dict[str, Any] = json.loads(response.content)
    return body


def file_lines(client: Any, url: str) -> list[dict[str, Any]]:
    response = client.get(url)
    assert response.status_code == 200, (response.status_code, getattr(response, "content", b"")[:300])
    assert response["Content-Type"] == "application/fhir+ndjson"
    raw = b"".join(response.streaming_content)  # read to the end: the test client then closes it itself
    assert raw.endswith(b"\n")
    return [json.loads(line) for line in raw.decode().splitlines()]


def exported(client: Any, manifest: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """{type: resources} over every output file, each line validated; counts checked against the manifest."""
    by_type: dict[str, list[dict[str, Any]]] = {}
    for output in manifest["output"]:
        lines = file_lines(client, output["url"])
        assert len(lines) == output["count"]
        for resource in lines:
            assert resource["resourceType"] == output["type"]
            MODELS[resource["resourceType"]].model_validate(resource)
            assert r4_problems(resource) == [], resource
        by_type.setdefault(output["type"], []).extend(lines)
    return by_type


def full_history(world: World, patient: Patient) -> None:
    """A patient with a row of every exported type (doses both kinds, DXA, labs, and every care type)."""
    now = patient.created_at
    oral = make_schedule(patient, "alendronate")
    injection = make_schedule(patient, "denosumab", starts_on=date(2026, 3, 2), local_time=time(9))
    make_dose(patient, oral, taken_at=now - timedelta(days=3))
    make_dose(patient, oral, taken_at=now - timedelta(days=10), status="skipped")
    make_dose(patient, injection, taken_at=now - timedelta(days=2), source="clinic", site="left arm")
    BoneDensityFactory.create(patient=patient, site="lumbar_spine", t_score=Decimal("-2.6"))
    BoneDensityFactory.create(patient=patient, site="femoral_neck", t_score=Decimal("-2.1"))
    LabFactory.create(patient=patient, kind="vitamin_d_25oh", value=Decimal("18"), unit="ng/mL")
    LabFactory.create(patient=patient)
    one_of_each(world, patient)


def system_token(org: Organisation, scope: str = "system/*.read") -> tuple[str, Any]:
    key = signing_key("ES384")
    client = register(org, key)
    response = form_post(token_request(assertion(client, key), scope=scope))
    assert response.status_code == 200, response.content
    return response.json()["access_token"], client


def subjects(resources: list[dict[str, Any]]) -> set[str]:
    """Whose resources these are (the patient each references, or the Patient's own id)."""
    found = set()
    for resource in resources:
        if resource["resourceType"] == "Patient":
            found.add(resource["id"])
            continue
        ref = (resource.get("subject") or resource.get("patient") or {}).get("reference", "")
        if not ref:
            participants = resource.get("participant", [])
            refs = (p.get("actor", {}).get("reference", "") for p in participants)
            ref = next((r for r in refs if r.startswith("Patient/")), "")
        found.add(ref.removeprefix("Patient/"))
    return found
