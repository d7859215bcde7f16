"""/api/docs/ (issue 12, finding 15): Swagger UI comes from this server, pinned (drf-spectacular-sidecar), never from a
CDN at @latest, so the page works offline and runs no code this project did not lock. In production the schema and
docs are for the care team only (API_DOCS_PUBLIC off): staff signed in to the console, past their second factor."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import World
from tests.factories import PASSWORD


def test_docs_page_loads_swagger_ui_only_from_this_server(client: Client) -> None:
    response = client.get("/api/docs/")
    assert response.status_code == 200
    body = response.content.decode()
    assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", body, re.I)  # no other host, with or without a scheme
    assets = re.findall(r'(?:src|href)="([^"]+)"', body)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    assert any(a.endswith("swagger-ui.css") for a in assets)
    for asset in assets:
        assert asset.startswith("/static/"), asset
        assert finders.find(asset.removeprefix("/static/")), f"{asset} is not shipped with the server"


@pytest.fixture
def production_docs(settings) -> None:
    settings.API_DOCS_PUBLIC = False
    settings.STAFF_MFA_REQUIRED = True


def _session(email: str) -> Client:
    client = Client()
    assert client.post("/console/login/", {"username": email, "password": PASSWORD}).status_code == 302
    return client


@pytest.mark.usefixtures("production_docs")
@pytest.mark.parametrize("url", ["/api/docs/", "/api/schema/"])
def test_production_docs_are_for_signed_in_staff_only(world: World, url: str) -> None:
    assert Client().get(url).status_code == 403  # anonymous
    patient = Client()
    patient.force_login(world.ann.user)
    assert patient.get(url).status_code == 403
    token = Client().post(
        "/api/v1/auth/token/", {"email": world.ann.user.email, "password": PASSWORD}, content_type="application/json"
    )
    assert Client().get(url, HTTP_AUTHORIZATION=f"Bearer {token.json()['access']}").status_code == 403

    device = TOTPDevice.objects.create(user=world.cora, name="phone", confirmed=True)
    cora = _session(world.cora.email)
    assert cora.get(url).status_code == 403  # the password alone is not enough
    code = f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"
    assert cora.post("/console/second-factor/", {"code": code}).status_code == 302
    response = cora.get(url)
    assert response.status_code == 200
    assert b"BoneSync API" in response.content
