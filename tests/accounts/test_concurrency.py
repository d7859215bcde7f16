"""Two sign-ups racing for one email on PostgreSQL: one wins, the other gets a clear 400, never a 500."""

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import User
from tests.concurrency import at_once
from tests.conftest import World


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_enrolments_with_one_email(world: World) -> None:
    body = {
        "email": "twin@example.org",
        "password": "Strong-Bones-4-Life",
        "birth_date": "1961-02-03",
        "timezone": "Europe/Berlin",
    }

    def enrol() -> int:
        client = APIClient()
        client.force_authenticate(world.cora)
        return int(client.post("/api/v1/patients/", body, format="json").status_code)

    assert sorted(at_once(enrol)) == [201, 400]
    assert User.objects.filter(email="twin@example.org").count() == 1
