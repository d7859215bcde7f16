"""Two imports of the same Bundle racing (issue 16): the patients' rows are locked for the import, so the second
finds what the first recorded and answers 200 OK; the result exists once."""

import pytest
from rest_framework.test import APIClient

from apps.profiles.models import BoneDensityResult
from backend.roles import Role
from tests.concurrency import at_once
from tests.factories import CareTeamFactory, PatientFactory, UserFactory
from tests.fhir.import_helpers import bundle, dxa, post, ref


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_bundle_sent_twice_at_once_is_recorded_once() -> None:
    patient = PatientFactory.create()
    coordinator = UserFactory.create(organisation=patient.organisation, role=Role.COORDINATOR)
    CareTeamFactory.create(patient=patient, staff=coordinator)
    body = bundle(dxa(ref(patient), -2.2, day="2026-01-05"))

    def send() -> str:
        client = APIClient()
        client.force_authenticate(coordinator)
        response = post(client, body)
        assert response.status_code == 200, response.content
        return str(response.json()["entry"][0]["response"]["status"])

    assert sorted(at_once(send, times=3)) == ["200 OK", "200 OK", "201 Created"]
    assert BoneDensityResult.objects.filter(patient=patient).count() == 1
