"""The staff second factor (issue 12, finding 12): with STAFF_MFA_REQUIRED (production's default) staff who can read
patient data give a TOTP code after their password, in the console and in the admin. Staff without a device are led
to enrol an authenticator app (QR code and key on a page of this server), then verify; until then every other console
page sends them there. Wrong codes leave the session unverified and lock the device for a while (django-otp's
throttling). The mobile API is not concerned. In development and the demo (setting off) only staff who enrolled a
device are asked."""

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import pytest
import time_machine
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.accounts import mfa
from apps.accounts.models import User
from tests.conftest import World
from tests.factories import PASSWORD

ENROL = "/console/second-factor/enrol/"
VERIFY = "/console/second-factor/"
NOON = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def mfa_on(settings) -> None:
    settings.STAFF_MFA_REQUIRED = True


def code_for(device: TOTPDevice, *, offset_steps: int = 0) -> str:
    """The code the authenticator app shows now (the same key, step and clock as the device)."""
    device.refresh_from_db()
    return (
        f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift + offset_steps):0{device.digits}d}"
    )


def wrong_code(device: TOTPDevice) -> str:
    """A code the device refuses now: none of the codes of the steps it tolerates (now, one before, one after)."""
    valid = {code_for(device, offset_steps=s) for s in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222") if c not in valid)


def enrolled(user: User) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def signed_in(user: User) -> Client:
    """Password only: a real sign-in through the console's form (a new session, no code given yet)."""
    client = Client()
    response = client.post("/console/login/", {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content[:300]
    return client


@pytest.mark.usefixtures("mfa_on")
@pytest.mark.parametrize(
    ("who", "url"), [("cora", "/console/worklist/"), ("phil", "/console/reviews/"), ("admin", "/console/patients/")]
)
def test_staff_without_a_device_are_sent_to_enrol(world: World, who: str, url: str) -> None:
    client = signed_in(getattr(world, who))
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{ENROL}?next={url}"
    enrol = client.get(response["Location"])
    assert enrol.status_code == 200
    html = enrol.content.decode()
    device = TOTPDevice.objects.get(user=getattr(world, who), confirmed=False)
    # The QR code is drawn in the page (the console's CSP loads nothing from elsewhere), and the key is spelled out.
    assert re.search(r"<svg[^>]*>.*<path", html, re.S)
    assert mfa.secret_text(device) in html
    assert mfa.secret_text(device).replace(" ", "") in unquote(device.config_url)  # the key the QR code carries
    assert "http://" not in html and "https://" not in html and "<img" not in html
    assert "default-src 'self'" in enrol["Content-Security-Policy"] and enrol["Cache-Control"] == "no-store"
    assert 'href="/console/worklist/"' not in html  # no console navigation until the code is given
    assert not device.confirmed


@pytest.mark.usefixtures("mfa_on")
def test_a_wrong_code_leaves_the_session_unverified(world: World) -> None:
    client = signed_in(world.cora)
    client.get(ENROL)
    device = TOTPDevice.objects.get(user=world.cora)
    response = client.post(ENROL, {"code": wrong_code(device), "next": "/console/worklist/"})
    assert response.status_code == 400
    assert "That code is not right" in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    assert client.get("/console/worklist/")["Location"].startswith(ENROL)


@pytest.mark.usefixtures("mfa_on")
def test_the_right_code_confirms_the_app_and_opens_the_worklist(world: World) -> None:
    client = signed_in(world.cora)
    session_before = client.cookies["sessionid"].value
    assert client.get(f"{ENROL}?next=/console/worklist/").status_code == 200
    device = TOTPDevice.objects.get(user=world.cora)
    response = client.post(f"{ENROL}?next=/console/worklist/", {"code": code_for(device), "next": "/console/worklist/"})
    assert response.status_code == 302
    assert response["Location"] == "/console/worklist/"
    assert client.get("/console/worklist/").status_code == 200
    device.refresh_from_db()
    assert device.confirmed
    assert client.cookies["sessionid"].value != session_before  # the verified session is a new one
    # Once verified, the enrol and verify pages just send her on.
    assert client.get(ENROL)["Location"] == "/console/"


@pytest.mark.usefixtures("mfa_on")
def test_next_never_leads_out_of_the_console(world: World) -> None:
    device = enrolled(world.cora)
    client = signed_in(world.cora)
    response = client.post(VERIFY, {"code": code_for(device), "next": "https://evil.example/console/"})
    assert response["Location"] == "/console/"


@pytest.mark.usefixtures("mfa_on")
def test_enrolled_staff_give_their_code_at_each_sign_in(world: World) -> None:
    device = enrolled(world.cora)
    client = signed_in(world.cora)
    response = client.get("/console/worklist/")
    assert response["Location"] == f"{VERIFY}?next=/console/worklist/"
    with time_machine.travel(NOON, tick=False):
        assert client.post(VERIFY, {"code": wrong_code(device)}).status_code == 400
        assert client.get("/console/worklist/").status_code == 302
    with time_machine.travel(NOON + timedelta(seconds=5), tick=False):  # past the 1 s lock of one wrong code
        response = client.post(VERIFY, {"code": code_for(device), "next": "/console/worklist/"})
        assert response["Location"] == "/console/worklist/"
        assert client.get("/console/worklist/").status_code == 200


@pytest.mark.usefixtures("mfa_on")
def test_an_enrolled_user_cannot_enrol_another_app_with_the_password_alone(world: World) -> None:
    device = enrolled(world.cora)
    client = signed_in(world.cora)
    response = client.get(ENROL)
    assert response["Location"].startswith(VERIFY)
    response = client.post(ENROL, {"code": "123456"})
    assert response["Location"].startswith(VERIFY)
    assert list(TOTPDevice.objects.filter(user=world.cora)) == [device]


@pytest.mark.usefixtures("mfa_on")
def test_wrong_codes_lock_the_device_for_a_while(world: World) -> None:
    """Guessing is slowed down: after each wrong code even the right one is refused for 1, 2, 4 ... seconds."""
    device = enrolled(world.cora)
    client = signed_in(world.cora)
    with time_machine.travel(NOON, tick=False):
        assert client.post(VERIFY, {"code": wrong_code(device)}).status_code == 400
        assert client.post(VERIFY, {"code": wrong_code(device)}).status_code == 429  # locked: not even checked
    with time_machine.travel(NOON + timedelta(seconds=2), tick=False):
        assert client.post(VERIFY, {"code": wrong_code(device)}).status_code == 400
    with time_machine.travel(NOON + timedelta(seconds=3), tick=False):  # 2 wrong in a row: locked 2 s
        response = client.post(VERIFY, {"code": code_for(device)})
        assert response.status_code == 429
        assert response["Retry-After"] == "1"
        assert "Too many wrong codes" in response.content.decode()
        assert client.get("/console/worklist/").status_code == 302  # still unverified
    with time_machine.travel(NOON + timedelta(seconds=4), tick=False):
        assert client.post(VERIFY, {"code": code_for(device)}).status_code == 302
        assert client.get("/console/worklist/").status_code == 200


@pytest.mark.usefixtures("mfa_on")
def test_patients_are_still_refused_and_never_asked_for_a_code(world: World) -> None:
    client = Client()
    client.force_login(world.ann.user)
    assert client.get(ENROL).status_code == 403
    assert client.get("/console/worklist/").status_code == 403


@pytest.mark.usefixtures("mfa_on")
def test_the_admin_refuses_a_session_without_the_code(world: World) -> None:
    device = enrolled(world.admin)
    client = Client()
    client.force_login(world.admin)  # the password, nothing more
    response = client.get("/admin/accounts/patient/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    # Its own sign-in: the password alone is refused, with the code it signs in.
    fresh = Client()
    refused = fresh.post("/admin/login/", {"username": world.admin.email, "password": PASSWORD, "next": "/admin/"})
    assert refused.status_code == 200  # the form again
    assert fresh.get("/admin/").status_code == 302
    ok = fresh.post(
        "/admin/login/",
        {"username": world.admin.email, "password": PASSWORD, "otp_token": code_for(device), "next": "/admin/"},
    )
    assert ok.status_code == 302
    assert fresh.get("/admin/accounts/patient/").status_code == 200


@pytest.mark.usefixtures("mfa_on")
def test_a_session_verified_in_the_console_opens_the_admin(world: World) -> None:
    device = enrolled(world.admin)
    client = signed_in(world.admin)
    assert client.get("/admin/").status_code == 302
    assert client.post(VERIFY, {"code": code_for(device)}).status_code == 302
    assert client.get("/admin/").status_code == 200


@pytest.mark.usefixtures("mfa_on")
def test_the_mobile_api_is_unaffected(world: World) -> None:
    client = Client()
    token = client.post(
        "/api/v1/auth/token/", {"email": world.ann.user.email, "password": PASSWORD}, content_type="application/json"
    )
    assert token.status_code == 200
    me = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {token.json()['access']}")
    assert me.status_code == 200


def test_development_asks_only_staff_who_enrolled(world: World, settings) -> None:
    settings.STAFF_MFA_REQUIRED = False
    assert signed_in(world.cody).get("/console/worklist/").status_code == 200  # the demo as before
    device = enrolled(world.cora)  # she opted in: her code is asked
    client = signed_in(world.cora)
    assert client.get("/console/worklist/")["Location"] == f"{VERIFY}?next=/console/worklist/"
    assert client.post(VERIFY, {"code": code_for(device)}).status_code == 302
    assert client.get("/console/worklist/").status_code == 200


@pytest.mark.usefixtures("mfa_on")
def test_a_lost_phone_an_admin_removes_the_device_and_she_sets_up_a_new_one(world: World) -> None:
    lost = enrolled(world.cora)
    admin_device = enrolled(world.admin)
    admin = signed_in(world.admin)
    assert admin.post(VERIFY, {"code": code_for(admin_device)}).status_code == 302
    assert admin.get(f"/admin/otp_totp/totpdevice/{lost.pk}/change/").status_code == 200
    assert admin.post(f"/admin/otp_totp/totpdevice/{lost.pk}/delete/", {"post": "yes"}).status_code == 302
    assert signed_in(world.cora).get("/console/worklist/")["Location"] == f"{ENROL}?next=/console/worklist/"
