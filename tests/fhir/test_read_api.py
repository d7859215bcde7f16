"""The FHIR R4 read API: metadata, read, search, paging, errors (issue 16, part 1)."""

import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.fhir.registry import REGISTRY
from backend.models import AuditEvent
from tests.conftest import World
from tests.factories import BoneDensityFactory, LabFactory, make_dose, make_schedule
from tests.fhir.conftest import fhir_json, outcome

BASE = "/fhir/R4/"
NOW = datetime(2026, 4, 15, 12, 0, tzinfo=UTC)
LOINC = "http://loinc.org"


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


def search(client: Any, type_name: str, **params: Any) -> dict[str, Any]:
    response = client.get(f"{BASE}{type_name}", params)
    assert response.status_code == 200, response.content[:300]
    return fhir_json(response)


def entry_ids(bundle: dict[str, Any]) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]


# --- metadata -------------------------------------------------------------------------------------------------
def test_metadata_lists_exactly_the_registry_and_validates(api: Any) -> None:
    response = api.get(f"{BASE}metadata")  # no token: the CapabilityStatement is public
    body = fhir_json(response)
    assert body["fhirVersion"] == "4.0.1"
    assert body["format"] == ["json"]
    listed = {r["type"]: r for r in body["rest"][0]["resource"]}
    assert set(listed) == set(REGISTRY)
    assert {"Patient", "MedicationRequest", "MedicationStatement", "MedicationAdministration", "Observation"} <= set(
        listed
    )
    for name, rtype in REGISTRY.items():
        assert {p["name"] for p in listed[name]["searchParam"]} == {"_id", *rtype.params}
    assert {p["name"] for p in listed["Observation"]["searchParam"]} >= {"patient", "date", "code"}
    assert {p["name"] for p in listed["MedicationRequest"]["searchParam"]} >= {"patient", "status"}
    # Review: an EHR finds the SMART Backend Services token endpoint from /metadata too.
    security = body["rest"][0]["security"]
    assert security["service"][0]["coding"][0]["code"] == "SMART-on-FHIR"
    (oauth,) = security["extension"]
    assert oauth["extension"] == [{"url": "token", "valueUri": "http://testserver/fhir/R4/auth/token"}]
    assert (
        api.get(f"{BASE}.well-known/smart-configuration").json()["token_endpoint"] == oauth["extension"][0]["valueUri"]
    )


# --- Patient --------------------------------------------------------------------------------------------------
def test_patient_read_maps_her_and_is_audited(world: World, client_for: Any) -> None:
    profile = world.ann.profile
    profile.phone = "+442079460123"
    profile.save()
    body = fhir_json(client_for(world.cora).get(f"{BASE}Patient/{world.ann.id}"))
    assert body["id"] == str(world.ann.id)
    assert body["gender"] == "female"
    assert body["birthDate"] == "1960-05-17"
    assert body["name"] == [{"use": "usual", "text": "Ann Archer"}]
    assert body["telecom"] == [{"system": "phone", "value": "+442079460123", "rank": 1}]
    assert body["identifier"] == [{"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{world.ann.id}"}]
    assert body["managingOrganization"]["display"] == "North Clinic"
    event = AuditEvent.objects.get(resource="fhir_patient")
    assert (event.actor_id, event.patient_id, event.action, event.object_id) == (
        world.cora.id,
        world.ann.id,
        "read",
        str(world.ann.id),
    )


def test_patient_search_by_name_and_id(world: World, client_for: Any) -> None:
    client = client_for(world.phil)
    assert entry_ids(search(client, "Patient", name="bea")) == [str(world.bea.id)]
    assert entry_ids(search(client, "Patient", _id=str(world.ann.id))) == [str(world.ann.id)]
    assert search(client, "Patient", _id=str(world.zoe.id))["total"] == 0  # another organisation: nothing


