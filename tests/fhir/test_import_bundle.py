"""The Observation import (issue 16, part 4): a transaction Bundle recorded all at once, by our id or the MRN, as a
typed result (events, the bone-health assessment), duplicates answered with what is on record, a round trip of our
own export, system clients with a write scope, and the queries an import costs."""

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.accounts.models import Patient
from apps.fhir.codes import DXA_SITE_SYSTEM, LOINC, UCUM
from apps.fhir.identifiers import default_mrn_system
from apps.profiles.models import BoneDensityResult, LabResult
from backend.models import AuditEvent
from tests.conftest import World
from tests.factories import BoneDensityFactory, LabFactory, PatientFactory
from tests.fhir.conftest import fhir_json
from tests.fhir.import_helpers import bundle, dxa, lab, post, ref
from tests.fhir.smart_helpers import assertion, form_post, register, signing_key, token_request
from tests.fhir.test_care_resources import r4_problems

NOW = datetime(2026, 4, 15, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


def response_bundle(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.content[:500]
    body = fhir_json(response)
    assert body["type"] == "transaction-response"
    assert r4_problems(body) == []
    return body


def statuses(body: dict[str, Any]) -> list[str]:
    return [e["response"]["status"] for e in body["entry"]]


def locations(body: dict[str, Any]) -> list[str]:
    return [e["response"]["location"] for e in body["entry"]]


def test_a_bundle_records_each_result_and_answers_where_the_read_api_serves_it(world: World, client_for: Any) -> None:
    cora = client_for(world.cora)
    body = response_bundle(
        post(
            cora,
            bundle(
                dxa(ref(world.ann), -2.6, code="38267-1"),
                lab(ref(world.ann), "serum_calcium", 2.4, "mmol/L", day="2026-04-02"),
                lab(ref(world.ann), "egfr", 75, "mL/min/{1.73_m2}"),
            ),
        )
    )
    assert statuses(body) == ["201 Created"] * 3
    scan = BoneDensityResult.objects.get(patient=world.ann)
    assert (scan.site, scan.t_score, scan.measured_on, scan.recorded_by) == (
        "lumbar_spine",
        Decimal("-2.6"),
        date(2026, 4, 1),
        world.cora,
    )
    labs = {(r.kind, r.value, r.unit, r.measured_on) for r in LabResult.objects.filter(patient=world.ann)}
    assert labs == {
        ("serum_calcium", Decimal("2.40"), "mmol/L", date(2026, 4, 2)),
        ("egfr", Decimal("75.00"), "mL/min/1.73m2", date(2026, 4, 1)),
    }
    # Each location is the id the read API serves.
    for location in locations(body):
        read = cora.get(f"/fhir/R4/{location}")
        assert read.status_code == 200, location
    assert cora.get(f"/fhir/R4/{locations(body)[0]}").json()["valueQuantity"]["value"] == -2.6
    audit = AuditEvent.objects.filter(action="create", resource="fhir_observation")
    assert list(audit.values_list("patient_id", "actor_id")) == [(world.ann.pk, world.cora.pk)]


def test_an_imported_t_score_changes_the_assessment_as_a_typed_one_does(world: World, client_for: Any) -> None:
    cora = client_for(world.cora)
    typed_for = PatientFactory.create(organisation=world.org_a)
    typed_for.care_team.create(staff=world.cora)
    before = cora.get(f"/api/v1/patients/{world.ann.pk}/bone-health/").json()
    assert before["therapy_recommended"] is False

    response_bundle(post(cora, bundle(dxa(ref(world.ann), -2.6))))
    typed = cora.post(
        f"/api/v1/patients/{typed_for.pk}/bone-density/",
        {"measured_on": "2026-04-01", "site": "lumbar_spine", "t_score": "-2.6"},
        format="json",
    )
    assert typed.status_code == 201

    imported = cora.get(f"/api/v1/patients/{world.ann.pk}/bone-health/").json()
    by_hand = cora.get(f"/api/v1/patients/{typed_for.pk}/bone-health/").json()
    assert imported["therapy_recommended"] is True
    assert "t_score_below_threshold" in {r["code"] for r in imported["reasons"]}
    assert imported["lowest_t_score"] == "-2.6"
    assert {k: v for k, v in imported.items()} == by_hand


def test_a_patient_is_found_by_her_mrn_in_the_clinics_system_or_ours(world: World, client_for: Any) -> None:
    Patient.objects.filter(pk=world.ann.pk).update(mrn="A-1001")
    Patient.objects.filter(pk=world.bea.pk).update(mrn="B-2002")
    Patient.objects.filter(pk=world.zoe.pk).update(mrn="A-1001")  # the same MRN at another clinic: someone else
    world.org_a.mrn_system = "urn:oid:1.2.36.146.595.217.0.1"
    world.org_a.save()
    admin = client_for(world.admin)
    body = response_bundle(
        post(
            admin,
            bundle(
                dxa({"identifier": {"system": "urn:oid:1.2.36.146.595.217.0.1", "value": "A-1001"}}, -1.1),
                dxa({"identifier": {"system": default_mrn_system(world.org_b.pk), "value": "A-1001"}}, -0.4),
                dxa({"identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{world.bea.pk}"}}, 0.2),
            ),
        )
    )
    assert statuses(body) == ["201 Created"] * 3
    assert BoneDensityResult.objects.get(patient=world.ann).t_score == Decimal("-1.1")
    assert BoneDensityResult.objects.get(patient=world.zoe).t_score == Decimal("-0.4")
    assert BoneDensityResult.objects.get(patient=world.bea).t_score == Decimal("0.2")
    assert BoneDensityResult.objects.get(patient=world.ann).recorded_by == world.admin


def test_our_own_export_imports_into_another_patient(world: World, client_for: Any) -> None:
    cora = client_for(world.cora)
    bea = world.bea
    bea.care_team.create(staff=world.cora)
    neck = BoneDensityFactory.create(patient=world.ann, site="femoral_neck", t_score=Decimal("-1.8"))
    hip = BoneDensityFactory.create(patient=world.ann, site="total_hip", t_score=Decimal("-1.2"))
    vit_d = LabFactory.create(patient=world.ann, kind="vitamin_d_25oh", value=Decimal("28.50"), unit="ng/mL")
    calcium = LabFactory.create(patient=world.ann, kind="serum_calcium", value=Decimal("9.40"), unit="mg/dL")
    exported = [cora.get(f"/fhir/R4/Observation/{row.pk}").json() for row in (neck, hip, vit_d, calcium)]
    assert exported[0]["bodySite"]["coding"][0]["system"] == DXA_SITE_SYSTEM
    for resource in exported:
        resource["subject"] = ref(bea)
    body = response_bundle(post(cora, bundle(*exported)))
    assert statuses(body) == ["201 Created"] * 4
    again = [cora.get(f"/fhir/R4/{location}").json() for location in locations(body)]
    strip = ("id", "subject", "meta")
    assert [{k: v for k, v in r.items() if k not in strip} for r in again] == [
        {k: v for k, v in r.items() if k not in strip} for r in exported
    ]


def test_a_result_on_record_or_repeated_in_the_bundle_is_not_recorded_twice(world: World, client_for: Any) -> None:
    cora = client_for(world.cora)
    on_record = BoneDensityFactory.create(
        patient=world.ann, site="lumbar_spine", t_score=Decimal("-2.1"), measured_on=date(2026, 3, 1)
    )
    body = response_bundle(
        post(
            cora,
            bundle(
                dxa(ref(world.ann), -2.1, day="2026-03-01"),  # on record
                lab(ref(world.ann), "egfr", 80, "mL/min/{1.73_m2}"),
                lab(ref(world.ann), "egfr", 80.0, "mL/min/{1.73_m2}"),  # the entry before, again
            ),
        )
    )
    assert statuses(body) == ["200 OK", "201 Created", "200 OK"]
    assert locations(body)[0] == f"Observation/{on_record.pk}"
    assert locations(body)[2] == locations(body)[1]
    assert BoneDensityResult.objects.filter(patient=world.ann).count() == 1
    assert LabResult.objects.filter(patient=world.ann).count() == 1
    # Sending the whole Bundle again records nothing more.
    second = response_bundle(post(cora, bundle(dxa(ref(world.ann), -2.1, day="2026-03-01"))))
    assert statuses(second) == ["200 OK"]
    assert BoneDensityResult.objects.count() == 1


def test_a_date_time_is_the_day_in_her_time_zone(world: World, client_for: Any) -> None:
    # 23:30 in New York on 31 March is 1 April in London (her zone, the factory's Europe/London).
    resource = dxa(ref(world.ann), -1.0)
    resource["effectiveDateTime"] = "2026-03-31T23:30:00-04:00"
    response_bundle(post(client_for(world.cora), bundle(resource)))
    assert BoneDensityResult.objects.get(patient=world.ann).measured_on == date(2026, 4, 1)


def test_a_pharmacist_imports_for_her_organisations_patients_as_she_records_labs(world: World, client_for: Any) -> None:
    body = response_bundle(post(client_for(world.phil), bundle(lab(ref(world.bea), "crcl", 60, "mL/min"))))
    assert statuses(body) == ["201 Created"]


def system_token(world: World, scope: str, *, allow_write: bool = True) -> str:
    key = signing_key("ES384")
    client = register(world.org_a, key)
    client.allow_write = allow_write
    client.save()
    r = form_post(token_request(assertion(client, key), scope=scope))
    assert r.status_code == 200, r.content
    return str(r.json()["access_token"])


@pytest.mark.parametrize("scope", ["system/Observation.write", "system/Observation.c", "system/*.cruds"])
def test_a_system_client_with_a_write_scope_imports_unattributed_and_audited(world: World, scope: str) -> None:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {system_token(world, scope)}")
    body = response_bundle(post(api, bundle(dxa(ref(world.bea), -0.9))))
    assert statuses(body) == ["201 Created"]
    assert BoneDensityResult.objects.get(patient=world.bea).recorded_by is None
    event = AuditEvent.objects.get(action="create", resource="fhir_observation")
    assert (event.patient_id, event.actor_id, event.actor_role) == (world.bea.pk, None, "system")
    assert event.actor_client


def test_the_query_count_grows_with_the_writes_only(world: World, client_for: Any) -> None:
    """Measured: a fixed part (the caller, the patients, the results on record, the audit) plus the same number of
    queries per recorded result as the services' own writes; resolving the entries costs nothing per entry."""
    cora = client_for(world.cora)

    def queries(size: int, offset: int) -> int:
        resources = [
            lab(
                ref(world.ann),
                "egfr",
                60,
                "mL/min/{1.73_m2}",
                day=(date(2025, 1, 1) + timedelta(offset + i)).isoformat(),
            )
            for i in range(size)
        ]
        with CaptureQueriesContext(connection) as captured:
            response_bundle(post(cora, bundle(*resources)))
        return len(captured)

    def one_typed(day: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            r = cora.post(
                f"/api/v1/patients/{world.ann.pk}/labs/",
                {"kind": "egfr", "value": "50", "unit": "mL/min/1.73m2", "measured_on": day},
                format="json",
            )
        assert r.status_code == 201
        return len(captured)

    ten, fifty = queries(10, 0), queries(50, 10)
    per_result = (fifty - ten) / 40
    assert per_result == int(per_result)  # linear in the writes
    fixed = ten - 10 * per_result
    assert fixed <= 12, (ten, fifty, per_result)
    # A result costs the import no more than the service's own write (one typed result, without its request
    # overhead: the typed one also loads the patient, checks scope and audits).
    assert per_result <= one_typed("2024-06-01")
    print(f"import queries: 10 entries {ten}, 50 entries {fifty}, {per_result:.0f} per result, fixed {fixed:.0f}")


def test_the_response_names_no_other_patient_and_is_json_we_can_read_back(world: World, client_for: Any) -> None:
    r = post(client_for(world.cora), bundle(dxa(ref(world.ann), -1.0)))
    body = json.loads(r.content)
    assert r["Content-Type"].startswith("application/fhir+json")
    assert set(body["entry"][0]["response"]) == {"status", "location"}


def test_unit_text_alone_and_a_loinc_lab_term_are_read(world: World, client_for: Any) -> None:
    cora = client_for(world.cora)
    vit_d = lab(ref(world.ann), "vitamin_d_25oh", 31, "ng/mL")
    vit_d["code"] = {"coding": [{"system": LOINC, "code": "62292-8"}]}
    plain = lab(ref(world.ann), "crcl", 70, "x")
    plain["valueQuantity"] = {"value": 70, "unit": "mL/min"}
    no_unit = dxa(ref(world.ann), -1.5)
    no_unit["valueQuantity"] = {"value": -1.5}
    no_unit["effectivePeriod"] = {"start": no_unit.pop("effectiveDateTime")}
    body = response_bundle(post(cora, bundle(vit_d, plain, no_unit)))
    assert statuses(body) == ["201 Created"] * 3
    assert LabResult.objects.get(kind="vitamin_d_25oh").unit == "ng/mL"
    assert LabResult.objects.get(kind="crcl").unit == "mL/min"
    assert UCUM  # the helper's default system


def test_the_capability_statement_names_the_transaction_and_observation_create(api: APIClient) -> None:
    statement = fhir_json(api.get("/fhir/R4/metadata"))
    rest = statement["rest"][0]
    assert [i["code"] for i in rest["interaction"]] == ["transaction"]
    by_type = {r["type"]: [i["code"] for i in r["interaction"]] for r in rest["resource"]}
    assert by_type["Observation"] == ["read", "search-type", "create"]
    assert by_type["Patient"] == ["read", "search-type"]
    assert "identifier" in {p["name"] for r in rest["resource"] if r["type"] == "Patient" for p in r["searchParam"]}


def test_trailing_zeros_are_not_extra_decimals(world: World, client_for: Any) -> None:
    body = json.dumps(bundle(dxa(ref(world.ann), -2.6), lab(ref(world.ann), "egfr", 75, "mL/min/{1.73_m2}")))
    body = body.replace('"value": -2.6', '"value": -2.60').replace('"value": 75', '"value": 75.000')
    assert "-2.60" in body and "75.000" in body
    response_bundle(post(client_for(world.cora), body))
    assert BoneDensityResult.objects.get(patient=world.ann).t_score == Decimal("-2.6")
    assert LabResult.objects.get(patient=world.ann).value == Decimal("75")
