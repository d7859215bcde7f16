"""Who reads what through /fhir/R4/: the API's scope per role, out-of-scope ids a 404 logged as denied (issue 16)."""

import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.fhir.registry import REGISTRY
from backend.models import AuditEvent
from tests.conftest import World
from tests.factories import BoneDensityFactory, make_dose, make_schedule
from tests.fhir.conftest import fhir_json, outcome

BASE = "/fhir/R4/"
# Who sees which of Ann and Bea (org A) and Zoe (org B).
SEES = {
    "ann": {"ann"},
    "cora": {"ann"},
    "cody": set(),
    "phil": {"ann", "bea"},
    "zed": {"zoe"},
    "pia": {"zoe"},
    "admin": {"ann", "bea", "zoe"},
}


def user_of(world: World, who: str) -> Any:
    return world.ann.user if who == "ann" else getattr(world, who)


@pytest.fixture
def records(world: World) -> dict[str, dict[str, str]]:
    """Per patient, one row of every type: {patient: {type: id}} (and a second MedicationRequest, "injection")."""
    out: dict[str, dict[str, str]] = {}
    for name in ("ann", "bea", "zoe"):
        patient = getattr(world, name)
        schedule = make_schedule(patient, "alendronate")
        injection = make_schedule(patient, "denosumab")
        out[name] = {
            "Patient": str(patient.id),
            "MedicationRequest": str(schedule.id),
            "MedicationStatement": str(make_dose(patient, schedule).id),
            "MedicationAdministration": str(make_dose(patient, injection, source="clinic").id),
            "Observation": str(BoneDensityFactory.create(patient=patient).id),
            "injection": str(injection.id),
        }
    return out


@pytest.mark.parametrize("who", sorted(SEES))
def test_each_role_reads_and_searches_exactly_its_scope(
    world: World, client_for: Any, records: dict[str, dict[str, str]], who: str
) -> None:
    client = client_for(user_of(world, who))
    for type_name in ("Patient", "MedicationRequest", "MedicationStatement", "MedicationAdministration", "Observation"):
        bundle = fhir_json(client.get(f"{BASE}{type_name}"))
        expected = {records[name][type_name] for name in SEES[who]}
        if type_name == "MedicationRequest":
            expected |= {records[name]["injection"] for name in SEES[who]}
        found = {e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"}
        assert found == expected, (who, type_name)
        for name, ids in records.items():
            response = client.get(f"{BASE}{type_name}/{ids[type_name]}")
            if name in SEES[who]:
                assert fhir_json(response)["id"] == ids[type_name]
            else:
                outcome(response, 404, "not-found")


def test_reads_searches_and_refusals_are_audited(
    world: World, client_for: Any, records: dict[str, dict[str, str]]
) -> None:
    client = client_for(world.cora)
    AuditEvent.objects.all().delete()
    client.get(f"{BASE}Observation", {"patient": str(world.ann.id)})
    client.get(f"{BASE}MedicationRequest/{records['ann']['MedicationRequest']}")
    outcome(client.get(f"{BASE}Observation/{records['zoe']['Observation']}"), 404, "not-found")
    events = list(AuditEvent.objects.order_by("id").values_list("action", "resource", "patient_id", "actor_id"))
    assert events == [
        ("list", "fhir_observation", world.ann.id, world.cora.id),
        ("read", "fhir_medicationrequest", world.ann.id, world.cora.id),
        ("denied", "fhir_observation", None, world.cora.id),
    ]


PARAM_NAMES = [
    "patient",
    "date",
    "code",
    "status",
    "_id",
    "_count",
    "_offset",
    "name",
    "category",
    "effective",
    "_format",
]
TEXT = st.text(alphabet=string.printable + "éü\u00a0\uff11\x00|,:/", max_size=40)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    type_name=st.sampled_from(sorted(REGISTRY)),
    params=st.dictionaries(st.sampled_from(PARAM_NAMES) | TEXT, TEXT, max_size=4),
    resource_id=TEXT,
)
def test_no_input_is_a_server_error(
    world: World, client_for: Any, type_name: str, params: dict, resource_id: str
) -> None:
    client = client_for(world.phil)
    response = client.get(f"{BASE}{type_name}", params)
    assert response.status_code in (200, 400, 406), response.content[:300]
    fhir_json(response)
    response = client.get(f"{BASE}{type_name}/{resource_id.replace('/', '').replace('?', '').replace('#', '')}")
    assert response.status_code in (200, 404), response.content[:300]
    fhir_json(response)
