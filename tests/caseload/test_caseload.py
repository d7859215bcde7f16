"""The caseload (apps/caseload): one selector behind the REST patient list and the console's, with every filter
imported directly. A filter name it does not have is an error, never the unfiltered list the old registry gave back
when a filter had not been registered (the care team's list would silently stop filtering)."""

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from apps.caseload.api import PatientListQuery
from apps.caseload.selectors import FILTERS, UnknownFilterError, patient_caseload
from apps.console.forms import PatientFilterForm
from tests.conftest import World

# For each filter, a value no patient of the world fixture meets (she has no alert, schedule or log): a filter that
# filters leaves nobody; one that is skipped would leave everybody.
NOBODY_QUALIFIES: dict[str, tuple[Any, str]] = {  # filter -> (caseload value, query-string value)
    "alert_level": ("low", "low"),
    "adherence_below": (Decimal("0.5"), "0.5"),  # no active schedule: no PDC to be below anything
    "ai_adherence_below": (Decimal("0.5"), "0.5"),  # no aromatase-inhibitor schedule either (issue 15)
    "calcium_below": (Decimal("0"), "0"),  # an average of 0 is not below 0
    "exercise_below": (0, "0"),
    "injection_state": ("late", "late"),
}
API_FILTERS = sorted(set(PatientListQuery().fields) - {"q"})


def test_an_unknown_filter_is_an_error_not_the_unfiltered_list(world: World) -> None:
    with pytest.raises(UnknownFilterError, match="exercise_belw"):
        patient_caseload(user=world.admin, filters={"exercise_belw": 150})
    with pytest.raises(UnknownFilterError):  # whatever its value: a typo must not wait for a value to show
        patient_caseload(user=world.admin, filters={"exercise_belw": None})


def test_every_filter_the_api_and_the_console_offer_is_the_caseloads() -> None:
    assert set(API_FILTERS) <= set(FILTERS)
    form = PatientFilterForm({})
    assert form.is_valid()
    assert set(form.caseload_filters()) <= set(FILTERS)
    assert set(FILTERS) == set(NOBODY_QUALIFIES)  # a new filter is tested below too


def test_no_filter_value_no_filtering(world: World) -> None:
    everyone = {world.ann, world.bea, world.zoe}
    assert set(patient_caseload(user=world.admin, filters=dict.fromkeys(FILTERS))) == everyone


@pytest.mark.parametrize("name", sorted(NOBODY_QUALIFIES))
def test_each_filter_filters(world: World, name: str) -> None:
    assert set(patient_caseload(user=world.admin)) == {world.ann, world.bea, world.zoe}
    assert list(patient_caseload(user=world.admin, filters={name: NOBODY_QUALIFIES[name][0]})) == []


@pytest.mark.parametrize("name", API_FILTERS)
def test_each_api_filter_filters_over_http(world: World, client_for, name: str) -> None:
    client = client_for(world.admin)
    assert client.get("/api/v1/patients/").json()["count"] == 3
    response = client.get(f"/api/v1/patients/?{name}={NOBODY_QUALIFIES[name][1]}")
    assert response.status_code == 200, response.content
    assert response.json()["count"] == 0


@pytest.mark.parametrize("name", sorted(NOBODY_QUALIFIES))
def test_each_console_filter_filters(world: World, name: str) -> None:
    client = Client()
    client.force_login(world.cora)
    listed = client.get("/console/patients/?q=")
    assert listed.status_code == 200 and b"Ann Archer" in listed.content
    value = NOBODY_QUALIFIES[name][1]
    if name in ("adherence_below", "ai_adherence_below"):
        value = "50"  # the console asks for a percentage
    response = client.get(f"/console/patients/?{name}={value}")
    assert response.status_code == 200, response.content[:300]
    assert b"Ann Archer" not in response.content


def test_a_value_the_client_sends_that_no_filter_knows_is_a_400_naming_it(world: World, client_for) -> None:
    response = client_for(world.admin).get("/api/v1/patients/?alert_level=critical")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and list(error["fields"]) == ["alert_level"]
