"""Her weekly joint-pain check-in reminder settings (issue 15): the day and time, hers to change through the profile
API and, offline, through the app's sync; bad input is a 400 (API) or a rejected record (sync), never stored."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest

from apps.profiles.models import PatientProfile
from tests.conftest import World
from tests.profiles.test_profiles_api import assert_invalid, patient_url, profile_state
from tests.sync.conftest import App, table_changes


def _settings(patient: Any) -> tuple[int, time]:
    profile = PatientProfile.objects.get(pk=patient.pk)
    return profile.check_in_weekday, profile.check_in_time


def test_the_profile_shows_the_defaults_monday_at_18(world: World, client_for) -> None:
    body = client_for(world.ann.user).get(patient_url(world.ann)).json()
    assert (body["check_in_weekday"], body["check_in_time"]) == (0, "18:00:00")


@pytest.mark.parametrize("weekday", [0, 6])
def test_patient_chooses_her_check_in_day_and_time(world: World, client_for, weekday: int) -> None:
    client = client_for(world.ann.user)
    response = client.patch(
        patient_url(world.ann), {"check_in_weekday": weekday, "check_in_time": "09:30"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert (response.json()["check_in_weekday"], response.json()["check_in_time"]) == (weekday, "09:30:00")
    assert _settings(world.ann) == (weekday, time(9, 30))


def test_her_coordinator_may_change_them_too(world: World, client_for) -> None:
    response = client_for(world.cora).patch(patient_url(world.ann), {"check_in_weekday": 4}, format="json")
    assert response.status_code == 200, response.content
    assert _settings(world.ann) == (4, time(18, 0))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("check_in_weekday", 7),
        ("check_in_weekday", -1),
        ("check_in_weekday", "friday"),
        ("check_in_weekday", None),
        ("check_in_time", "25:00"),
        ("check_in_time", "18:00+02:00"),
        ("check_in_time", "evening"),
        ("check_in_time", None),
    ],
)
def test_bad_check_in_settings_are_a_400_and_change_nothing(world: World, client_for, field: str, value: Any) -> None:
    before = profile_state(world.ann)
    response = client_for(world.ann.user).patch(patient_url(world.ann), {field: value}, format="json")
    assert_invalid(response, field)
    assert profile_state(world.ann) == before


@pytest.mark.django_db(transaction=True)  # sync versions are transaction ids: each request commits its own
def test_her_app_changes_them_offline_through_sync(world: World, client_for) -> None:
    app = App(client_for(world.ann.user), world.ann)
    profile = app.pull()["changes"]["profiles"]["created"][0]
    assert (profile["check_in_weekday"], profile["check_in_time"]) == (0, "18:00:00")
    changed = {**profile, "check_in_weekday": 3, "check_in_time": "08:15"}
    assert app.push(table_changes(profiles={"updated": [changed]})) == {}
    assert _settings(world.ann) == (3, time(8, 15))
    # The change moved the row's sync version: another of her devices pulls it.
    other = App(client_for(world.ann.user), world.ann)
    pulled = other.pull()["changes"]["profiles"]["created"][0]
    assert (pulled["check_in_weekday"], pulled["check_in_time"]) == (3, "08:15:00")


@pytest.mark.django_db(transaction=True)
def test_a_staff_change_reaches_her_app_on_the_next_pull(world: World, client_for) -> None:
    app = App(client_for(world.ann.user), world.ann)
    app.pull()
    client_for(world.cora).patch(patient_url(world.ann), {"check_in_time": "07:45"}, format="json")
    updated = app.pull()["changes"]["profiles"]["updated"]
    assert [row["check_in_time"] for row in updated] == ["07:45:00"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("field", "value"), [("check_in_weekday", 7), ("check_in_weekday", -2)])
def test_a_bad_day_pushed_by_her_app_is_rejected_and_not_stored(
    world: World, client_for, field: str, value: Any
) -> None:
    app = App(client_for(world.ann.user), world.ann)
    profile = app.pull()["changes"]["profiles"]["created"][0]
    body = app.push(table_changes(profiles={"updated": [{**profile, field: value}]}))
    assert body["experimentalRejectedIds"] == {"profiles": [str(world.ann.id)]}
    assert _settings(world.ann) == (0, time(18, 0))
