"""Her clinic's medical record number (issue 16): staff set it at enrolment and in the profile, unique within the
organisation; she cannot change it; FHIR carries it as an MR identifier and finds her by it."""

from typing import Any

import pytest
from django.db import IntegrityError, transaction

from apps.accounts.models import Patient
from apps.fhir.identifiers import IDENTIFIER_TYPE_SYSTEM, default_mrn_system
from apps.profiles.services import MRN_TAKEN
from tests.conftest import World
from tests.fhir.conftest import fhir_json

PATIENTS = "/api/v1/patients/"
PASSWORD = "Calcium-and-sunlight-42"


def enrol(client: Any, email: str, mrn: str) -> Any:
    body = {"email": email, "password": PASSWORD, "birth_date": "1958-11-30", "timezone": "UTC", "mrn": mrn}
    return client.post(PATIENTS, body, format="json")


def test_staff_set_the_mrn_at_enrolment_and_see_it(world: World, client_for: Any) -> None:
    r = enrol(client_for(world.cora), "olga@example.org", "A-1001")
    assert r.status_code == 201, r.content
    assert r.json()["mrn"] == "A-1001"
    patient = Patient.objects.get(pk=r.json()["id"])
    assert patient.mrn == "A-1001"
    assert client_for(world.cora).get(f"{PATIENTS}{patient.pk}/").json()["mrn"] == "A-1001"


def test_an_mrn_is_unique_within_an_organisation_only(world: World, client_for: Any) -> None:
    assert enrol(client_for(world.cora), "olga@example.org", "A-1001").status_code == 201
    again = enrol(client_for(world.cora), "petra@example.org", "A-1001")
    assert again.status_code == 400
    assert again.json()["error"]["fields"] == {"mrn": [MRN_TAKEN]}
    assert not Patient.objects.filter(user__email="petra@example.org").exists()
    # Another clinic may use the same number for its own patient.
    assert enrol(client_for(world.zed), "quinn@example.org", "A-1001").status_code == 201


def test_the_database_refuses_a_duplicate_mrn_in_one_organisation(world: World) -> None:
    Patient.objects.filter(pk=world.ann.pk).update(mrn="X1")
    Patient.objects.filter(pk=world.zoe.pk).update(mrn="X1")  # another organisation: fine
    with pytest.raises(IntegrityError), transaction.atomic():
        Patient.objects.filter(pk=world.bea.pk).update(mrn="X1")
    Patient.objects.filter(pk=world.bea.pk).update(mrn="")  # many patients without one
    Patient.objects.filter(pk=world.ann.pk).update(mrn="")


@pytest.mark.parametrize(
    "mrn", ["has space", "-lead", "trail-", "x" * 41, "é123"], ids=["space", "lead", "trail", "long", "accent"]
)
def test_a_malformed_mrn_is_refused(world: World, client_for: Any, mrn: str) -> None:
    r = client_for(world.cora).patch(f"{PATIENTS}{world.ann.pk}/", {"mrn": mrn}, format="json")
    assert r.status_code == 400
    assert "mrn" in r.json()["error"]["fields"]
    assert Patient.objects.get(pk=world.ann.pk).mrn == ""


def test_staff_change_the_mrn_in_the_profile_and_a_taken_one_is_refused(world: World, client_for: Any) -> None:
    admin = client_for(world.admin)
    assert admin.patch(f"{PATIENTS}{world.bea.pk}/", {"mrn": "B-7"}, format="json").status_code == 200
    r = client_for(world.cora).patch(f"{PATIENTS}{world.ann.pk}/", {"mrn": "B-7", "height_cm": "170.0"}, format="json")
    assert r.status_code == 400
    assert r.json()["error"]["fields"] == {"mrn": [MRN_TAKEN]}
    assert str(Patient.objects.get(pk=world.ann.pk).profile.height_cm) != "170.0"  # nothing half-written
    r = client_for(world.cora).patch(f"{PATIENTS}{world.ann.pk}/", {"mrn": "A-7"}, format="json")
    assert (r.status_code, r.json()["mrn"]) == (200, "A-7")
    r = client_for(world.cora).patch(f"{PATIENTS}{world.ann.pk}/", {"mrn": ""}, format="json")
    assert (r.status_code, r.json()["mrn"]) == (200, "")