# --- MedicationRequest ----------------------------------------------------------------------------------------
def test_medication_request_timing_per_schedule_kind(world: World, client_for: Any) -> None:
    weekly = make_schedule(world.ann, "alendronate", starts_on=date(2026, 1, 5), weekday=0, local_time=time(7))
    denosumab = make_schedule(world.ann, "denosumab", starts_on=date(2026, 3, 2), local_time=time(9))
    monthly = make_schedule(world.ann, "ibandronate", starts_on=date(2026, 2, 1), month_day=1)
    daily = make_schedule(world.ann, "anastrozole", starts_on=date(2026, 1, 1), ends_on=date(2030, 12, 31))
    client = client_for(world.cora)

    def repeat(schedule: Any) -> dict[str, Any]:
        body = fhir_json(client.get(f"{BASE}MedicationRequest/{schedule.id}"))
        assert body["intent"] == "order"
        assert body["subject"] == {"reference": f"Patient/{world.ann.id}"}
        return body["dosageInstruction"][0]["timing"]["repeat"]

    assert repeat(weekly) == {
        "boundsPeriod": {"start": "2026-01-05"},
        "frequency": 1,
        "period": 1,
        "periodUnit": "wk",
        "dayOfWeek": ["mon"],
        "timeOfDay": ["07:00:00"],
    }
    assert repeat(denosumab)["period"] == 6 and repeat(denosumab)["periodUnit"] == "mo"
    assert repeat(monthly)["period"] == 1 and repeat(monthly)["periodUnit"] == "mo"
    daily_repeat = repeat(daily)
    assert (daily_repeat["period"], daily_repeat["periodUnit"], daily_repeat["frequency"]) == (1, "d", 1)
    assert daily_repeat["boundsPeriod"] == {"start": "2026-01-01", "end": "2030-12-31"}
    body = fhir_json(client.get(f"{BASE}MedicationRequest/{weekly.id}"))
    assert body["status"] == "active"
    assert body["medicationCodeableConcept"]["coding"][0]["code"] == "alendronate"


def test_medication_request_status_search(world: World, client_for: Any) -> None:
    active = make_schedule(world.ann, "alendronate")
    stopped = make_schedule(world.ann, "anastrozole")
    type(stopped).objects.filter(pk=stopped.pk).update(status="stopped")
    paused = make_schedule(world.ann, "denosumab")
    type(paused).objects.filter(pk=paused.pk).update(status="paused")
    client = client_for(world.cora)
    assert entry_ids(search(client, "MedicationRequest", status="active")) == [str(active.id)]
    assert entry_ids(search(client, "MedicationRequest", status="on-hold")) == [str(paused.id)]
    assert entry_ids(
        search(client, "MedicationRequest", status="http://hl7.org/fhir/CodeSystem/medicationrequest-status|stopped")
    ) == [str(stopped.id)]
    assert search(client, "MedicationRequest", patient=f"Patient/{world.ann.id}")["total"] == 3
    assert search(client, "MedicationRequest", patient=str(world.bea.id))["total"] == 0


