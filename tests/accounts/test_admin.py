"""The Django admin manages organisations, staff and care-team assignments."""

from django.test import Client

from apps.accounts.models import CareTeamAssignment, Organisation
from tests.conftest import World


def admin_client(world: World) -> Client:
    client = Client()
    client.force_login(world.admin)
    return client


def test_admin_pages_load(world: World) -> None:
    client = admin_client(world)
    for url in [
        "/admin/",
        "/admin/accounts/organisation/",
        "/admin/accounts/user/",
        "/admin/accounts/patient/",
        "/admin/accounts/careteamassignment/",
        f"/admin/accounts/user/{world.cora.id}/change/",
        f"/admin/accounts/patient/{world.ann.id}/change/",
        "/admin/backend/auditevent/",
    ]:
        assert client.get(url).status_code == 200, url


def test_admin_creates_an_organisation_and_an_assignment(world: World) -> None:
    client = admin_client(world)
    response = client.post("/admin/accounts/organisation/add/", {"name": "West Clinic"})
    assert response.status_code == 302
    assert Organisation.objects.filter(name="West Clinic").exists()
    response = client.post("/admin/accounts/careteamassignment/add/", {"patient": world.bea.id, "staff": world.phil.id})
    assert response.status_code == 302
    assert CareTeamAssignment.objects.filter(patient=world.bea, staff=world.phil).exists()


def test_staff_without_admin_flag_cannot_open_the_admin(world: World) -> None:
    client = Client()
    client.force_login(world.cora)
    assert client.get("/admin/accounts/organisation/").status_code == 302  # to the admin login
