"""The bone-health assessment knows her current therapy (issue 11, class 8): a woman with an active bone-directed
schedule is on therapy, is not told to start it, and still sees why she needs it; the assessment says when a DXA is
due. Schedules are written through the REST API, "today" is her local date (time-machine)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from rest_framework.test import APIClient

from apps.medications.models import Medication
from tests.conftest import World
from tests.profiles.test_bone_health_api import bone_health, codes, enrol, record_dxa

PATIENTS = "/api/v1/patients/"
NOON_UTC = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)  # 15 June in London (13:00 BST)
# 20:00 UTC on 15 June: already 16 June 08:00 in Auckland, still 15 June in London (21:00 BST).
EVENING_UTC = datetime(2025, 6, 15, 20, 0, tzinfo=UTC)


def add_schedule(client: APIClient, patient_id: str, code: str, **body: Any) -> dict[str, Any]:
    payload = {"medication": str(Medication.objects.get(code=code).id), "local_time": "09:00", **body}
    response = client.post(f"{PATIENTS}{patient_id}/schedules/", payload, format="json")
    assert response.status_code == 201, response.content
    created: dict[str, Any] = response.json()
    return created


def change_schedule(client: APIClient, patient_id: str, schedule_id: str, **changes: Any) -> None:
    response = client.patch(f"{PATIENTS}{patient_id}/schedules/{schedule_id}/", changes, format="json")
    assert response.status_code == 200, response.content


@pytest.fixture
def cora(world: World, client_for) -> APIClient:
    client: APIClient = client_for(world.cora)
    return client


def test_on_denosumab_she_is_not_told_to_start_therapy_and_the_reasons_still_show(world: World, cora) -> None:
    with time_machine.travel(NOON_UTC, tick=False):
        patient_id = enrol(cora, "tess@example.org", family_hip_fracture=True)
        record_dxa(cora, patient_id, "2025-01-10", "-2.1")
        before = bone_health(cora, patient_id)
        shot = add_schedule(cora, patient_id, "denosumab", starts_on="2025-02-01")
        after = bone_health(cora, patient_id)

    assert (before["therapy_recommended"], before["on_therapy"], before["current_therapy"]) == (True, False, [])
    assert after["therapy_recommended"] is False
    assert after["on_therapy"] is True
    assert after["current_therapy"] == [
        {
            "schedule": shot["id"],
            "medication_code": "denosumab",
            "medication_name": "Denosumab",
            "dose": "60 mg",
            "starts_on": "2025-02-01",
            "ends_on": None,
        }
    ]
    # Why she needs it still shows; what changed is only "start therapy".
    assert codes(after["reasons"]) == ["t_score_below_threshold", "t_score_with_risk_factor", "on_therapy"]
    assert "Denosumab 60 mg" in after["reasons"][-1]["message"]
    # The scan follows the therapy: last DXA + 12 months (H4 "1 if indicated"), under both names.
    assert after["dxa_due_on"] == after["next_dxa_due"] == "2026-01-10"
    assert after["last_dxa_on"] == "2025-01-10"


@pytest.mark.parametrize(
    ("code", "body"),
    [
        ("alendronate", {}),
        ("risedronate", {}),
        ("ibandronate", {}),
        ("zoledronic_acid", {}),
        ("teriparatide", {}),
    ],
)
def test_every_bone_directed_medicine_counts_as_therapy(world: World, cora, code: str, body: dict[str, Any]) -> None:
    with time_machine.travel(NOON_UTC, tick=False):
        patient_id = enrol(cora, "tess@example.org", smoker="current", family_hip_fracture=True)  # H2: two risks
        add_schedule(cora, patient_id, code, starts_on="2025-06-01", **body)
        result = bone_health(cora, patient_id)
    assert (result["on_therapy"], result["therapy_recommended"]) == (True, False)
    assert [t["medication_code"] for t in result["current_therapy"]] == [code]
    assert "multiple_risk_factors" in codes(result["reasons"])


def test_an_aromatase_inhibitor_is_not_bone_therapy(world: World, cora) -> None:
    with time_machine.travel(NOON_UTC, tick=False):
        patient_id = enrol(cora, "tess@example.org", smoker="current", family_hip_fracture=True)
        add_schedule(cora, patient_id, "letrozole", starts_on="2025-06-01")
        result = bone_health(cora, patient_id)
    assert (result["on_therapy"], result["therapy_recommended"], result["current_therapy"]) == (False, True, [])


@pytest.mark.parametrize(
    ("dates", "on_therapy"),
    [
        pytest.param({"starts_on": "2025-06-15"}, True, id="starts_today"),
        pytest.param({"starts_on": "2025-06-16"}, False, id="starts_tomorrow"),
        pytest.param({"starts_on": "2025-06-01", "ends_on": "2025-06-15"}, True, id="ends_today"),
        pytest.param({"starts_on": "2025-06-01", "ends_on": "2025-06-14"}, False, id="ended_yesterday"),
    ],
)
def test_active_means_within_its_dates_on_her_local_today(
    world: World, cora, dates: dict[str, str], on_therapy: bool
) -> None:
    with time_machine.travel(datetime(2025, 6, 1, 12, tzinfo=UTC), tick=False):
        patient_id = enrol(cora, "tess@example.org", smoker="current", family_hip_fracture=True)
        add_schedule(cora, patient_id, "alendronate", **dates)
    with time_machine.travel(NOON_UTC, tick=False):
        result = bone_health(cora, patient_id)
    assert result["on_therapy"] is on_therapy
    assert result["therapy_recommended"] is not on_therapy


@pytest.mark.parametrize("status", ["paused", "stopped"])
def test_a_paused_or_stopped_schedule_is_not_therapy(world: World, cora, status: str) -> None:
    with time_machine.travel(NOON_UTC, tick=False):
        patient_id = enrol(cora, "tess@example.org", smoker="current", family_hip_fracture=True)
        weekly = add_schedule(cora, patient_id, "alendronate", starts_on="2025-06-01")
        assert bone_health(cora, patient_id)["on_therapy"] is True
        change_schedule(cora, patient_id, weekly["id"], status=status)
        result = bone_health(cora, patient_id)
    assert (result["on_therapy"], result["therapy_recommended"], result["current_therapy"]) == (False, True, [])


def test_her_today_decides_across_time_zones(world: World, cora) -> None:
    """At 20:00 UTC on 15 June a schedule starting 16 June has begun in Auckland, not yet in London."""
    with time_machine.travel(NOON_UTC, tick=False):
        auckland = enrol(
            cora, "aroha@example.org", timezone="Pacific/Auckland", smoker="current", prior_fragility_fracture=True
        )
        london = enrol(cora, "tess@example.org", smoker="current", prior_fragility_fracture=True)
        for patient_id in (auckland, london):
            add_schedule(cora, patient_id, "alendronate", starts_on="2025-06-16")
    with time_machine.travel(EVENING_UTC, tick=False):
        assert bone_health(cora, auckland)["on_therapy"] is True
        assert bone_health(cora, london)["on_therapy"] is False


def test_no_dxa_on_record_says_a_scan_is_due_now_even_on_therapy(world: World, cora) -> None:
    with time_machine.travel(NOON_UTC, tick=False):
        patient_id = enrol(cora, "tess@example.org")
        add_schedule(cora, patient_id, "alendronate", starts_on="2025-06-01")
        result = bone_health(cora, patient_id)
    assert result["on_therapy"] is True
    assert result["last_dxa_on"] is None
    assert result["dxa_due_on"] == result["next_dxa_due"] == "2025-06-15"
    assert codes(result["reasons"]) == ["on_therapy", "no_dxa"]


def test_off_therapy_the_dxa_interval_is_unchanged(world: World, cora) -> None:
    """No therapy, no risk factor, T-score -1.5: 24 months; the same woman on alendronate: 12."""
    with time_machine.travel(NOON_UTC, tick=False):
        patient_id = enrol(cora, "tess@example.org")
        record_dxa(cora, patient_id, "2025-01-10", "-1.5")
        assert bone_health(cora, patient_id)["dxa_due_on"] == "2027-01-10"
        add_schedule(cora, patient_id, "alendronate", starts_on="2025-06-01")
        result = bone_health(cora, patient_id)
    assert result["dxa_due_on"] == "2026-01-10"
    assert codes(result["reasons"]) == ["on_therapy"]


def test_the_patient_reads_her_own_therapy(world: World, cora, client_for) -> None:
    from apps.accounts.models import User

    with time_machine.travel(NOON_UTC, tick=False):
        patient_id = enrol(cora, "tess@example.org")
        add_schedule(cora, patient_id, "zoledronic_acid", starts_on="2025-06-01")
        result = bone_health(client_for(User.objects.get(email="tess@example.org")), patient_id)
    assert result["on_therapy"] is True
    assert all("(H" not in r["message"] for r in result["reasons"])