# --- MedicationStatement / MedicationAdministration -----------------------------------------------------------
def test_doses_split_into_statements_and_administrations(world: World, client_for: Any) -> None:
    oral = make_schedule(world.ann, "alendronate")
    injection = make_schedule(world.ann, "denosumab", starts_on=date(2026, 3, 2), local_time=time(9))
    taken = make_dose(world.ann, oral, taken_at=NOW - timedelta(days=3))
    skipped = make_dose(world.ann, oral, taken_at=NOW - timedelta(days=10), status="skipped")
    given = make_dose(world.ann, injection, taken_at=NOW - timedelta(days=2), source="clinic", site="left arm")
    client = client_for(world.cora)

    statements = search(client, "MedicationStatement", patient=str(world.ann.id))
    assert entry_ids(statements) == [str(skipped.id), str(taken.id)]  # oldest first
    by_id = {e["resource"]["id"]: e["resource"] for e in statements["entry"]}
    assert by_id[str(taken.id)]["status"] == "completed"
    assert by_id[str(skipped.id)]["status"] == "not-taken"
    assert by_id[str(taken.id)]["basedOn"] == [{"reference": f"MedicationRequest/{oral.id}"}]
    assert by_id[str(taken.id)]["effectiveDateTime"] == "2026-04-12T12:00:00Z"

    administrations = search(client, "MedicationAdministration", patient=str(world.ann.id))
    assert entry_ids(administrations) == [str(given.id)]
    resource = administrations["entry"][0]["resource"]
    assert resource["status"] == "completed"
    assert resource["request"] == {"reference": f"MedicationRequest/{injection.id}"}
    assert resource["dosage"]["site"] == {"text": "left arm"}
    assert resource["medicationCodeableConcept"]["coding"][0]["code"] == "denosumab"
    fhir_json(client.get(f"{BASE}MedicationAdministration/{given.id}"))
    outcome(client.get(f"{BASE}MedicationStatement/{given.id}"), 404, "not-found")  # a clinic dose is no statement

    recent = search(client, "MedicationStatement", effective="ge2026-04-11")
    assert entry_ids(recent) == [str(taken.id)]
    assert entry_ids(search(client, "MedicationStatement", status="not-taken")) == [str(skipped.id)]
    assert search(client, "MedicationAdministration", **{"effective-time": "lt2026-04-14"})["total"] == 1
    assert search(client, "MedicationAdministration", **{"effective-time": "lt2026-04-13"})["total"] == 0
    assert search(client, "MedicationAdministration", **{"effective-time": "2026-04-13T12:00:00Z"})["total"] == 1
    assert search(client, "MedicationAdministration", **{"effective-time": "gt2026-04-13"})["total"] == 0


def test_a_date_time_value_covers_its_precision_and_patient_takes_an_absolute_reference(
    world: World, client_for: Any
) -> None:
    oral = make_schedule(world.ann, "alendronate")
    late_in_the_minute = make_dose(world.ann, oral, taken_at=datetime(2026, 4, 12, 7, 30, 40, tzinfo=UTC))
    client = client_for(world.cora)

    def found(**params: str) -> list[str]:
        return entry_ids(search(client, "MedicationStatement", **params))

    # Review: 07:30 is the whole minute, 07 the whole hour, 07:30:40.5 half a second (FHIR search, "date").
    assert found(effective="2026-04-12T07:30Z") == [str(late_in_the_minute.id)]
    assert found(effective="2026-04-12T07Z") == [str(late_in_the_minute.id)]
    assert found(effective="2026-04-12T07:30:40.5Z") == []
    assert found(effective="2026-04-12T07:30:40Z") == [str(late_in_the_minute.id)]
    assert found(effective="2026-04-12T07:31Z") == []
    assert found(effective="gt2026-04-12T07:30Z") == []
    # A reference may be absolute: the URL of her Patient resource names her.
    assert found(patient=f"http://testserver/fhir/R4/Patient/{world.ann.id}") == [str(late_in_the_minute.id)]


