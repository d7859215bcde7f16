"""A body field takes exactly the JSON type the schema declares (issue 12 finding 14, found by the live schemathesis
run): DRF also read `0` as false, `5` as the text "5" and `-2.6` as a decimal declared a string, so a client bug was
stored as a guess. Now each is a 400 naming the field, and nothing changes."""

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.accounts.models import Patient
from apps.alerts.models import Alert
from apps.alerts.services import alert_raise
from apps.exercise.models import ExerciseSession
from apps.profiles.models import BoneDensityResult
from tests.conftest import World


def refused(response: Any, field: str) -> str:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"]["code"] == "invalid"
    messages: list[str] = body["error"]["fields"][field]
    return messages[0]


@pytest.mark.parametrize("value", [0, 1, "true", "yes", None])
def test_a_boolean_is_true_or_false(world: World, client_for, value: Any) -> None:
    url = f"/api/v1/patients/{world.ann.id}/reminder-preferences/"
    client = client_for(world.ann.user)
    before = client.get(url).json()
    message = refused(client.patch(url, {"push_detail_opt_in": value}, format="json"), "push_detail_opt_in")
    assert message in ("Must be true or false.", "This field may not be null.")
    assert client.get(url).json() == before
    assert client.patch(url, {"push_detail_opt_in": not before["push_detail_opt_in"]}, format="json").status_code == 200


def test_a_decimal_is_sent_as_a_string(world: World, client_for) -> None:
    url = f"/api/v1/patients/{world.ann.id}/bone-density/"
    body = {"measured_on": "2026-01-05", "site": "lumbar_spine", "t_score": -2.6}
    assert refused(client_for(world.cora).post(url, body, format="json"), "t_score") == 'Must be a string, e.g. "0.8".'
    assert not BoneDensityResult.objects.filter(patient=world.ann).exists()
    assert client_for(world.cora).post(url, {**body, "t_score": "-2.6"}, format="json").status_code == 201


def test_an_integer_is_a_number_and_text_is_a_string(world: World, client_for) -> None:
    url = f"/api/v1/patients/{world.ann.id}/exercise-sessions/"
    performed_at = (timezone.now() - timedelta(hours=1)).isoformat()
    body = {"id": str(uuid.uuid4()), "kind": "balance", "minutes": 20, "performed_at": performed_at}
    client = client_for(world.ann.user)
    assert refused(client.post(url, {**body, "minutes": "20"}, format="json"), "minutes") == "Must be a whole number."
    assert refused(client.post(url, {**body, "minutes": True}, format="json"), "minutes") == "Must be a whole number."
    assert refused(client.post(url, {**body, "note": 42}, format="json"), "note") == "Must be a string."
    assert not ExerciseSession.objects.filter(patient=world.ann).exists()
    assert client.post(url, body, format="json").status_code == 201


def test_a_note_on_resolving_an_alert_is_text(world: World, client_for) -> None:
    alert = alert_raise(
        patient=Patient.objects.get(pk=world.ann.pk),
        kind="low_adherence",
        severity="normal",
        message="PDC 0.6",
        episode="e1",
    )
    assert alert is not None
    url = f"/api/v1/alerts/{alert.id}/resolve/"
    assert refused(client_for(world.cora).post(url, {"note": 0}, format="json"), "note") == "Must be a string."
    assert Alert.objects.get(pk=alert.pk).state == "open"