def test_she_cannot_change_her_mrn(world: World, client_for: Any) -> None:
    Patient.objects.filter(pk=world.ann.pk).update(mrn="A-1")
    r = client_for(world.ann.user).patch(f"{PATIENTS}{world.ann.pk}/", {"mrn": "A-2"}, format="json")
    assert r.status_code == 400
    assert "mrn" in r.json()["error"]["fields"]
    assert Patient.objects.get(pk=world.ann.pk).mrn == "A-1"


def test_a_race_on_the_same_mrn_is_a_400_not_a_500(world: World, client_for: Any, monkeypatch: Any) -> None:
    """The check passes for both requests; the unique constraint catches the second."""
    Patient.objects.filter(pk=world.bea.pk).update(mrn="R-1")
    from apps.profiles import services

    monkeypatch.setattr(services, "_mrn_taken", lambda patient: False)
    r = client_for(world.cora).patch(f"{PATIENTS}{world.ann.pk}/", {"mrn": "R-1"}, format="json")
    monkeypatch.undo()
    assert r.status_code == 400
    assert r.json()["error"]["fields"] == {"mrn": [MRN_TAKEN]}


def test_fhir_patient_carries_the_mrn_in_the_clinics_system_or_ours(world: World, client_for: Any) -> None:
    Patient.objects.filter(pk=world.ann.pk).update(mrn="A-1001")
    cora = client_for(world.cora)
    ours = fhir_json(cora.get(f"/fhir/R4/Patient/{world.ann.pk}"))
    mrn = [i for i in ours["identifier"] if i.get("type")]
    assert mrn == [
        {
            "use": "usual",
            "type": {
                "coding": [{"system": IDENTIFIER_TYPE_SYSTEM, "code": "MR", "display": "Medical record number"}],
                "text": "MRN",
            },
            "system": default_mrn_system(world.org_a.pk),
            "value": "A-1001",
        }
    ]
    world.org_a.mrn_system = "urn:oid:1.2.36.146.595.217.0.1"
    world.org_a.save()
    theirs = fhir_json(cora.get(f"/fhir/R4/Patient/{world.ann.pk}"))
    assert [i["system"] for i in theirs["identifier"] if i.get("type")] == ["urn:oid:1.2.36.146.595.217.0.1"]
    # No MRN: only our id.
    assert len(fhir_json(client_for(world.phil).get(f"/fhir/R4/Patient/{world.bea.pk}"))["identifier"]) == 1


def test_fhir_patient_search_by_identifier(world: World, client_for: Any) -> None:
    Patient.objects.filter(pk=world.ann.pk).update(mrn="A-1001")
    Patient.objects.filter(pk=world.zoe.pk).update(mrn="A-1001")
    world.org_a.mrn_system = "urn:oid:1.2.3"
    world.org_a.save()
    admin = client_for(world.admin)

    def found(value: str) -> set[str]:
        r = admin.get("/fhir/R4/Patient", {"identifier": value})
        assert r.status_code == 200, r.content
        return {e["resource"]["id"] for e in fhir_json(r).get("entry", []) if e["search"]["mode"] == "match"}

    ann, zoe = str(world.ann.pk), str(world.zoe.pk)
    assert found("urn:oid:1.2.3|A-1001") == {ann}
    assert found(f"{default_mrn_system(world.org_b.pk)}|A-1001") == {zoe}
    assert found(f"{default_mrn_system(world.org_a.pk)}|A-1001") == set()  # org A names its own system
    assert found("A-1001") == {ann, zoe}
    assert found(f"urn:ietf:rfc:3986|urn:uuid:{ann}") == {ann}
    assert found("urn:oid:1.2.3|") == {ann}
    assert found("urn:oid:9.9|A-1001") == set()
    # A pharmacist of org A finds only her organisation's.
    r = client_for(world.phil).get("/fhir/R4/Patient", {"identifier": "A-1001"})
    assert {e["resource"]["id"] for e in r.json().get("entry", [])} == {ann}


def test_the_console_patient_page_shows_her_mrn(world: World, client_for: Any) -> None:
    from django.test import Client

    console = Client()
    console.force_login(world.cora)
    assert "<dt>MRN</dt>" not in console.get(f"/console/patients/{world.ann.pk}/").content.decode()
    Patient.objects.filter(pk=world.ann.pk).update(mrn="A-1001")
    assert "<dt>MRN</dt><dd>A-1001</dd>" in console.get(f"/console/patients/{world.ann.pk}/").content.decode()