# --- Observation ----------------------------------------------------------------------------------------------
def test_observation_codes_units_and_body_site(world: World, client_for: Any) -> None:
    spine = BoneDensityFactory.create(patient=world.ann, site="lumbar_spine", t_score=Decimal("-2.6"))
    hip = BoneDensityFactory.create(patient=world.ann, site="total_hip", t_score=Decimal("-1.4"))
    neck = BoneDensityFactory.create(patient=world.ann, site="femoral_neck", t_score=Decimal("-2.1"))
    vit_d = LabFactory.create(patient=world.ann, kind="vitamin_d_25oh", value=Decimal("18"), unit="ng/mL")
    egfr = LabFactory.create(patient=world.ann, kind="egfr", value=Decimal("72"), unit="mL/min/1.73m2")
    client = client_for(world.cora)

    def read(row: Any) -> dict[str, Any]:
        return fhir_json(client.get(f"{BASE}Observation/{row.id}"))

    for row, code in ((spine, "38267-1"), (hip, "38264-8"), (neck, "38263-0")):
        body = read(row)
        assert body["code"]["coding"][0] == {
            "system": LOINC,
            "code": code,
            "display": body["code"]["coding"][0]["display"],
        }
        assert body["category"][0]["coding"][0]["code"] == "imaging"
        assert body["valueQuantity"]["unit"] == "{T-score}"
        assert body["valueQuantity"]["system"] == "http://unitsofmeasure.org"
        assert body["valueQuantity"]["code"] == "{T-score}"
        assert body["effectiveDateTime"] == "2025-01-10"
    assert read(spine)["valueQuantity"]["value"] == -2.6
    assert read(neck)["bodySite"]["text"] == "Femoral neck"
    assert "bodySite" not in read(hip)

    vit = read(vit_d)
    assert vit["category"][0]["coding"][0]["code"] == "laboratory"
    assert vit["code"]["coding"][0]["system"] == LOINC and vit["code"]["coding"][0]["code"] == "62292-8"
    assert vit["valueQuantity"] == {
        "value": 18.0,
        "unit": "ng/mL",
        "system": "http://unitsofmeasure.org",
        "code": "ng/mL",
    }
    assert read(egfr)["valueQuantity"]["code"] == "mL/min/{1.73_m2}"

    assert entry_ids(search(client, "Observation", code=f"{LOINC}|38267-1")) == [str(spine.id)]
    assert entry_ids(search(client, "Observation", code="38263-0")) == [str(neck.id)]
    assert entry_ids(search(client, "Observation", code=f"{LOINC}|62292-8")) == [str(vit_d.id)]
    assert search(client, "Observation", code=f"{LOINC}|38267-1,{LOINC}|38264-8")["total"] == 2
    assert search(client, "Observation", code="http://example.org|38267-1")["total"] == 0
    assert search(client, "Observation", category="laboratory")["total"] == 2
    assert search(client, "Observation", patient=str(world.ann.id))["total"] == 5


LAB_SYSTEM = "https://bonesync.example/fhir/CodeSystem/lab-kind"


@pytest.mark.parametrize(
    ("kind", "value", "unit", "loinc", "ucum"),
    [
        ("serum_calcium", "9.4", "mg/dL", ("17861-6", "Calcium [Mass/volume] in Serum or Plasma"), "mg/dL"),
        ("serum_calcium", "2.35", "mmol/L", ("2000-8", "Calcium [Moles/volume] in Serum or Plasma"), "mmol/L"),
        (
            "egfr",
            "72",
            "mL/min/1.73m2",
            ("69405-9", "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma or Blood"),
            "mL/min/{1.73_m2}",
        ),
        (
            "vitamin_d_25oh",
            "18",
            "ng/mL",
            ("62292-8", "25-Hydroxyvitamin D2+25-Hydroxyvitamin D3 [Mass/volume] in Serum or Plasma"),
            "ng/mL",
        ),
        # Not verified (or no honest term for what we record): our own code only, never a guessed LOINC.
        ("vitamin_d_25oh", "45", "nmol/L", None, "nmol/L"),
        ("crcl", "48", "mL/min", None, "mL/min"),
    ],
    ids=["calcium-mass", "calcium-molar", "egfr", "vitamin-d-mass", "vitamin-d-molar", "crcl"],
)
def test_each_lab_kind_and_unit_carries_its_verified_loinc_code(
    world: World,
    client_for: Any,
    kind: str,
    value: str,
    unit: str,
    loinc: tuple[str, str] | None,
    ucum: str,
) -> None:
    lab = LabFactory.create(patient=world.ann, kind=kind, value=Decimal(value), unit=unit)
    other_unit = {"mg/dL": "mmol/L", "mmol/L": "mg/dL", "ng/mL": "nmol/L", "nmol/L": "ng/mL"}.get(unit)
    if other_unit is not None:  # the same kind in the other unit must not answer to this unit's LOINC term
        LabFactory.create(patient=world.ann, kind=kind, value=Decimal("2"), unit=other_unit)
    client = client_for(world.cora)
    body = fhir_json(client.get(f"{BASE}Observation/{lab.id}"))
    codings = body["code"]["coding"]
    assert codings[-1]["system"] == LAB_SYSTEM and codings[-1]["code"] == kind
    if loinc is None:
        assert [c["system"] for c in codings] == [LAB_SYSTEM]
    else:
        assert codings[0] == {"system": LOINC, "code": loinc[0], "display": loinc[1]}
        assert entry_ids(search(client, "Observation", code=f"{LOINC}|{loinc[0]}")) == [str(lab.id)]
    assert body["valueQuantity"] == {
        "value": float(value),
        "unit": unit,
        "system": "http://unitsofmeasure.org",
        "code": ucum,
    }
    assert str(lab.id) in entry_ids(search(client, "Observation", code=f"{LAB_SYSTEM}|{kind}"))


