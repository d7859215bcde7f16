"""The API's sign-in asks staff for their second factor too (issue 12, finding 12, its sibling on the REST path): with
STAFF_MFA_REQUIRED a coordinator's bearer token reads what the console shows, so it is issued only with the code of
her authenticator app (`otp_token`). Patients are never asked; wrong codes lock the device as in the console."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from apps.accounts.models import User
from tests.conftest import World
from tests.factories import PASSWORD

TOKEN = "/api/v1/auth/token/"
NOON = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def mfa_on(settings) -> None:
    settings.STAFF_MFA_REQUIRED = True


def code_for(device: TOTPDevice) -> str:
    device.refresh_from_db()
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def wrong_code(device: TOTPDevice) -> str:
    valid = {f"{totp(device.bin_key, device.step, device.t0, device.digits, d):06d}" for d in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222") if c not in valid)


def sign_in(api: APIClient, user: User, **extra: str):
    return api.post(TOKEN, {"email": user.email, "password": PASSWORD, **extra}, format="json")


def test_patients_sign_in_with_their_password_alone(world: World, api: APIClient) -> None:
    assert sign_in(api, world.ann.user).status_code == 200


def test_staff_without_an_app_get_no_token(world: World, api: APIClient) -> None:
    response = sign_in(api, world.cora)
    assert response.status_code == 400
    assert "console first" in response.json()["error"]["fields"]["otp_token"][0]
    assert "access" not in response.json()


def test_staff_get_a_token_only_with_the_right_code(world: World, api: APIClient) -> None:
    device = TOTPDevice.objects.create(user=world.phil, name="phone", confirmed=True)
    with time_machine.travel(NOON, tick=False):
        missing = sign_in(api, world.phil)
        assert missing.status_code == 400 and "otp_token" in missing.json()["error"]["fields"]
        wrong = sign_in(api, world.phil, otp_token=wrong_code(device))
        assert wrong.status_code == 400 and "access" not in wrong.json()
        locked = sign_in(api, world.phil, otp_token=code_for(device))  # right, but within the lock of the wrong one
        assert locked.status_code == 429
        assert locked["Retry-After"] == "1"
    with time_machine.travel(NOON + timedelta(seconds=2), tick=False):
        ok = sign_in(api, world.phil, otp_token=code_for(device))
        assert ok.status_code == 200
        me = api.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {ok.json()['access']}")
        assert me.status_code == 200


def test_a_wrong_password_says_nothing_about_the_code(world: World, api: APIClient) -> None:
    TOTPDevice.objects.create(user=world.cora, name="phone", confirmed=True)
    response = api.post(TOKEN, {"email": world.cora.email, "password": "not-her-password"}, format="json")
    assert response.status_code == 401
    assert "otp" not in response.content.decode()


def test_development_asks_only_staff_who_set_up_an_app(world: World, api: APIClient, settings) -> None:
    settings.STAFF_MFA_REQUIRED = False
    assert sign_in(api, world.cora).status_code == 200
    TOTPDevice.objects.create(user=world.cody, name="phone", confirmed=True)
    assert sign_in(api, world.cody).status_code == 400
