"""Two sign-ups racing for one email on PostgreSQL: one wins, the other gets a clear 400, never a 500."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from apps.accounts.models import User
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
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def enrol() -> None:
        client = APIClient()
        client.force_authenticate(world.cora)
        barrier.wait()
        try:
            statuses.append(client.post("/api/v1/patients/", body, format="json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=enrol) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201, 400]
    assert User.objects.filter(email="twin@example.org").count() == 1