def test_observation_date_prefixes_both_sides_of_the_boundary(world: World, client_for: Any) -> None:
    before = BoneDensityFactory.create(patient=world.ann, measured_on=date(2025, 6, 30))
    on = LabFactory.create(patient=world.ann, measured_on=date(2025, 7, 1))
    after = BoneDensityFactory.create(patient=world.ann, measured_on=date(2025, 7, 2))
    client = client_for(world.cora)

    def ids(value: str) -> set[str]:
        return set(entry_ids(search(client, "Observation", date=value)))

    assert ids("2025-07-01") == {str(on.id)}
    assert ids("eq2025-07-01") == {str(on.id)}
    assert ids("ge2025-07-01") == {str(on.id), str(after.id)}
    assert ids("gt2025-07-01") == {str(after.id)}
    assert ids("le2025-07-01") == {str(before.id), str(on.id)}
    assert ids("lt2025-07-01") == {str(before.id)}
    assert ids("2025-07") == {str(on.id), str(after.id)}
    assert ids("2025") == {str(before.id), str(on.id), str(after.id)}
    both = client.get(f"{BASE}Observation", {"date": ["ge2025-07-01", "le2025-07-01"]})
    assert entry_ids(fhir_json(both)) == [str(on.id)]
    # Review: an instant with an offset is the UTC instant it names (00:00+02:00 on 2 July is 1 July 22:00 UTC).
    assert ids("ge2025-07-02T00:00:00+02:00") == {str(after.id)}
    assert ids("ge2025-07-01T00:00:00+02:00") == {str(on.id), str(after.id)}


# --- paging ---------------------------------------------------------------------------------------------------
def count_queries(call: Any) -> tuple[int, Any]:
    with CaptureQueriesContext(connection) as ctx:
        response = call()
    return len(ctx.captured_queries), response


def test_paging_through_next_links_returns_every_row_once_in_constant_queries(world: World, client_for: Any) -> None:
    dxa = [
        BoneDensityFactory.create(patient=world.ann, measured_on=date(2024, 1, 1) + timedelta(days=i)) for i in range(7)
    ]
    labs = [LabFactory.create(patient=world.ann, measured_on=date(2024, 1, 1) + timedelta(days=i)) for i in range(6)]
    client = client_for(world.cora)
    url: str | None = f"{BASE}Observation?patient=Patient/{world.ann.id}&_count=5"
    seen: list[str] = []
    query_counts = []
    while url:
        queries, response = count_queries(lambda u=url: client.get(u))
        bundle = fhir_json(response)
        assert bundle["total"] == 13
        assert len(bundle.get("entry", [])) <= 5
        for entry in bundle["entry"]:
            assert entry["fullUrl"] == f"http://testserver/fhir/R4/Observation/{entry['resource']['id']}"
        seen.extend(entry_ids(bundle))
        query_counts.append(queries)
        links = {link["relation"]: link["url"] for link in bundle["link"]}
        assert "self" in links
        url = links.get("next")
    assert len(seen) == 13
    assert set(seen) == {str(r.id) for r in [*dxa, *labs]}
    assert len(query_counts) == 3
    assert max(query_counts) <= 5  # counts (2), the page's rows (at most 2), the audit insert


