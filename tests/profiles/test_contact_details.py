"""A patient's contact details (issue 14, point 1): phone numbers validated and stored in E.164, a preferred
channel; staff in scope change them through the patient's PATCH, a patient cannot, bad input writes nothing, and
every change is audit-logged."""

import pytest

from apps.profiles.models import PatientProfile
from backend.models import AuditEvent
from tests.conftest import World


def url(world: World) -> str:
    return f"/api/v1/patients/{world.ann.id}/"


@pytest.mark.django_db
def test_coordinator_sets_numbers_normalised_to_e164_and_a_preferred_channel(world: World, client_for) -> None:
    response = client_for(world.cora).patch(
        url(world),
        {"phone": "+44 20 7946 0123", "phone_alt": "+1 (202) 555-0143", "preferred_channel": "sms"},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["phone"], body["phone_alt"], body["preferred_channel"]) == ("+442079460123", "+12025550143", "sms")
    profile = PatientProfile.objects.get(pk=world.ann.pk)
    assert (str(profile.phone), str(profile.phone_alt)) == ("+442079460123", "+12025550143")
    assert AuditEvent.objects.filter(
        actor=world.cora, action="update", resource="patient", patient_id=world.ann.pk
    ).exists()
    again = client_for(world.cora).get(url(world)).json()
    assert again["phone"] == "+442079460123"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": "07700 900123"}, "phone"),  # no country code: refused, not guessed
        ({"phone": "+44 12"}, "phone"),
        ({"phone": "call me"}, "phone"),
        ({"phone": 442079460123}, "phone"),  # a JSON number, not a string
        ({"preferred_channel": "pigeon"}, "preferred_channel"),
        ({"phone_alt": "+442079460123"}, "phone"),  # a second number without a main one
        ({"phone": "+442079460123", "phone_alt": "+44 20 7946 0123"}, "phone_alt"),  # the same number twice
    ],
)
def test_bad_contact_details_are_a_400_in_the_one_error_shape_and_write_nothing(
    world: World, client_for, body: dict, field: str
) -> None:
    before = PatientProfile.objects.get(pk=world.ann.pk)
    response = client_for(world.cora).patch(url(world), {**body, "smoker": "current"}, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"]
    after = PatientProfile.objects.get(pk=world.ann.pk)
    assert (after.phone, after.phone_alt, after.preferred_channel, after.smoker) == (
        before.phone,
        before.phone_alt,
        before.preferred_channel,
        before.smoker,
    )


@pytest.mark.django_db
def test_the_patient_herself_cannot_change_how_her_care_team_reaches_her(world: World, client_for) -> None:
    response = client_for(world.ann.user).patch(url(world), {"phone": "+442079460123"}, format="json")
    assert response.status_code == 400
    assert "phone" in response.json()["error"]["fields"]
    assert not PatientProfile.objects.get(pk=world.ann.pk).phone


@pytest.mark.django_db
def test_staff_out_of_scope_get_404_and_pharmacists_may_not_change_it(world: World, client_for) -> None:
    for outsider in (world.cody, world.zed, world.pia):
        assert client_for(outsider).patch(url(world), {"phone": "+442079460123"}, format="json").status_code == 404
    assert client_for(world.phil).patch(url(world), {"phone": "+442079460123"}, format="json").status_code == 403
    assert not PatientProfile.objects.get(pk=world.ann.pk).phone


@pytest.mark.django_db
def test_clearing_a_number_with_an_empty_string(world: World, client_for) -> None:
    client = client_for(world.cora)
    client.patch(url(world), {"phone": "+442079460123", "phone_alt": "+12025550143"}, format="json")
    response = client.patch(url(world), {"phone_alt": ""}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["phone_alt"] == ""
    assert not PatientProfile.objects.get(pk=world.ann.pk).phone_alt
