"""The Observation import refuses (issue 16, part 4): every bad entry named in one OperationOutcome, nothing written;
callers who may not record results; requests that are no transaction Bundle at all."""

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from rest_framework.test import APIClient

from apps.accounts.models import Patient
from apps.fhir.codes import LOINC
from apps.fhir.importing import MAX_ENTRIES
from apps.profiles.models import BoneDensityResult, LabResult
from backend.models import AuditEvent
from tests.conftest import World
from tests.factories import BoneDensityFactory
from tests.fhir.conftest import fhir_json
from tests.fhir.import_helpers import BASE, bundle, dxa, lab, post, ref
from tests.fhir.smart_helpers import assertion, form_post, register, signing_key, token_request
from tests.fhir.test_care_resources import r4_problems

NOW = datetime(2026, 4, 15, 12, 0, tzinfo=UTC)
# FHIR R4 IssueType (required binding of OperationOutcome.issue.code), the codes the import uses among them.
ISSUE_TYPES = {"invalid", "structure", "required", "value", "not-found", "not-supported", "conflict", "too-costly"}
ISSUE_TYPES |= {"code-invalid", "forbidden", "login", "processing"}


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


def rows() -> tuple[int, int, int]:
    return (
        BoneDensityResult.objects.count(),
        LabResult.objects.count(),
        AuditEvent.objects.filter(action="create").count(),
    )


def refused(response: Any, status: int = 400) -> list[dict[str, Any]]:
    assert response.status_code == status, response.content[:500]
    body = fhir_json(response)
    assert body["resourceType"] == "OperationOutcome"
    assert r4_problems(body) == []
    assert {issue["code"] for issue in body["issue"]} <= ISSUE_TYPES
    return list(body["issue"])


def good(world: World) -> dict[str, Any]:
    return dxa(ref(world.ann), -1.0)


def _with(resource: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**resource, **changes}


def _without(resource: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in resource.items() if k != key}