def test_query_count_does_not_grow_with_rows(world: World, client_for: Any) -> None:
    client = client_for(world.phil)
    for type_name, grow in (
        ("Patient", lambda: None),
        ("MedicationStatement", lambda: make_dose(world.ann, make_schedule(world.ann, "alendronate"))),
        ("Observation", lambda: BoneDensityFactory.create(patient=world.ann)),
    ):
        grow()
        small, _ = count_queries(lambda t=type_name: client.get(f"{BASE}{t}"))
        for _ in range(4):
            grow()
        large, _ = count_queries(lambda t=type_name: client.get(f"{BASE}{t}"))
        assert large == small, type_name


def test_count_bounds(world: World, client_for: Any) -> None:
    for _ in range(3):
        BoneDensityFactory.create(patient=world.ann)
    client = client_for(world.cora)
    only_total = search(client, "Observation", _count=0)
    assert only_total["total"] == 3 and "entry" not in only_total
    assert len(search(client, "Observation", _count=1)["entry"]) == 1
    capped = search(client, "Observation", _count=1000)
    assert "_count=200" in capped["link"][0]["url"]
    assert len(capped["entry"]) == 3
    assert "_count=50" in search(client, "Observation")["link"][0]["url"]  # the default
    for bad in ("-1", "abc", "1.5", "\uff11"):
        outcome(client.get(f"{BASE}Observation", {"_count": bad}), 400, "invalid")
    outcome(client.get(f"{BASE}Observation", {"_offset": "-3"}), 400, "invalid")


# --- errors ---------------------------------------------------------------------------------------------------
def test_errors_are_operation_outcomes(world: World, client_for: Any, api: Any) -> None:
    client = client_for(world.cora)
    outcome(client.get(f"{BASE}Observation/{uuid.uuid4()}"), 404, "not-found")
    outcome(client.get(f"{BASE}Observation/not-a-uuid"), 404, "not-found")
    outcome(client.get(f"{BASE}Practitioner"), 404, "not-supported")
    outcome(client.get(f"{BASE}Practitioner/123"), 404, "not-supported")
    outcome(client.get(f"{BASE}Patient/{world.ann.id}/_history"), 404, "not-supported")
    outcome(client.get(f"{BASE}Observation", {"date": "yesterday"}), 400, "invalid")
    outcome(client.get(f"{BASE}Observation", {"date": "ne2025-01-01"}), 400, "invalid")
    outcome(client.get(f"{BASE}Observation", {"date": "2025-13-01"}), 400, "invalid")
    for edge in ("9999-12-31T10:00:00Z", "9999-12-31", "9999", "gt9999-12"):
        outcome(client.get(f"{BASE}Observation", {"date": edge}), 400, "invalid")
    assert client.get(f"{BASE}Patient", {"name": "a\x00b"}).status_code == 200
    outcome(client.options(f"{BASE}Patient"), 405, "not-supported")
    outcome(client.get(f"{BASE}Observation", {"_format": "xml"}), 406, "not-supported")
    for method in ("post", "put", "patch", "delete"):
        outcome(getattr(client, method)(f"{BASE}Patient/{world.ann.id}"), 405, "not-supported")
    outcome(client.post(BASE, {}, format="json"), 400, "structure")  # the base takes a transaction Bundle (import)
    response = api.get(f"{BASE}Patient/{world.ann.id}")
    outcome(response, 401, "login")
    assert response["WWW-Authenticate"].startswith("Bearer")
    api.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
    outcome(api.get(f"{BASE}Patient"), 401, "login")


