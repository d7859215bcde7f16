"""The Django admin's date inputs take the API's dates (backend.dates): a plan starting in year 9999 is a form error,
not a row that later overflows the jobs' date arithmetic (issue 12)."""

import pytest
from django.test import Client

from apps.supplements.models import SupplementPlan
from tests.conftest import World


def add_plan(world: World, starts_on: str):
    client = Client()
    client.force_login(world.admin)
    return client.post(
        "/admin/supplements/supplementplan/add/",
        {
            "patient": world.ann.pk,
            "supplement": "calcium_citrate",
            "amount": "500",
            "unit": "mg",
            "times_of_day": '["08:00"]',
            "status": "active",
            "starts_on": starts_on,
        },
    )


@pytest.mark.parametrize("starts_on", ["9999-12-31", "1899-12-31"])
def test_admin_refuses_a_date_out_of_bounds(world: World, starts_on: str) -> None:
    response = add_plan(world, starts_on)
    assert response.status_code == 200  # the form again, with its error
    assert "Must be" in response.content.decode()
    assert not SupplementPlan.objects.exists()


def test_admin_takes_a_date_in_bounds(world: World) -> None:
    response = add_plan(world, "2026-11-01")
    assert response.status_code == 302, response.content.decode()[:2000]
    assert SupplementPlan.objects.get().starts_on.isoformat() == "2026-11-01"
