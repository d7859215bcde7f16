"""People over HTTP: enrolling patients, the profile, DXA results and labs (API.md "People").

Every test speaks HTTP and checks what a user would notice: the status, the JSON, and what is (not) in the database.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.forms.models import model_to_dict
from rest_framework.test import APIClient

from apps.accounts.models import CareTeamAssignment, Patient, User
from apps.profiles.models import BoneDensityResult, LabResult, PatientProfile
from backend.models import AuditEvent
from tests.conftest import World

PATIENTS = "/api/v1/patients/"
NEW_PASSWORD = "Calcium-and-sunlight-42"
FAR_FUTURE = (date.today() + timedelta(days=30)).isoformat()  # in the future in every time zone


def patient_url(patient: Patient, suffix: str = "") -> str:
    return f"{PATIENTS}{patient.id}/{suffix}"


def enrol_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "email": "nora@example.org",
        "password": NEW_PASSWORD,
        "full_name": "Nora North",
        "birth_date": "1962-03-04",
        "timezone": "Europe/Paris",
        "aromatase_inhibitor": "anastrozole",
        "ai_started_on": "2025-01-15",
        "height_cm": "162.5",
        "weight_kg": "58.0",
        "smoker": "former",
        "family_hip_fracture": True,
        "prior_fragility_fracture": False,
        "oral_corticosteroids_months": 3,
        "quiet_hours_start": "22:00:00",
        "quiet_hours_end": "07:00:00",
        "push_detail_opt_in": True,
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not OMIT}


OMIT = object()


def dxa_body(**overrides: Any) -> dict[str, Any]:
    return {"measured_on": "2025-01-10", "site": "lumbar_spine", "t_score": "-1.2", **overrides}


def lab_body(**overrides: Any) -> dict[str, Any]:
    return {"kind": "egfr", "value": "72", "unit": "mL/min/1.73m2", "measured_on": "2025-01-10", **overrides}


def row_counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (User, Patient, PatientProfile, CareTeamAssignment, BoneDensityResult, LabResult, AuditEvent)
    }


def profile_state(patient: Patient) -> dict[str, Any]:
    profile = PatientProfile.objects.get(pk=patient.pk)
    state = model_to_dict(profile)
    state["updated_at"] = profile.updated_at
    state["full_name"] = User.objects.get(pk=patient.user_id).full_name
    return state


def assert_invalid(response: Any, field: str) -> None:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid", error
    assert field in error["fields"], error
    assert all(isinstance(m, str) and m for m in error["fields"][field]), error
    assert error["message"]


# --- enrolment ----------------------------------------------------------------------------------------------


def test_coordinator_enrols_a_patient_who_can_then_sign_in(world: World, client_for, api: APIClient) -> None:
    response = client_for(world.cora).post(PATIENTS, enrol_body(), format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["email"] == "nora@example.org"
    assert body["full_name"] == "Nora North"
    assert body["organisation"] == str(world.org_a.id)
    assert body["birth_date"] == "1962-03-04"
    assert body["timezone"] == "Europe/Paris"
    assert body["aromatase_inhibitor"] == "anastrozole"
    assert Decimal(body["height_cm"]) == Decimal("162.5")
    assert Decimal(body["weight_kg"]) == Decimal("58.0")
    assert body["smoker"] == "former"
    assert body["family_hip_fracture"] is True
    assert body["oral_corticosteroids_months"] == 3
    assert body["quiet_hours_start"] == "22:00:00"
    assert body["quiet_hours_end"] == "07:00:00"
    assert body["push_detail_opt_in"] is True
    assert "password" not in body
    patient_id = body["id"]

    # The enrolling coordinator is on her care team: she now appears in the coordinator's list.
    listed = client_for(world.cora).get(PATIENTS)
    assert listed.status_code == 200
    assert patient_id in {row["id"] for row in listed.json()["results"]}
    assert CareTeamAssignment.objects.filter(patient_id=patient_id, staff=world.cora).exists()
    # ...and not in the list of a coordinator who did not enrol her.
    assert patient_id not in {row["id"] for row in client_for(world.cody).get(PATIENTS).json()["results"]}

    # She signs in with the email and password she was given.
    token = api.post("/api/v1/auth/token/", {"email": "nora@example.org", "password": NEW_PASSWORD}, format="json")
    assert token.status_code == 200, token.content
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token.json()['access']}")
    me = api.get("/api/v1/me/")
    assert me.status_code == 200, me.content
    assert me.json()["role"] == "patient"
    assert me.json()["patient_id"] == patient_id
    assert me.json()["email"] == "nora@example.org"
    assert me.json()["organisation"] == str(world.org_a.id)

    # With her own token she sees only herself.
    own = api.get(PATIENTS)
    assert [row["id"] for row in own.json()["results"]] == [patient_id]


def test_enrol_with_only_the_required_fields(world: World, client_for) -> None:
    body = {"email": "olga@example.org", "password": NEW_PASSWORD, "birth_date": "1958-11-30", "timezone": "UTC"}
    response = client_for(world.cora).post(PATIENTS, body, format="json")
    assert response.status_code == 201, response.content
    profile = PatientProfile.objects.get(pk=response.json()["id"])
    assert profile.birth_date == date(1958, 11, 30)
    assert profile.push_detail_opt_in is False  # privacy default
    assert profile.quiet_hours_start is None and profile.quiet_hours_end is None


def test_enrol_email_is_case_insensitive_for_sign_in(world: World, client_for, api: APIClient) -> None:
    response = client_for(world.cora).post(PATIENTS, enrol_body(email="Nora.North@Example.ORG"), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["email"] == "nora.north@example.org"
    token = api.post(
        "/api/v1/auth/token/", {"email": "NORA.north@example.org", "password": NEW_PASSWORD}, format="json"
    )
    assert token.status_code == 200, token.content


def test_enrol_required_fields_are_required(world: World, client_for) -> None:
    before = row_counts()
    response = client_for(world.cora).post(PATIENTS, {"email": "x@example.org"}, format="json")
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert {"birth_date", "timezone"} <= set(fields)
    assert "password" not in fields  # optional since issue 17: without one she is invited to choose her own
    assert row_counts() == before


def test_admin_enrols_into_the_named_organisation_without_joining_the_care_team(world: World, client_for) -> None:
    response = client_for(world.admin).post(PATIENTS, enrol_body(organisation=str(world.org_b.id)), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["organisation"] == str(world.org_b.id)
    patient = Patient.objects.get(pk=response.json()["id"])
    assert patient.organisation_id == world.org_b.id
    assert patient.user.organisation_id == world.org_b.id
    assert not CareTeamAssignment.objects.filter(patient=patient).exists()
    # Org B's pharmacist sees her; org A's does not.
    assert str(patient.id) in {r["id"] for r in client_for(world.pia).get(PATIENTS).json()["results"]}
    assert str(patient.id) not in {r["id"] for r in client_for(world.phil).get(PATIENTS).json()["results"]}


def test_admin_must_name_the_organisation(world: World, client_for) -> None:
    before = row_counts()
    response = client_for(world.admin).post(PATIENTS, enrol_body(), format="json")
    assert_invalid(response, "organisation")
    assert row_counts() == before


def test_admin_naming_an_unknown_organisation_is_refused(world: World, client_for) -> None:
    before = row_counts()
    body = enrol_body(organisation="00000000-0000-4000-8000-000000000000")
    response = client_for(world.admin).post(PATIENTS, body, format="json")
    assert_invalid(response, "organisation")
    assert row_counts() == before


def test_coordinator_may_name_her_own_organisation(world: World, client_for) -> None:
    response = client_for(world.cora).post(PATIENTS, enrol_body(organisation=str(world.org_a.id)), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["organisation"] == str(world.org_a.id)


def test_coordinator_naming_another_organisation_is_refused(world: World, client_for) -> None:
    before = row_counts()
    response = client_for(world.cora).post(PATIENTS, enrol_body(organisation=str(world.org_b.id)), format="json")
    assert response.status_code in {400, 403}, response.content
    if response.status_code == 400:
        assert "organisation" in response.json()["error"]["fields"]
    assert row_counts() == before
    assert not User.objects.filter(email="nora@example.org").exists()


@pytest.mark.parametrize("who", ["phil", "ann"], ids=["pharmacist", "patient"])
def test_pharmacist_and_patient_cannot_enrol(world: World, client_for, who: str) -> None:
    actor = world.ann.user if who == "ann" else world.phil
    before = row_counts()
    response = client_for(actor).post(PATIENTS, enrol_body(), format="json")
    assert response.status_code == 403, response.content
    assert response.json()["error"]["code"] == "permission_denied"
    assert row_counts() == before


def test_anonymous_cannot_enrol(world: World, api: APIClient) -> None:
    before = row_counts()
    response = api.post(PATIENTS, enrol_body(), format="json")
    assert response.status_code == 401
    assert row_counts() == before


# --- bad input: 400 "invalid", the field named, nothing written ---------------------------------------------


def _as(world: World, who: str) -> User:
    return world.ann.user if who == "ann" else getattr(world, who)


# id, who, method, url (from world), body, the field the error must name
BAD_INPUT: list[tuple[str, str, str, Callable[[World], str], dict[str, Any], str]] = [
    ("dxa_t_score_12", "cora", "post", lambda w: patient_url(w.ann, "bone-density/"), dxa_body(t_score=12), "t_score"),
    ("dxa_t_score_-7", "cora", "post", lambda w: patient_url(w.ann, "bone-density/"), dxa_body(t_score=-7), "t_score"),
    (
        "dxa_t_score_abc",
        "cora",
        "post",
        lambda w: patient_url(w.ann, "bone-density/"),
        dxa_body(t_score="abc"),
        "t_score",
    ),
    (
        "dxa_t_score_two_decimals",
        "cora",
        "post",
        lambda w: patient_url(w.ann, "bone-density/"),
        dxa_body(t_score="-2.05"),
        "t_score",
    ),
    ("dxa_site_skull", "cora", "post", lambda w: patient_url(w.ann, "bone-density/"), dxa_body(site="skull"), "site"),
    (
        "dxa_measured_in_future",
        "cora",
        "post",
        lambda w: patient_url(w.ann, "bone-density/"),
        dxa_body(measured_on=FAR_FUTURE),
        "measured_on",
    ),
    (
        "dxa_missing_t_score",
        "cora",
        "post",
        lambda w: patient_url(w.ann, "bone-density/"),
        {"measured_on": "2025-01-10", "site": "total_hip"},
        "t_score",
    ),
    (
        "dxa_unknown_field",
        "cora",
        "post",
        lambda w: patient_url(w.ann, "bone-density/"),
        dxa_body(favourite_colour="blue"),
        "favourite_colour",
    ),
    (
        "dxa_read_only_id",
        "cora",
        "post",
        lambda w: patient_url(w.ann, "bone-density/"),
        dxa_body(id="11111111-1111-4111-8111-111111111111"),
        "id",
    ),
    (
        "dxa_read_only_recorded_by",
        "cora",
        "post",
        lambda w: patient_url(w.ann, "bone-density/"),
        dxa_body(recorded_by="00000000-0000-4000-8000-000000000000"),
        "recorded_by",
    ),
    ("enrol_birth_date_future", "cora", "post", lambda w: PATIENTS, enrol_body(birth_date=FAR_FUTURE), "birth_date"),
    (
        "enrol_birth_date_not_a_date",
        "cora",
        "post",
        lambda w: PATIENTS,
        enrol_body(birth_date="04/03/1962"),
        "birth_date",
    ),
    ("enrol_timezone_mars", "cora", "post", lambda w: PATIENTS, enrol_body(timezone="Mars/Olympus"), "timezone"),
    ("enrol_weight_0", "cora", "post", lambda w: PATIENTS, enrol_body(weight_kg=0), "weight_kg"),
    ("enrol_height_500", "cora", "post", lambda w: PATIENTS, enrol_body(height_cm=500), "height_cm"),
    (
        "enrol_corticosteroids_-1",
        "cora",
        "post",
        lambda w: PATIENTS,
        enrol_body(oral_corticosteroids_months=-1),
        "oral_corticosteroids_months",
    ),
    (
        "enrol_quiet_hours_start_only",
        "cora",
        "post",
        lambda w: PATIENTS,
        enrol_body(quiet_hours_end=OMIT),
        "quiet_hours_end",
    ),
    ("enrol_smoker_sometimes", "cora", "post", lambda w: PATIENTS, enrol_body(smoker="sometimes"), "smoker"),
    (
        "enrol_ai_before_birth",
        "cora",
        "post",
        lambda w: PATIENTS,
        enrol_body(ai_started_on="1950-01-01"),
        "ai_started_on",
    ),
    (
        "enrol_unknown_field",
        "cora",
        "post",
        lambda w: PATIENTS,
        enrol_body(favourite_colour="blue"),
        "favourite_colour",
    ),
    ("enrol_read_only_id", "cora", "post", lambda w: PATIENTS, enrol_body(id="1" * 32), "id"),
    ("enrol_weak_password", "cora", "post", lambda w: PATIENTS, enrol_body(password="12345678"), "password"),
    ("enrol_bad_email", "cora", "post", lambda w: PATIENTS, enrol_body(email="not-an-email"), "email"),
    ("enrol_duplicate_email", "cora", "post", lambda w: PATIENTS, enrol_body(email="ann@example.org"), "email"),
    (
        "enrol_duplicate_email_other_case",
        "cora",
        "post",
        lambda w: PATIENTS,
        enrol_body(email="  ANN@Example.org "),
        "email",
    ),
    (
        "enrol_duplicate_email_of_staff",
        "cora",
        "post",
        lambda w: PATIENTS,
        enrol_body(email="zed@example.org"),
        "email",
    ),
    ("patch_timezone_mars", "ann", "patch", lambda w: patient_url(w.ann), {"timezone": "Mars/Olympus"}, "timezone"),
    ("patch_weight_0", "cora", "patch", lambda w: patient_url(w.ann), {"weight_kg": 0}, "weight_kg"),
    ("patch_height_500", "cora", "patch", lambda w: patient_url(w.ann), {"height_cm": 500}, "height_cm"),
    (
        "patch_corticosteroids_-1",
        "cora",
        "patch",
        lambda w: patient_url(w.ann),
        {"oral_corticosteroids_months": -1},
        "oral_corticosteroids_months",
    ),
    (
        "patch_birth_date_future",
        "cora",
        "patch",
        lambda w: patient_url(w.ann),
        {"birth_date": FAR_FUTURE},
        "birth_date",
    ),
    (
        "patch_quiet_hours_start_only",
        "ann",
        "patch",
        lambda w: patient_url(w.ann),
        {"quiet_hours_start": "22:00"},
        "quiet_hours_end",
    ),
    (
        "patch_unknown_field",
        "ann",
        "patch",
        lambda w: patient_url(w.ann),
        {"favourite_colour": "blue"},
        "favourite_colour",
    ),
    ("patch_read_only_email", "ann", "patch", lambda w: patient_url(w.ann), {"email": "a2@example.org"}, "email"),
    ("patch_read_only_id", "cora", "patch", lambda w: patient_url(w.ann), {"id": "1" * 32}, "id"),
    (
        "patch_read_only_organisation",
        "cora",
        "patch",
        lambda w: patient_url(w.ann),
        {"organisation": "00000000-0000-4000-8000-000000000000"},
        "organisation",
    ),
    ("patch_birth_date_null", "cora", "patch", lambda w: patient_url(w.ann), {"birth_date": None}, "birth_date"),
    ("lab_wrong_unit", "cora", "post", lambda w: patient_url(w.ann, "labs/"), lab_body(unit="mg/dL"), "unit"),
    ("lab_egfr_5000", "cora", "post", lambda w: patient_url(w.ann, "labs/"), lab_body(value="5000"), "value"),
    ("lab_egfr_0", "cora", "post", lambda w: patient_url(w.ann, "labs/"), lab_body(value="0"), "value"),
    ("lab_kind_unknown", "cora", "post", lambda w: patient_url(w.ann, "labs/"), lab_body(kind="cholesterol"), "kind"),
    (
        "lab_measured_in_future",
        "cora",
        "post",
        lambda w: patient_url(w.ann, "labs/"),
        lab_body(measured_on=FAR_FUTURE),
        "measured_on",
    ),
    ("lab_value_abc", "cora", "post", lambda w: patient_url(w.ann, "labs/"), lab_body(value="abc"), "value"),
    (
        "lab_calcium_mmol_out_of_range",
        "cora",
        "post",
        lambda w: patient_url(w.ann, "labs/"),
        lab_body(kind="serum_calcium", unit="mmol/L", value="9.5"),
        "value",
    ),
    (
        "lab_unknown_field",
        "cora",
        "post",
        lambda w: patient_url(w.ann, "labs/"),
        lab_body(favourite_colour="blue"),
        "favourite_colour",
    ),
]


@pytest.mark.parametrize(
    ("who", "method", "url", "body", "field"),
    [pytest.param(*case[1:], id=case[0]) for case in BAD_INPUT],
)
def test_bad_input_is_refused_and_writes_nothing(
    world: World, client_for, who: str, method: str, url: Callable[[World], str], body: dict[str, Any], field: str
) -> None:
    before = row_counts()
    ann_before = profile_state(world.ann)

    response = getattr(client_for(_as(world, who)), method)(url(world), body, format="json")

    assert_invalid(response, field)
    assert row_counts() == before
    assert profile_state(world.ann) == ann_before


BAD_BODY_TARGETS = {
    "enrol": ("cora", "post", lambda w: PATIENTS),
    "dxa": ("cora", "post", lambda w: patient_url(w.ann, "bone-density/")),
    "lab": ("cora", "post", lambda w: patient_url(w.ann, "labs/")),
    "patch": ("ann", "patch", lambda w: patient_url(w.ann)),
}


@pytest.mark.parametrize("target", list(BAD_BODY_TARGETS))
def test_non_json_body_is_refused_with_the_error_shape(world: World, client_for, target: str) -> None:
    who, method, url = BAD_BODY_TARGETS[target]
    before = row_counts()
    ann_before = profile_state(world.ann)
    response = getattr(client_for(_as(world, who)), method)(
        url(world), data="timezone=Europe/Paris", content_type="text/plain"
    )
    assert response.status_code in {400, 415}, response.content
    error = response.json()["error"]
    assert error["code"] in {"unsupported_media_type", "parse_error", "invalid"}
    assert error["message"]
    assert isinstance(error["fields"], dict)
    assert row_counts() == before
    assert profile_state(world.ann) == ann_before


@pytest.mark.parametrize("target", list(BAD_BODY_TARGETS))
def test_malformed_json_is_a_parse_error(world: World, client_for, target: str) -> None:
    who, method, url = BAD_BODY_TARGETS[target]
    before = row_counts()
    ann_before = profile_state(world.ann)
    response = getattr(client_for(_as(world, who)), method)(
        url(world), data='{"timezone": "Europe/Paris",', content_type="application/json"
    )
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "parse_error"
    assert error["message"]
    assert error["fields"] == {}
    assert row_counts() == before
    assert profile_state(world.ann) == ann_before


@pytest.mark.parametrize("body", [[1, 2], "a string", 42], ids=["list", "string", "number"])
def test_json_that_is_not_an_object_is_invalid(world: World, client_for, body: Any) -> None:
    before = row_counts()
    response = client_for(world.cora).post(patient_url(world.ann, "bone-density/"), body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid"
    assert row_counts() == before


# --- PATCH the profile ----------------------------------------------------------------------------------------


def test_patient_changes_her_preferences(world: World, client_for) -> None:
    body = {
        "timezone": "America/New_York",
        "quiet_hours_start": "21:30",
        "quiet_hours_end": "06:45",
        "push_detail_opt_in": True,
    }
    response = client_for(world.ann.user).patch(patient_url(world.ann), body, format="json")
    assert response.status_code == 200, response.content
    out = response.json()
    assert out["timezone"] == "America/New_York"
    assert out["quiet_hours_start"] == "21:30:00"
    assert out["quiet_hours_end"] == "06:45:00"
    assert out["push_detail_opt_in"] is True
    profile = PatientProfile.objects.get(pk=world.ann.pk)
    assert profile.timezone == "America/New_York"
    assert profile.push_detail_opt_in is True
    # ...and a later GET shows the same.
    again = client_for(world.ann.user).get(patient_url(world.ann)).json()
    assert again["timezone"] == "America/New_York"
    assert again["quiet_hours_start"] == "21:30:00"


def test_patient_clears_quiet_hours_together(world: World, client_for) -> None:
    client = client_for(world.ann.user)
    assert (
        client.patch(
            patient_url(world.ann), {"quiet_hours_start": "22:00", "quiet_hours_end": "07:00"}, format="json"
        ).status_code
        == 200
    )
    response = client.patch(patient_url(world.ann), {"quiet_hours_start": None, "quiet_hours_end": None}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["quiet_hours_start"] is None
    profile = PatientProfile.objects.get(pk=world.ann.pk)
    assert profile.quiet_hours_start is None and profile.quiet_hours_end is None


def test_clearing_only_one_quiet_hour_is_refused(world: World, client_for) -> None:
    client = client_for(world.ann.user)
    client.patch(patient_url(world.ann), {"quiet_hours_start": "22:00", "quiet_hours_end": "07:00"}, format="json")
    before = profile_state(world.ann)
    response = client.patch(patient_url(world.ann), {"quiet_hours_end": None}, format="json")
    assert_invalid(response, "quiet_hours_end")
    assert profile_state(world.ann) == before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("birth_date", "1970-01-01"),
        ("smoker", "current"),
        ("aromatase_inhibitor", "exemestane"),
        ("ai_started_on", "2024-06-01"),
        ("family_hip_fracture", True),
        ("prior_fragility_fracture", True),
        ("oral_corticosteroids_months", 12),
    ],
)
def test_patient_cannot_change_clinical_fields(world: World, client_for, field: str, value: Any) -> None:
    before = profile_state(world.ann)
    counts = row_counts()
    response = client_for(world.ann.user).patch(patient_url(world.ann), {field: value}, format="json")
    assert_invalid(response, field)
    assert profile_state(world.ann) == before
    assert row_counts() == counts


def test_a_refused_clinical_field_blocks_the_whole_patch(world: World, client_for) -> None:
    before = profile_state(world.ann)
    response = client_for(world.ann.user).patch(
        patient_url(world.ann), {"timezone": "Asia/Tokyo", "smoker": "current"}, format="json"
    )
    assert_invalid(response, "smoker")
    assert "timezone" not in response.json()["error"]["fields"]
    assert profile_state(world.ann) == before


def test_coordinator_changes_clinical_fields(world: World, client_for) -> None:
    body = {
        "birth_date": "1955-02-03",
        "smoker": "current",
        "aromatase_inhibitor": "exemestane",
        "ai_started_on": "2024-09-01",
        "family_hip_fracture": True,
        "prior_fragility_fracture": True,
        "oral_corticosteroids_months": 8,
        "full_name": "Ann Archer-Smith",
    }
    response = client_for(world.cora).patch(patient_url(world.ann), body, format="json")
    assert response.status_code == 200, response.content
    out = response.json()
    assert out["birth_date"] == "1955-02-03"
    assert out["smoker"] == "current"
    assert out["aromatase_inhibitor"] == "exemestane"
    assert out["full_name"] == "Ann Archer-Smith"
    profile = PatientProfile.objects.get(pk=world.ann.pk)
    assert profile.birth_date == date(1955, 2, 3)
    assert profile.smoker == "current"
    assert profile.aromatase_inhibitor == "exemestane"
    assert profile.oral_corticosteroids_months == 8
    assert User.objects.get(pk=world.ann.user_id).full_name == "Ann Archer-Smith"


def test_admin_changes_clinical_fields(world: World, client_for) -> None:
    response = client_for(world.admin).patch(patient_url(world.zoe), {"smoker": "former"}, format="json")
    assert response.status_code == 200, response.content
    assert PatientProfile.objects.get(pk=world.zoe.pk).smoker == "former"


@pytest.mark.parametrize("body", [{"smoker": "current"}, {"timezone": "Asia/Tokyo"}], ids=["clinical", "preference"])
def test_pharmacist_cannot_patch(world: World, client_for, body: dict[str, Any]) -> None:
    before = profile_state(world.ann)
    counts = row_counts()
    response = client_for(world.phil).patch(patient_url(world.ann), body, format="json")
    assert response.status_code == 403, response.content
    assert response.json()["error"]["code"] == "permission_denied"
    assert profile_state(world.ann) == before
    assert row_counts() == counts


def test_patient_cannot_patch_another_patient(world: World, client_for) -> None:
    before = profile_state(world.bea)
    response = client_for(world.ann.user).patch(patient_url(world.bea), {"timezone": "Asia/Tokyo"}, format="json")
    assert response.status_code == 404
    assert profile_state(world.bea) == before


def test_patch_with_an_empty_body_changes_nothing(world: World, client_for) -> None:
    before = profile_state(world.ann)
    response = client_for(world.ann.user).patch(patient_url(world.ann), {}, format="json")
    assert response.status_code == 200
    after = profile_state(world.ann)
    before.pop("updated_at"), after.pop("updated_at")
    assert after == before


# --- DXA results ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["cora", "phil", "admin"])
def test_staff_record_dxa_and_everyone_in_scope_reads_newest_first(world: World, client_for, who: str) -> None:
    staff = client_for(getattr(world, who))
    url = patient_url(world.ann, "bone-density/")
    created = []
    for measured_on, site, t_score in [
        ("2023-01-10", "lumbar_spine", "-1.1"),
        ("2025-02-01", "femoral_neck", "-2.3"),
        ("2024-05-05", "total_hip", "0.4"),
    ]:
        response = staff.post(url, {"measured_on": measured_on, "site": site, "t_score": t_score}, format="json")
        assert response.status_code == 201, response.content
        out = response.json()
        assert out["measured_on"] == measured_on
        assert out["site"] == site
        assert Decimal(out["t_score"]) == Decimal(t_score)
        assert out["recorded_by"] == str(getattr(world, who).id)
        created.append(out["id"])
    assert BoneDensityResult.objects.filter(patient=world.ann).count() == 3

    for reader in (staff, client_for(world.ann.user)):
        listed = reader.get(url)
        assert listed.status_code == 200, listed.content
        rows = listed.json()["results"]
        assert [r["measured_on"] for r in rows] == ["2025-02-01", "2024-05-05", "2023-01-10"]
        assert {r["id"] for r in rows} == set(created)
        assert listed.json()["count"] == 3

    # Another patient's list stays empty.
    assert client_for(world.admin).get(patient_url(world.bea, "bone-density/")).json()["results"] == []


def test_patient_cannot_record_dxa(world: World, client_for) -> None:
    before = row_counts()
    response = client_for(world.ann.user).post(patient_url(world.ann, "bone-density/"), dxa_body(), format="json")
    assert response.status_code == 403, response.content
    assert response.json()["error"]["code"] == "permission_denied"
    assert row_counts() == before


@pytest.mark.parametrize("t_score", ["-6.0", "4.0", "0", "-2.5"])
def test_dxa_t_score_limits_are_inclusive(world: World, client_for, t_score: str) -> None:
    response = client_for(world.cora).post(
        patient_url(world.ann, "bone-density/"), dxa_body(t_score=t_score), format="json"
    )
    assert response.status_code == 201, response.content
    assert BoneDensityResult.objects.get(patient=world.ann).t_score == Decimal(t_score)


# --- labs ----------------------------------------------------------------------------------------------------


def test_staff_record_labs_filter_by_kind_newest_first(world: World, client_for) -> None:
    staff = client_for(world.phil)
    url = patient_url(world.ann, "labs/")
    posted = [
        lab_body(value="72", measured_on="2024-01-10"),
        lab_body(value="65.5", measured_on="2025-03-01"),
        lab_body(kind="vitamin_d_25oh", value="48", unit="nmol/L", measured_on="2025-04-01"),
        lab_body(kind="serum_calcium", value="2.35", unit="mmol/L", measured_on="2024-06-01"),
        lab_body(kind="crcl", value="80", unit="mL/min", measured_on="2023-12-01"),
    ]
    for body in posted:
        response = staff.post(url, body, format="json")
        assert response.status_code == 201, response.content
        assert response.json()["kind"] == body["kind"]
        assert response.json()["unit"] == body["unit"]
        assert Decimal(response.json()["value"]) == Decimal(body["value"])
        assert response.json()["recorded_by"] == str(world.phil.id)
    assert LabResult.objects.filter(patient=world.ann).count() == 5

    for reader in (staff, client_for(world.ann.user), client_for(world.cora)):
        everything = reader.get(url)
        assert everything.status_code == 200
        assert [r["measured_on"] for r in everything.json()["results"]] == [
            "2025-04-01",
            "2025-03-01",
            "2024-06-01",
            "2024-01-10",
            "2023-12-01",
        ]
        egfr = reader.get(url, {"kind": "egfr"})
        assert egfr.status_code == 200
        rows = egfr.json()["results"]
        assert [(r["kind"], r["measured_on"]) for r in rows] == [("egfr", "2025-03-01"), ("egfr", "2024-01-10")]
        assert Decimal(rows[0]["value"]) == Decimal("65.5")


def test_unknown_lab_kind_filter_is_400(world: World, client_for) -> None:
    response = client_for(world.cora).get(patient_url(world.ann, "labs/"), {"kind": "cholesterol"})
    assert_invalid(response, "kind")


def test_patient_cannot_record_labs(world: World, client_for) -> None:
    before = row_counts()
    response = client_for(world.ann.user).post(patient_url(world.ann, "labs/"), lab_body(), format="json")
    assert response.status_code == 403, response.content
    assert row_counts() == before


@pytest.mark.parametrize(
    ("kind", "unit", "value"),
    [
        ("egfr", "mL/min/1.73m2", "1"),
        ("egfr", "mL/min/1.73m2", "200"),
        ("serum_calcium", "mg/dL", "9.4"),
        ("vitamin_d_25oh", "ng/mL", "250"),
    ],
)
def test_lab_range_limits_are_inclusive(world: World, client_for, kind: str, unit: str, value: str) -> None:
    response = client_for(world.cora).post(
        patient_url(world.ann, "labs/"), lab_body(kind=kind, unit=unit, value=value), format="json"
    )
    assert response.status_code == 201, response.content


# --- found by review, fixed since ------------------------------------------------------------------------------


@pytest.mark.parametrize("q", ["\x00", "ann\x00"], ids=["nul", "name_then_nul"])
def test_patient_search_with_a_nul_character_is_not_a_server_error(world: World, client_for, q: str) -> None:
    client = client_for(world.phil)
    client.raise_request_exception = False
    response = client.get(PATIENTS, {"q": q})
    assert response.status_code == 400, response.status_code
    assert response.json()["error"]["code"] == "invalid"
    assert "q" in response.json()["error"]["fields"]


def _host_zone_is_listed() -> bool:
    from zoneinfo import available_timezones

    return "localtime" in available_timezones()


@pytest.mark.skipif(not _host_zone_is_listed(), reason="this host lists no 'localtime' zone file")
def test_the_host_localtime_pseudo_zone_is_not_a_time_zone(world: World, client_for) -> None:
    before = profile_state(world.ann)
    response = client_for(world.ann.user).patch(patient_url(world.ann), {"timezone": "localtime"}, format="json")
    assert_invalid(response, "timezone")
    assert profile_state(world.ann) == before


@pytest.mark.parametrize(
    ("suffix", "body"),
    [("bone-density/", dxa_body(measured_on="0001-01-01")), ("labs/", lab_body(measured_on="1900-01-01"))],
    ids=["dxa", "lab"],
)
def test_measurement_before_birth_is_refused(world: World, client_for, suffix: str, body: dict[str, Any]) -> None:
    before = row_counts()
    response = client_for(world.cora).post(patient_url(world.ann, suffix), body, format="json")
    assert_invalid(response, "measured_on")
    assert row_counts() == before
