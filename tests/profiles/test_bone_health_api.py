"""The bone-health assessment end to end over HTTP (DOMAIN H1-H4): enrol, record DXA, read the assessment.

"Today" is frozen with time-machine and always belongs to the patient's own time zone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from rest_framework.test import APIClient

from apps.accounts.models import User
from tests.conftest import World

PATIENTS = "/api/v1/patients/"
NOON_UTC = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
# 20:00 UTC on 15 June: already 16 June 08:00 in Auckland (UTC+12), still 15 June 13:00 in Los Angeles (UTC-7).
EVENING_UTC = datetime(2025, 6, 15, 20, 0, tzinfo=UTC)


def enrol(client: APIClient, email: str, **overrides: Any) -> str:
    """Enrol a patient with no risk factors (55 years old in 2025, BMI ~23.9, never smoked); returns her id."""
    body: dict[str, Any] = {
        "email": email,
        "password": "Calcium-and-sunlight-42",
        "birth_date": "1970-01-01",
        "timezone": "Europe/London",
        "aromatase_inhibitor": "letrozole",
        "height_cm": "165",
        "weight_kg": "65",
        "smoker": "never",
        "family_hip_fracture": False,
        "prior_fragility_fracture": False,
        "oral_corticosteroids_months": 0,
        **overrides,
    }
    response = client.post(PATIENTS, body, format="json")
    assert response.status_code == 201, response.content
    return str(response.json()["id"])


def record_dxa(client: APIClient, patient_id: str, measured_on: str, t_score: str, site: str = "lumbar_spine") -> None:
    response = client.post(
        f"{PATIENTS}{patient_id}/bone-density/",
        {"measured_on": measured_on, "site": site, "t_score": t_score},
        format="json",
    )
    assert response.status_code == 201, response.content


def bone_health(client: APIClient, patient_id: str) -> dict[str, Any]:
    response = client.get(f"{PATIENTS}{patient_id}/bone-health/")
    assert response.status_code == 200, response.content
    body: dict[str, Any] = response.json()
    return body


def codes(findings: list[dict[str, Any]]) -> list[str]:
    return [f["code"] for f in findings]


@pytest.mark.parametrize(
    ("zone", "instant", "today"),
    [
        ("Europe/London", NOON_UTC, "2025-06-15"),
        ("Europe/London", datetime(2025, 6, 15, 23, 30, tzinfo=UTC), "2025-06-16"),  # 00:30 BST
        ("Pacific/Auckland", EVENING_UTC, "2025-06-16"),
        ("America/Los_Angeles", datetime(2025, 6, 16, 3, 0, tzinfo=UTC), "2025-06-15"),  # 20:00 PDT
    ],
    ids=["london_noon", "london_after_midnight_bst", "auckland_evening_utc", "los_angeles_early_utc"],
)
def test_66_year_old_smoker_without_dxa_is_recommended_therapy_and_a_scan_today(
    world: World, client_for, zone: str, instant: datetime, today: str
) -> None:
    cora = client_for(world.cora)
    with time_machine.travel(instant, tick=False):
        patient_id = enrol(cora, "sally@example.org", birth_date="1959-03-01", smoker="current", timezone=zone)
        for reader in (cora, client_for(world.phil)):
            result = bone_health(reader, patient_id)

            assert result["therapy_recommended"] is True
            assert "multiple_risk_factors" in codes(result["reasons"])
            assert "no_dxa" in codes(result["reasons"])
            assert sorted(codes(result["risk_factors"])) == ["age_over_65", "smoking"]
            assert all(f["rule"] == "H3" for f in result["risk_factors"])
            assert result["next_dxa_due"] == today
            assert result["lowest_t_score"] is None
            assert result["lowest_t_score_site"] is None
            assert {f["code"] for f in result["advice"]} == {"calcium_vitamin_d_advice", "exercise_advice"}
            assert all(f["message"] for f in result["reasons"] + result["advice"])


def test_the_patient_reads_her_own_assessment(world: World, client_for) -> None:
    with time_machine.travel(NOON_UTC, tick=False):
        patient_id = enrol(client_for(world.cora), "sally@example.org", birth_date="1959-03-01", smoker="former")
        patient_user = User.objects.get(email="sally@example.org")
        result = bone_health(client_for(patient_user), patient_id)
        assert result["therapy_recommended"] is True
        assert result["next_dxa_due"] == "2025-06-15"


def test_t_score_exactly_minus_2_without_risk_factors_is_not_recommended(world: World, client_for) -> None:
    cora = client_for(world.cora)
    with time_machine.travel(NOON_UTC, tick=False):
        patient_id = enrol(cora, "tess@example.org")
        record_dxa(cora, patient_id, "2025-01-10", "-2.0")
        result = bone_health(cora, patient_id)

    assert result["therapy_recommended"] is False
    assert codes(result["reasons"]) == ["not_recommended_now"]
    assert result["risk_factors"] == []
    assert Decimal(result["lowest_t_score"]) == Decimal("-2.0")
    assert result["lowest_t_score_site"] == "lumbar_spine"
    assert result["lowest_t_score_measured_on"] == "2025-01-10"
    # DOMAIN H4 "2 years, 1 if indicated": -2.0 is below -1.5, which the rules table counts as "indicated",
    # so the repeat scan is due 12 months after it (see tests/profiles/test_bone_health_rules.py, t_-2.0_not_below).
    assert result["next_dxa_due"] == "2026-01-10"


def test_t_score_minus_1_5_without_risk_factors_repeats_dxa_in_24_months(world: World, client_for) -> None:
    cora = client_for(world.cora)
    with time_machine.travel(NOON_UTC, tick=False):
        patient_id = enrol(cora, "tess@example.org")
        record_dxa(cora, patient_id, "2025-01-10", "-1.5")
        result = bone_health(cora, patient_id)

    assert result["therapy_recommended"] is False
    assert codes(result["reasons"]) == ["not_recommended_now"]
    assert result["next_dxa_due"] == "2027-01-10"


def test_t_score_minus_2_1_is_recommended(world: World, client_for) -> None:
    cora = client_for(world.cora)
    with time_machine.travel(NOON_UTC, tick=False):
        patient_id = enrol(cora, "tess@example.org")
        record_dxa(cora, patient_id, "2025-01-10", "-2.1")
        result = bone_health(cora, patient_id)

    assert result["therapy_recommended"] is True
    assert codes(result["reasons"]) == ["t_score_below_threshold"]
    assert result["risk_factors"] == []
    assert Decimal(result["lowest_t_score"]) == Decimal("-2.1")
    # Therapy indicated: the repeat scan is due 12 months after the last one (H4 "1 if indicated").
    assert result["dxa_due_on"] == result["next_dxa_due"] == "2026-01-10"
    assert result["last_dxa_on"] == "2025-01-10"
    assert (result["on_therapy"], result["current_therapy"]) == (False, [])


def test_lowest_site_of_the_latest_scans_counts(world: World, client_for) -> None:
    cora = client_for(world.cora)
    with time_machine.travel(NOON_UTC, tick=False):
        patient_id = enrol(cora, "tess@example.org")
        record_dxa(cora, patient_id, "2022-03-01", "-2.8", site="lumbar_spine")  # superseded by the 2025 scan
        record_dxa(cora, patient_id, "2025-01-10", "-0.9", site="lumbar_spine")
        record_dxa(cora, patient_id, "2025-01-10", "-1.3", site="femoral_neck")
        record_dxa(cora, patient_id, "2025-01-10", "-0.2", site="total_hip")
        result = bone_health(cora, patient_id)

    assert result["therapy_recommended"] is False
    assert Decimal(result["lowest_t_score"]) == Decimal("-1.3")
    assert result["lowest_t_score_site"] == "femoral_neck"
    assert result["next_dxa_due"] == "2027-01-10"


def test_a_profile_change_changes_the_assessment(world: World, client_for) -> None:
    cora = client_for(world.cora)
    with time_machine.travel(NOON_UTC, tick=False):
        patient_id = enrol(cora, "tess@example.org")
        record_dxa(cora, patient_id, "2025-01-10", "-1.7")
        assert bone_health(cora, patient_id)["therapy_recommended"] is False

        response = cora.patch(f"{PATIENTS}{patient_id}/", {"family_hip_fracture": True}, format="json")
        assert response.status_code == 200, response.content
        result = bone_health(cora, patient_id)

    assert result["therapy_recommended"] is True
    assert codes(result["reasons"]) == ["t_score_with_risk_factor"]
    assert codes(result["risk_factors"]) == ["family_hip_fracture"]


def test_auckland_and_los_angeles_have_different_todays_at_the_same_instant(world: World, client_for) -> None:
    cora = client_for(world.cora)
    with time_machine.travel(EVENING_UTC, tick=False):
        auckland = enrol(cora, "aroha@example.org", timezone="Pacific/Auckland")
        los_angeles = enrol(cora, "lucy@example.org", timezone="America/Los_Angeles")

        assert bone_health(cora, auckland)["next_dxa_due"] == "2025-06-16"
        assert bone_health(cora, los_angeles)["next_dxa_due"] == "2025-06-15"

        # Moving to Auckland moves her "today" with her.
        patient_user = User.objects.get(email="lucy@example.org")
        response = client_for(patient_user).patch(
            f"{PATIENTS}{los_angeles}/", {"timezone": "Pacific/Auckland"}, format="json"
        )
        assert response.status_code == 200, response.content
        assert bone_health(cora, los_angeles)["next_dxa_due"] == "2025-06-16"


def test_age_is_counted_on_her_local_date(world: World, client_for) -> None:
    """Both turn 66 on 16 June 1959+66; at 20:00 UTC on the 15th only the Auckland patient already has."""
    cora = client_for(world.cora)
    with time_machine.travel(EVENING_UTC, tick=False):
        common = {"birth_date": "1959-06-16", "smoker": "current"}
        auckland = enrol(cora, "aroha@example.org", timezone="Pacific/Auckland", **common)
        los_angeles = enrol(cora, "lucy@example.org", timezone="America/Los_Angeles", **common)
        in_auckland = bone_health(cora, auckland)
        in_los_angeles = bone_health(cora, los_angeles)

    assert sorted(codes(in_auckland["risk_factors"])) == ["age_over_65", "smoking"]
    assert in_auckland["therapy_recommended"] is True
    assert codes(in_los_angeles["risk_factors"]) == ["smoking"]
    assert in_los_angeles["therapy_recommended"] is False


def test_a_scan_dated_today_in_her_zone_is_not_in_the_future(world: World, client_for) -> None:
    cora = client_for(world.cora)
    with time_machine.travel(EVENING_UTC, tick=False):
        auckland = enrol(cora, "aroha@example.org", timezone="Pacific/Auckland")
        los_angeles = enrol(cora, "lucy@example.org", timezone="America/Los_Angeles")
        body = {"measured_on": "2025-06-16", "site": "total_hip", "t_score": "-1.0"}

        assert cora.post(f"{PATIENTS}{auckland}/bone-density/", body, format="json").status_code == 201
        refused = cora.post(f"{PATIENTS}{los_angeles}/bone-density/", body, format="json")
        assert refused.status_code == 400
        assert "measured_on" in refused.json()["error"]["fields"]
        assert bone_health(cora, los_angeles)["lowest_t_score"] is None
        assert Decimal(bone_health(cora, auckland)["lowest_t_score"]) == Decimal("-1.0")