# Each bad entry (built for Ann, Cora's patient) and the expression naming it.
BAD: dict[str, tuple[Callable[[World], dict[str, Any]], str]] = {
    "unknown code": (
        lambda w: _with(good(w), code={"coding": [{"system": LOINC, "code": "2160-0"}]}),
        "resource.code",
    ),
    "lab unit": (lambda w: lab(ref(w.ann), "egfr", 70, "mg/dL"), "resource.valueQuantity"),
    "lab out of range": (lambda w: lab(ref(w.ann), "egfr", 900, "mL/min/{1.73_m2}"), "resource.valueQuantity.value"),
    "t-score unit": (
        lambda w: _with(good(w), valueQuantity={"value": -1, "unit": "g/cm2"}),
        "resource.valueQuantity",
    ),
    "t-score range": (lambda w: dxa(ref(w.ann), -7.5), "resource.valueQuantity.value"),
    "t-score digits": (lambda w: dxa(ref(w.ann), -1.25), "resource.valueQuantity.value"),
    "future date": (lambda w: dxa(ref(w.ann), -1.0, day="2026-04-16"), "resource.effective"),
    "before birth": (lambda w: dxa(ref(w.ann), -1.0, day="1950-01-01"), "resource.effective"),
    "month only": (lambda w: dxa(ref(w.ann), -1.0, day="2026-03"), "resource.effectiveDateTime"),
    "no date": (lambda w: _without(good(w), "effectiveDateTime"), "resource.effectiveDateTime"),
    "unknown patient": (
        lambda w: dxa({"reference": "Patient/00000000-0000-4000-8000-000000000000"}, -1.0),
        "resource.subject",
    ),
    "other organisation's patient": (lambda w: dxa(ref(w.zoe), -1.0), "resource.subject"),
    "patient not in her care": (lambda w: dxa(ref(w.bea), -1.0), "resource.subject"),
    "unknown mrn": (
        lambda w: dxa({"identifier": {"system": "urn:oid:1.2.3", "value": "NOPE"}}, -1.0),
        "resource.subject",
    ),
    "no value": (lambda w: _without(good(w), "valueQuantity"), "resource.valueQuantity"),
    "value a string": (
        lambda w: _with(good(w), valueQuantity={"value": "-1.0", "code": "{T-score}"}),
        "resource.valueQuantity.value",
    ),
    "status": (lambda w: _with(good(w), status="preliminary"), "resource.status"),
    "femur without site": (lambda w: dxa(ref(w.ann), -1.0, code="38263-0"), "resource.bodySite"),
    "site against code": (
        lambda w: _with(dxa(ref(w.ann), -1.0, code="38267-1"), bodySite={"text": "Femoral neck"}),
        "resource.bodySite",
    ),
    "not an observation": (lambda w: _with(good(w), resourceType="Patient"), "resource.resourceType"),
    # Review: each of these was a 500.
    "body site coding not a list": (
        lambda w: _with(dxa(ref(w.ann), -1.0, code="38263-0"), bodySite={"coding": 5}),
        "resource.bodySite.coding",
    ),
    "date time before year 1 in UTC": (
        lambda w: _with(_without(good(w), "effectiveDateTime"), effectiveDateTime="0001-01-01T00:00:00+14:00"),
        "resource.effectiveDateTime",
    ),
    "date time after year 9999 in UTC": (
        lambda w: _with(_without(good(w), "effectiveDateTime"), effectiveDateTime="9999-12-31T23:59:59-14:00"),
        "resource.effectiveDateTime",
    ),
    "mrn with a nul": (
        lambda w: dxa({"identifier": {"system": "urn:oid:1.2.3", "value": "AB\u0000C"}}, -1.0),
        "resource.subject",
    ),
    "mrn a lone surrogate": (
        lambda w: dxa({"identifier": {"system": "urn:oid:1.2.3", "value": "\ud800"}}, -1.0),
        "resource.subject",
    ),
    "identifier system with a nul": (
        lambda w: dxa({"identifier": {"system": "urn:oid:1.2\u0000", "value": "A-1"}}, -1.0),
        "resource.subject",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_entry_is_named_and_nothing_is_written(world: World, client_for: Any, case: str) -> None:
    make, where = BAD[case]
    before = rows()
    issues = refused(
        post(client_for(world.cora), bundle(good(world), make(world), lab(ref(world.ann), "crcl", 60, "mL/min")))
    )
    assert [issue["expression"] for issue in issues] == [[f"Bundle.entry[1].{where}"]]
    assert issues[0]["diagnostics"].startswith(f"Bundle.entry[1].{where}: ")
    assert rows() == before


def test_a_value_with_a_vast_exponent_is_refused_not_a_500(world: World, client_for: Any) -> None:
    """Review: 7e999999999999 is a finite decimal whose arithmetic overflows."""
    text = json.dumps(bundle(lab(ref(world.ann), "egfr", 12345.5, "mL/min/{1.73_m2}"))).replace(
        "12345.5", "7e999999999999"
    )
    before = rows()
    issues = refused(post(client_for(world.cora), text))
    assert [issue["expression"] for issue in issues] == [["Bundle.entry[0].resource.valueQuantity.value"]]
    assert rows() == before


def test_every_bad_entry_is_named_in_one_answer(world: World, client_for: Any) -> None:
    body = bundle(
        dxa(ref(world.zoe), -1.0),
        good(world),
        lab(ref(world.ann), "egfr", 70, "mg/dL"),
        dxa(ref(world.ann), -1.0, day="2027-01-01"),
    )
    issues = refused(post(client_for(world.cora), body))
    assert [(i["code"], i["expression"][0]) for i in issues] == [
        ("not-found", "Bundle.entry[0].resource.subject"),
        ("value", "Bundle.entry[2].resource.valueQuantity"),
        ("value", "Bundle.entry[3].resource.effective"),
    ]
    assert "South Clinic" not in json.dumps(issues)  # nothing said about the other organisation
    assert rows() == (0, 0, 0)


def test_another_organisations_patient_is_logged_as_a_refused_lookup(world: World, client_for: Any) -> None:
    refused(post(client_for(world.cora), bundle(dxa(ref(world.zoe), -1.0))))
    denied = AuditEvent.objects.get(action="denied")
    assert (denied.actor_id, denied.object_id) == (world.cora.pk, str(world.zoe.pk))


def test_a_request_entry_other_than_post_observation_is_refused(world: World, client_for: Any) -> None:
    body = bundle(good(world), good(world))
    body["entry"][0]["request"] = {"method": "PUT", "url": f"Observation/{world.ann.pk}"}
    body["entry"][1]["request"] = {"method": "POST", "url": "Patient"}
    issues = refused(post(client_for(world.cora), body))
    assert [(i["code"], i["expression"][0]) for i in issues] == [
        ("not-supported", "Bundle.entry[0].request.method"),
        ("not-supported", "Bundle.entry[1].request.url"),
    ]
    assert rows() == (0, 0, 0)


def test_a_changed_value_for_the_same_day_is_a_conflict(world: World, client_for: Any) -> None:
    BoneDensityFactory.create(
        patient=world.ann, site="lumbar_spine", t_score=Decimal("-2.1"), measured_on=date(2026, 3, 1)
    )
    before = rows()
    issues = refused(post(client_for(world.cora), bundle(dxa(ref(world.ann), -1.4, day="2026-03-01"))), status=409)
    assert [(i["code"], i["expression"][0]) for i in issues] == [
        ("conflict", "Bundle.entry[0].resource.valueQuantity.value")
    ]
    assert "-2.1" in issues[0]["diagnostics"]
    # Two values for one day inside the Bundle are a conflict too.
    issues = refused(
        post(
            client_for(world.cora),
            bundle(lab(ref(world.ann), "crcl", 60, "mL/min"), lab(ref(world.ann), "crcl", 61, "mL/min")),
        ),
        status=409,
    )
    assert [i["expression"][0] for i in issues] == ["Bundle.entry[1].resource.valueQuantity.value"]
    assert rows() == before


@pytest.mark.parametrize(
    ("body", "status", "where"),
    [
        ({"resourceType": "Observation"}, 400, "Bundle"),
        ({"resourceType": "Bundle", "type": "batch", "entry": []}, 400, "Bundle.type"),
        ({"resourceType": "Bundle", "type": "collection", "entry": []}, 400, "Bundle.type"),
        ({"resourceType": "Bundle", "type": "transaction", "entry": []}, 400, "Bundle.entry"),
        ({"resourceType": "Bundle", "type": "transaction"}, 400, "Bundle.entry"),
        ([1, 2], 400, "Bundle"),
    ],
    ids=["observation", "batch", "collection", "no-entries", "entry-missing", "array"],
)
def test_what_is_no_transaction_bundle_is_refused(
    world: World, client_for: Any, body: Any, status: int, where: str
) -> None:
    issues = refused(post(client_for(world.cora), body), status)
    assert issues[0]["expression"] == [where]


def test_too_many_entries_are_refused_before_anything_is_looked_up(world: World, client_for: Any) -> None:
    body = bundle(*[good(world)] * (MAX_ENTRIES + 1))
    issues = refused(post(client_for(world.cora), body), 413)
    assert issues[0]["code"] == "too-costly"
    assert rows() == (0, 0, 0)


def test_a_body_too_large_is_refused(world: World, client_for: Any) -> None:
    body = bundle(good(world))
    body["padding"] = "x" * 2_100_000
    refused(post(client_for(world.cora), body), 413)
    assert rows() == (0, 0, 0)


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [("{not json", "application/fhir+json", 400), ("[]", "text/plain", 415), ("\xff", "application/json", 400)],
    ids=["not-json", "text-plain", "not-utf8"],
)
def test_what_is_not_json_is_refused(world: World, client_for: Any, data: str, content_type: str, status: int) -> None:
    payload = data.encode("latin-1")
    refused(post(client_for(world.cora), payload, content_type), status)


def test_a_json_bundle_as_application_json_is_accepted(world: World, client_for: Any) -> None:
    r = post(client_for(world.cora), bundle(good(world)), "application/json; charset=utf-8")
    assert r.status_code == 200, r.content


# --- who may import ----------------------------------------------------------------------------------------------
def test_a_patient_may_not_import_not_even_her_own_results(world: World, client_for: Any) -> None:
    issues = refused(post(client_for(world.ann.user), bundle(good(world))), 403)
    assert issues[0]["code"] == "forbidden"
    assert rows() == (0, 0, 0)


def test_a_coordinator_imports_for_her_patients_only(world: World, client_for: Any) -> None:
    assert post(client_for(world.cody), bundle(good(world))).status_code == 400  # Ann is Cora's
    assert post(client_for(world.cora), bundle(good(world))).status_code == 200
    assert post(client_for(world.zed), bundle(dxa(ref(world.zoe), -1.0))).status_code == 200
    assert BoneDensityResult.objects.count() == 2


def test_without_a_token_it_is_a_401(world: World) -> None:
    r = post(APIClient(), bundle(good(world)))
    assert r.status_code == 401
    assert rows() == (0, 0, 0)


def system_client(world: World, scope: str, *, allow_write: bool) -> tuple[int, str]:
    key = signing_key("RS384")
    client = register(world.org_a, key)
    client.allow_write = allow_write
    client.save()
    r = form_post(token_request(assertion(client, key), scope=scope))
    return r.status_code, r.json().get("access_token", r.json().get("error"))


def test_a_system_client_needs_a_write_scope(world: World) -> None:
    status, token = system_client(world, "system/*.read system/Observation.rs", allow_write=True)
    assert status == 200
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    issues = refused(post(api, bundle(dxa(ref(world.bea), -1.0))), 403)
    assert issues[0]["code"] == "forbidden"
    assert rows() == (0, 0, 0)


@pytest.mark.parametrize("scope", ["system/Observation.write", "system/Observation.c", "system/*.cruds"])
def test_a_read_only_client_is_not_given_a_write_scope(world: World, scope: str) -> None:
    assert system_client(world, scope, allow_write=False) == (400, "invalid_scope")


def test_a_system_client_imports_for_its_organisation_only(world: World) -> None:
    status, token = system_client(world, "system/Observation.write", allow_write=True)
    assert status == 200
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    Patient.objects.filter(pk=world.zoe.pk).update(mrn="Z-1")
    issues = refused(post(api, bundle(dxa(ref(world.zoe), -1.0))))
    assert issues[0]["code"] == "not-found"
    # A write scope does not read: the import's token is no read token.
    status, token = system_client(world, "system/Observation.c", allow_write=True)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.get(f"{BASE}Observation").status_code == 403


ODD_ENTRIES: list[Any] = [
    None,
    [],
    "Observation",
    {"request": "POST"},
    {"request": {"method": "POST", "url": "Observation"}},
    {"request": {"method": "POST", "url": "Observation"}, "resource": []},
    {"request": {"method": "POST", "url": "Observation"}, "resource": {"resourceType": "Observation"}},
]
ODD_RESOURCES: list[dict[str, Any]] = [
    {"code": "38267-1"},
    {"code": {"coding": "38267-1"}},
    {"code": {"coding": [None, 3, {"system": None}]}},
    {"subject": {"reference": 42}},
    {"subject": {"reference": "Patient/../../etc"}},
    {"subject": {"identifier": {"system": 1, "value": None}}},
    {"subject": {"identifier": "A-1"}},
    {"subject": None},
    {"effectiveDateTime": 20260401},
    {"effectiveDateTime": "2026-02-30"},
    {"effectiveDateTime": "2026-04-01T10:00:00"},
    {"effectiveDateTime": None, "effectivePeriod": {"start": None}},
    {"valueQuantity": {"value": True}},
    {"valueQuantity": {"value": 1e308}},
    {"valueQuantity": []},
    {"bodySite": "neck", "code": {"coding": [{"system": LOINC, "code": "38263-0"}]}},
    {
        "bodySite": {"coding": [{"system": "x", "code": "y"}]},
        "code": {"coding": [{"system": LOINC, "code": "38263-0"}]},
    },
    {"status": None},
]


@pytest.mark.parametrize("index", range(len(ODD_ENTRIES) + len(ODD_RESOURCES)))
def test_odd_shapes_are_a_400_naming_the_entry_never_a_500(world: World, client_for: Any, index: int) -> None:
    body = bundle(good(world), good(world))
    if index < len(ODD_ENTRIES):
        body["entry"][1] = ODD_ENTRIES[index]
    else:
        body["entry"][1]["resource"] = {**good(world), **ODD_RESOURCES[index - len(ODD_ENTRIES)]}
    issues = refused(post(client_for(world.cora), body))
    assert [issue["expression"][0].split("]")[0] for issue in issues] == ["Bundle.entry[1"]
    assert rows() == (0, 0, 0)