def test_unknown_params_lenient_by_default_strict_on_request(world: World, client_for: Any) -> None:
    BoneDensityFactory.create(patient=world.ann)
    client = client_for(world.cora)
    lenient = search(client, "Observation", foo="bar", _sort="date")
    assert lenient["total"] == 1
    assert "foo" not in lenient["link"][0]["url"]
    warning = [e for e in lenient["entry"] if e["search"]["mode"] == "outcome"]
    assert warning[0]["resource"]["issue"][0]["severity"] == "warning"
    assert "foo" in warning[0]["resource"]["issue"][0]["diagnostics"]
    strict = client.get(f"{BASE}Observation", {"foo": "bar"}, HTTP_PREFER="handling=strict")
    outcome(strict, 400, "not-supported")
    assert search(client, "Observation", patient=str(world.ann.id))["total"] == 1


# --- the registry: a new type is served and advertised from its registration alone ------------------------------
def test_a_registered_type_is_served_and_listed_in_metadata(world: World, client_for: Any, api: Any) -> None:
    from fhir.resources.R4B.basic import Basic

    from apps.fhir.registry import PATIENT, ResourceType, Source, patient_filter, register
    from apps.profiles.models import BoneDensityResult
    from backend.access import patient_scope

    row = BoneDensityFactory.create(patient=world.ann)
    register(
        ResourceType(
            name="Basic",
            params={"patient": PATIENT},
            sources=(
                Source(
                    rows=lambda user: BoneDensityResult.objects.filter(patient_scope(user)),
                    mapper=lambda r: {
                        "resourceType": "Basic",
                        "id": str(r.id),
                        "code": {"text": "a test"},
                        "subject": {"reference": f"Patient/{r.patient_id}"},
                    },
                    order=("measured_on", "id"),
                    filters={"patient": patient_filter()},
                ),
            ),
        )
    )
    try:
        listed = {r["type"]: r for r in fhir_json(api.get(f"{BASE}metadata"))["rest"][0]["resource"]}
        assert {p["name"] for p in listed["Basic"]["searchParam"]} == {"_id", "patient"}
        client = client_for(world.cora)
        bundle = client.get(f"{BASE}Basic", {"patient": str(world.ann.id)})
        assert bundle.status_code == 200
        entry = bundle.json()["entry"][0]["resource"]
        Basic.model_validate(entry)
        assert entry["id"] == str(row.id)
        outcome(client_for(world.zed).get(f"{BASE}Basic/{row.id}"), 404, "not-found")
        assert AuditEvent.objects.filter(resource="fhir_basic", action="list").count() == 1
    finally:
        REGISTRY.pop("Basic")
    outcome(client_for(world.cora).get(f"{BASE}Basic"), 404, "not-supported")


def test_a_filter_for_an_undeclared_param_is_refused_at_registration() -> None:
    from apps.fhir.registry import ResourceType, Source, patient_filter, register

    with pytest.raises(ValueError, match="undeclared"):
        register(
            ResourceType(
                name="Basic",
                sources=(
                    Source(rows=lambda user: None, mapper=dict, order=("id",), filters={"patient": patient_filter()}),  # type: ignore[arg-type,return-value]
                ),
            )
        )
    assert "Basic" not in REGISTRY


def test_a_throttled_fhir_request_is_told_to_wait_at_least_a_second() -> None:
    from rest_framework.exceptions import Throttled

    from apps.fhir.views import SearchView

    response = SearchView().handle_exception(Throttled(wait=0.4))
    assert response.status_code == 429
    assert response["Retry-After"] == "1"  # review: int(0.4) said "0", inviting an immediate retry
