"""Reminder settings are one thing to write (apps/reminders/preferences.py): the profile's part (quiet hours, the
drug-name opt-in) and ReminderPreference's (reminders, nudges) change together or not at all, and what a patient may
change is decided by profiles' service, whoever calls it (the profile API, the reminder settings, the app's sync)."""

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from apps.profiles.models import PatientProfile
from apps.profiles.services import patient_profile_update
from apps.reminders.models import ReminderPreference
from tests.conftest import World


def url(world: World) -> str:
    return f"/api/v1/patients/{world.ann.id}/reminder-preferences/"


def test_a_failure_in_the_second_write_leaves_nothing_half_written(
    world: World, client_for, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(ReminderPreference, "save", broken)
    client = client_for(world.ann.user)
    body = {"quiet_hours_start": "22:00", "quiet_hours_end": "07:00", "push_detail_opt_in": True}
    body["nudges_enabled"] = False
    with pytest.raises(RuntimeError):
        client.patch(url(world), body, format="json")
    profile = PatientProfile.objects.get(pk=world.ann.pk)
    assert (profile.quiet_hours_start, profile.quiet_hours_end, profile.push_detail_opt_in) == (None, None, False)
    assert not ReminderPreference.objects.filter(patient=world.ann).exists()


def test_both_parts_change_in_one_patch(world: World, client_for) -> None:
    client = client_for(world.ann.user)
    body = {"quiet_hours_start": "22:00", "quiet_hours_end": "07:00", "nudge_after_minutes": 30}
    response = client.patch(url(world), body, format="json")
    assert response.status_code == 200, response.content
    expected = {
        "reminders_enabled": True,
        "nudges_enabled": True,
        "nudge_after_minutes": 30,
        "quiet_hours_start": "22:00:00",
        "quiet_hours_end": "07:00:00",
        "push_detail_opt_in": False,
    }
    assert response.json() == expected
    assert client.get(url(world)).json() == expected


def test_a_refused_profile_part_leaves_the_preference_part_unchanged(world: World, client_for) -> None:
    response = client_for(world.ann.user).patch(
        url(world), {"nudges_enabled": False, "quiet_hours_start": "22:00"}, format="json"
    )
    assert response.status_code == 400
    assert "quiet_hours_end" in response.json()["error"]["fields"]
    assert not ReminderPreference.objects.filter(patient=world.ann).exists()


@pytest.mark.parametrize("field", ["bone_metastases", "smoker"])
def test_the_profile_service_refuses_a_patient_a_clinical_field_whoever_calls_it(world: World, field: str) -> None:
    value: Any = True if field == "bone_metastases" else "current"
    with pytest.raises(ValidationError) as refused:
        patient_profile_update(actor=world.ann.user, patient=world.ann, timezone="Asia/Tokyo", **{field: value})
    assert refused.value.message_dict == {field: ["Only your care team can change this."]}
    assert PatientProfile.objects.get(pk=world.ann.pk).timezone != "Asia/Tokyo"
    patient_profile_update(actor=world.cora, patient=world.ann, **{field: value})  # her care team may
    assert getattr(PatientProfile.objects.get(pk=world.ann.pk), field) == value
