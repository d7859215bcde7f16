"""POST/GET/DELETE /api/v1/devices/: push devices of the signed-in user (any role)."""

import threading
from typing import Any

import pytest
from django.db import connection
from django.urls import include, path
from push_notifications.models import APNSDevice, GCMDevice, WebPushDevice
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

import config.urls
from apps.reminders import api_devices
from apps.reminders.devices import device_register
from tests.conftest import World
from tests.factories import UserFactory
from tests.reminders.conftest import AUTH, P256DH, apns_token, fcm_token, webpush_endpoint

# Served here until apps/reminders/urls.py carries these routes (harmless afterwards: the same views either way).
urlpatterns = [
    path(
        "api/v1/",
        include(
            [
                path("devices/", api_devices.DeviceListView.as_view()),
                path("devices/<int:device_id>/", api_devices.DeviceDetailView.as_view()),
            ]
        ),
    ),
    *config.urls.urlpatterns,
]
handler404 = config.urls.handler404

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

URL = "/api/v1/devices/"


def detail(device: Any, platform: str | None) -> str:
    return f"{URL}{device.pk}/" + (f"?platform={platform}" if platform else "")


def device_count() -> int:
    return GCMDevice.objects.count() + APNSDevice.objects.count() + WebPushDevice.objects.count()


def webpush_body(**extra: Any) -> dict[str, Any]:
    return {
        "platform": "webpush",
        "registration_id": webpush_endpoint(),
        "p256dh": P256DH,
        "auth": AUTH,
        "browser": "firefox",
        **extra,
    }


@pytest.fixture
def ann(world: World, client_for: Any) -> Any:
    return client_for(world.ann.user)


@pytest.fixture
def bea(world: World, client_for: Any) -> Any:
    return client_for(world.bea.user)


# --- register ----------------------------------------------------------------------------------------------------


def test_register_fcm_device(world: World, ann: Any) -> None:
    token = fcm_token()

    response = ann.post(URL, {"platform": "fcm", "registration_id": token, "name": "Ann's Pixel"}, format="json")

    assert response.status_code == 201, response.json()
    device = GCMDevice.objects.get()
    assert response.json() == {
        "id": device.pk,
        "platform": "fcm",
        "registration_id": token,
        "name": "Ann's Pixel",
        "active": True,
        "created_at": response.json()["created_at"],
        "browser": None,
    }
    assert (device.user, device.cloud_message_type, device.active) == (world.ann.user, "FCM", True)


def test_register_apns_device_normalises_the_token(world: World, ann: Any) -> None:
    token = apns_token().upper()

    response = ann.post(URL, {"platform": "apns", "registration_id": token}, format="json")

    assert response.status_code == 201, response.json()
    assert APNSDevice.objects.get().registration_id == token.lower()
    assert response.json()["name"] == ""


def test_register_webpush_device_for_staff_browser(world: World, client_for: Any) -> None:
    body = webpush_body(name="Cora's desk")

    response = client_for(world.cora).post(URL, body, format="json")

    assert response.status_code == 201, response.json()
    device = WebPushDevice.objects.get()
    assert (device.user, device.registration_id, device.p256dh, device.auth, device.browser) == (
        world.cora,
        body["registration_id"],
        P256DH,
        AUTH,
        "FIREFOX",
    )
    assert response.json()["browser"] == "FIREFOX"


def test_re_registering_your_own_device_is_idempotent(world: World, ann: Any) -> None:
    token = fcm_token()
    first = ann.post(URL, {"platform": "fcm", "registration_id": token, "name": "Pixel"}, format="json")
    GCMDevice.objects.update(active=False)  # a provider said it was dead; the app registers it again

    again = ann.post(URL, {"platform": "fcm", "registration_id": token}, format="json")
    renamed = ann.post(URL, {"platform": "fcm", "registration_id": token, "name": "Pixel 9"}, format="json")

    assert (first.status_code, again.status_code, renamed.status_code) == (201, 200, 200)
    assert first.json()["id"] == again.json()["id"] == renamed.json()["id"]
    assert again.json()["name"] == "Pixel"
    assert again.json()["active"] is True
    assert renamed.json()["name"] == "Pixel 9"
    assert GCMDevice.objects.count() == 1


PHONE = "3f0c2a1e-7b7d-4c1e-9a55-6d2b8f0e4a11"  # the app installation's own id (a UUID it made once)
OTHER_PHONE = "b8e2d4c6-1a3f-4e5d-8c7b-9a0f1e2d3c4b"


def register_body(platform: str, token: str, **extra: Any) -> dict[str, Any]:
    if platform == "webpush":
        return webpush_body(registration_id=token, **extra)
    return {"platform": platform, "registration_id": token, **extra}


@pytest.mark.parametrize("platform", ["fcm", "apns", "webpush"])
def test_a_token_moves_to_another_account_of_the_same_installation(
    world: World, ann: Any, bea: Any, platform: str
) -> None:
    # Ann's phone registered with its device_id; Bea signs in on the same phone (same app, same device_id).
    first = ann.post(
        URL, register_body(platform, token := _token(platform), name="Ann's phone", device_id=PHONE), format="json"
    )
    assert first.status_code == 201, first.json()
    device = _device(platform, token)
    device.active = False  # a provider said it was dead meanwhile
    device.save(update_fields=["active"])

    response = bea.post(URL, register_body(platform, token, device_id=PHONE), format="json")

    assert response.status_code == 201, response.json()
    device.refresh_from_db()
    assert (device.user, device.active, device.name) == (world.bea.user, True, "")
    assert response.json()["id"] == device.pk
    assert "device_id" not in response.json()  # a proof, never shown back
    assert ann.get(URL).json() == []
    assert [d["id"] for d in bea.get(URL).json()] == [device.pk]
    assert device_count() == 1


@pytest.mark.parametrize("platform", ["fcm", "apns", "webpush"])
@pytest.mark.parametrize(
    ("ann_sent", "bea_sends"),
    [(PHONE, None), (PHONE, OTHER_PHONE), (None, PHONE), (None, None)],
    ids=["no_device_id", "another_device_id", "first_had_none", "neither_has_one"],
)
def test_knowing_someone_elses_token_does_not_take_it_over(
    world: World, ann: Any, bea: Any, platform: str, ann_sent: str | None, bea_sends: str | None
) -> None:
    token = _token(platform)
    extra = {"device_id": ann_sent} if ann_sent else {}
    assert ann.post(URL, register_body(platform, token, name="Ann's phone", **extra), format="json").status_code == 201
    before = list(ann.get(URL).json())

    attempt = register_body(platform, token, **({"device_id": bea_sends} if bea_sends else {}))
    response = bea.post(URL, attempt, format="json")

    assert response.status_code == 409, response.json()
    error = response.json()["error"]
    assert error["code"] == "conflict"
    assert set(error["fields"]) == {"registration_id"}
    for secret in ("ann", "Ann", str(world.ann.user.id), str(world.ann.id), str(before[0]["id"])):
        assert secret not in str(error)  # whose it is, is not said
    assert ann.get(URL).json() == before  # still hers, still active, name kept
    assert bea.get(URL).json() == []


def test_a_token_is_free_once_its_owner_signed_out_on_that_installation(world: World, ann: Any, bea: Any) -> None:
    token = fcm_token()
    assert (
        ann.post(URL, {"platform": "fcm", "registration_id": token, "device_id": PHONE}, format="json").status_code
        == 201
    )
    other = ann.post(URL, {"platform": "fcm", "registration_id": fcm_token(), "device_id": OTHER_PHONE}, format="json")
    assert other.status_code == 201  # her tablet

    refresh = str(RefreshToken.for_user(world.ann.user))
    signed_out = APIClient().post("/api/v1/auth/logout/", {"refresh": refresh, "device_id": PHONE}, format="json")
    assert signed_out.status_code == 204

    assert [d["id"] for d in ann.get(URL).json()] == [other.json()["id"]]  # the tablet still reminds her
    # Another app installation of Bea's (a new device_id, or none) may now register the token.
    response = bea.post(URL, {"platform": "fcm", "registration_id": token}, format="json")
    assert response.status_code == 201
    assert GCMDevice.objects.get(registration_id=token).user == world.bea.user


def test_signing_out_without_a_device_id_keeps_the_devices(world: World, ann: Any, bea: Any) -> None:
    token = fcm_token()
    assert (
        ann.post(URL, {"platform": "fcm", "registration_id": token, "device_id": PHONE}, format="json").status_code
        == 201
    )
    refresh = str(RefreshToken.for_user(world.ann.user))
    assert APIClient().post("/api/v1/auth/logout/", {"refresh": refresh}, format="json").status_code == 204
    assert len(ann.get(URL).json()) == 1
    assert bea.post(URL, {"platform": "fcm", "registration_id": token}, format="json").status_code == 409


@pytest.mark.parametrize("device_id", ["short", "x" * 129, "has space in it ok?", 123])
def test_a_malformed_device_id_is_refused(world: World, ann: Any, device_id: Any) -> None:
    response = ann.post(URL, {"platform": "fcm", "registration_id": fcm_token(), "device_id": device_id}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"device_id"}
    assert device_count() == 0


def _token(platform: str) -> str:
    return {"fcm": fcm_token, "apns": apns_token, "webpush": webpush_endpoint}[platform]()


def _device(platform: str, token: str) -> Any:
    model: Any = {"fcm": GCMDevice, "apns": APNSDevice, "webpush": WebPushDevice}[platform]
    return model.objects.get(registration_id=token)


@pytest.mark.parametrize("same_installation", [True, False])
def test_concurrent_registrations_of_one_new_id_create_one_device(
    transactional_db: None, same_installation: bool
) -> None:
    users = [UserFactory.create(), UserFactory.create()]
    token = fcm_token()
    barrier = threading.Barrier(2)
    outcomes: list[Any] = []
    ids = [PHONE, PHONE] if same_installation else [PHONE, OTHER_PHONE]

    def register(user: Any, device_id: str) -> None:
        try:
            barrier.wait()
            outcomes.append(device_register(user=user, platform="fcm", registration_id=token, device_id=device_id))
        except Exception as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=register, args=pair) for pair in zip(users, ids, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert GCMDevice.objects.filter(registration_id=token).count() == 1
    assert GCMDevice.objects.get().user in users
    if same_installation:  # the second moved it (the same phone, signed in twice)
        assert all(isinstance(o, tuple) for o in outcomes), outcomes
    else:  # the second is refused, nothing changed for the first
        assert sorted(type(o).__name__ for o in outcomes) == ["ConflictError", "tuple"], outcomes


def test_longest_accepted_fcm_token_is_stored(world: World, ann: Any) -> None:
    token = "A" * api_devices.FCM_TOKEN_MAX

    response = ann.post(URL, {"platform": "fcm", "registration_id": token}, format="json")

    assert response.status_code == 201
    assert GCMDevice.objects.get().registration_id == token


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://fcm.googleapis.com/fcm/send/abc:APA91b",
        "https://updates.push.services.mozilla.com/wpush/v2/gAAAAA",
        "https://wns2-par02p.notify.windows.com/w/?token=BQYAAA",
        "https://web.push.apple.com/QGx9",
    ],
)
def test_browser_push_services_are_accepted(world: World, ann: Any, endpoint: str) -> None:
    response = ann.post(URL, webpush_body(registration_id=endpoint), format="json")

    assert response.status_code == 201, response.json()


def test_push_service_hosts_come_from_settings(world: World, ann: Any, settings: Any) -> None:
    settings.WEBPUSH_ALLOWED_HOST_SUFFIXES = ["push.example.org"]

    allowed = ann.post(URL, webpush_body(registration_id="https://push.example.org/sub/1"), format="json")
    refused = ann.post(URL, webpush_body(registration_id="https://fcm.googleapis.com/fcm/send/1"), format="json")

    assert (allowed.status_code, refused.status_code) == (201, 400)


def test_longest_accepted_webpush_endpoint_is_stored(world: World, ann: Any) -> None:
    prefix = "https://updates.push.services.mozilla.com/wpush/v2/"
    endpoint = prefix + "e" * (api_devices.WEBPUSH_ENDPOINT_MAX - len(prefix))

    response = ann.post(URL, webpush_body(registration_id=endpoint), format="json")

    assert response.status_code == 201, response.json()


# --- bad input ---------------------------------------------------------------------------------------------------

BAD_BODIES = {
    "unknown platform": ({"platform": "sms", "registration_id": "x"}, "platform"),
    "no platform": ({"registration_id": "x"}, "platform"),
    "no registration id": ({"platform": "fcm"}, "registration_id"),
    "empty registration id": ({"platform": "fcm", "registration_id": ""}, "registration_id"),
    "null registration id": ({"platform": "fcm", "registration_id": None}, "registration_id"),
    "registration id not a string": ({"platform": "fcm", "registration_id": ["a"]}, "registration_id"),
    "fcm token too long": ({"platform": "fcm", "registration_id": "A" * 2049}, "registration_id"),
    "fcm token of 4097": ({"platform": "fcm", "registration_id": "A" * 4097}, "registration_id"),
    "fcm token with a space": ({"platform": "fcm", "registration_id": "abc def"}, "registration_id"),
    "fcm token not ascii": ({"platform": "fcm", "registration_id": "jeton-é"}, "registration_id"),
    "fcm token with NUL": ({"platform": "fcm", "registration_id": "abc\x00def"}, "registration_id"),
    "apns token too short": ({"platform": "apns", "registration_id": "a" * 63}, "registration_id"),
    "apns token too long": ({"platform": "apns", "registration_id": "a" * 65}, "registration_id"),
    "apns token not hex": ({"platform": "apns", "registration_id": "g" * 64}, "registration_id"),
    "webpush endpoint http": (webpush_body(registration_id="http://fcm.googleapis.com/x"), "registration_id"),
    "webpush endpoint not a url": (webpush_body(registration_id="not a url"), "registration_id"),
    "webpush endpoint too long": (
        webpush_body(registration_id="https://fcm.googleapis.com/fcm/send/" + "e" * 2020),
        "registration_id",
    ),
    "webpush endpoint not ascii": (webpush_body(registration_id="https://fcm.googleapis.com/é"), "registration_id"),
    "webpush endpoint on another host": (webpush_body(registration_id="https://push.example.org/x"), "registration_id"),
    "webpush endpoint internal": (webpush_body(registration_id="https://169.254.169.254/latest"), "registration_id"),
    "webpush endpoint lookalike host": (
        webpush_body(registration_id="https://evilfcm.googleapis.com.example.org/x"),
        "registration_id",
    ),
    "webpush without p256dh": ({**webpush_body(), "p256dh": None}, "p256dh"),
    "webpush missing p256dh": ({k: v for k, v in webpush_body().items() if k != "p256dh"}, "p256dh"),
    "webpush missing auth": ({k: v for k, v in webpush_body().items() if k != "auth"}, "auth"),
    "webpush missing browser": ({k: v for k, v in webpush_body().items() if k != "browser"}, "browser"),
    "webpush bad p256dh": (webpush_body(p256dh="not-a-key"), "p256dh"),
    "webpush bad auth": (webpush_body(auth="AAAA"), "auth"),
    "webpush unknown browser": (webpush_body(browser="lynx"), "browser"),
    "p256dh on fcm": ({"platform": "fcm", "registration_id": "tok", "p256dh": P256DH}, "p256dh"),
    "browser on apns": ({"platform": "apns", "registration_id": "a" * 64, "browser": "SAFARI"}, "browser"),
    "name too long": ({"platform": "fcm", "registration_id": "tok", "name": "n" * 256}, "name"),
    "unknown field": ({"platform": "fcm", "registration_id": "tok", "user": 1}, "user"),
    "read-only looking field": ({"platform": "fcm", "registration_id": "tok", "active": False}, "active"),
}


@pytest.mark.parametrize(("body", "field"), BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_bad_input_is_refused_whole(world: World, ann: Any, body: dict[str, Any], field: str) -> None:
    response = ann.post(URL, body, format="json")

    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"], error
    assert device_count() == 0


def test_body_that_is_not_an_object_is_refused(world: World, ann: Any) -> None:
    response = ann.post(URL, ["fcm", "token"], format="json")

    assert response.status_code == 400
    assert device_count() == 0


def test_signed_out_users_cannot_register(world: World, api: Any) -> None:
    response = api.post(URL, {"platform": "fcm", "registration_id": fcm_token()}, format="json")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert device_count() == 0


# --- list --------------------------------------------------------------------------------------------------------


def test_list_shows_only_your_own_devices_on_every_platform(world: World, ann: Any, make_device: Any) -> None:
    mine = [
        make_device(world.ann.user, "fcm"),
        make_device(world.ann.user, "apns"),
        make_device(world.ann.user, "webpush"),
        make_device(world.ann.user, "fcm", active=False),
    ]
    make_device(world.bea.user, "fcm")
    make_device(world.cora, "webpush")
    make_device(None, "apns")

    response = ann.get(URL)

    assert response.status_code == 200
    rows = response.json()
    assert sorted((r["platform"], r["id"]) for r in rows) == sorted(
        (p, d.pk) for p, d in zip(["fcm", "apns", "webpush", "fcm"], mine, strict=True)
    )
    assert {r["registration_id"] for r in rows} == {d.registration_id for d in mine}
    assert [r["active"] for r in rows].count(False) == 1
    webpush_row = next(r for r in rows if r["platform"] == "webpush")
    assert webpush_row["browser"] == "CHROME"
    assert "p256dh" not in webpush_row
    assert "auth" not in webpush_row


# --- delete ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("platform", ["fcm", "apns", "webpush"])
def test_delete_your_device_by_id(world: World, ann: Any, make_device: Any, platform: str) -> None:
    device = make_device(world.ann.user, platform)
    other_platform = make_device(world.ann.user, "fcm" if platform != "fcm" else "apns")

    response = ann.delete(detail(device, platform))

    assert response.status_code == 204
    assert not type(device).objects.filter(pk=device.pk).exists()
    assert type(other_platform).objects.filter(pk=other_platform.pk).exists()


@pytest.mark.parametrize("platform", ["fcm", "apns", "webpush"])
def test_delete_your_device_by_registration_id(world: World, ann: Any, make_device: Any, platform: str) -> None:
    device = make_device(world.ann.user, platform)
    token = device.registration_id.upper() if platform == "apns" else device.registration_id

    response = ann.delete(URL, {"platform": platform, "registration_id": token}, format="json")

    assert response.status_code == 204
    assert device_count() == 0


def test_another_user_cannot_see_or_delete_my_device(world: World, ann: Any, bea: Any, make_device: Any) -> None:
    mine = make_device(world.ann.user, "fcm")

    listed = bea.get(URL)
    by_id = bea.delete(detail(mine, "fcm"))
    by_token = bea.delete(URL, {"platform": "fcm", "registration_id": mine.registration_id}, format="json")

    assert listed.json() == []
    assert by_id.status_code == 404
    assert by_id.json()["error"]["code"] == "not_found"
    assert by_token.status_code == 404
    assert GCMDevice.objects.filter(pk=mine.pk, user=world.ann.user).exists()
    assert [d["id"] for d in ann.get(URL).json()] == [mine.pk]


def test_staff_cannot_delete_a_patients_device(world: World, client_for: Any, make_device: Any) -> None:
    device = make_device(world.ann.user, "apns")

    response = client_for(world.admin).delete(detail(device, "apns"))

    assert response.status_code == 404
    assert APNSDevice.objects.filter(pk=device.pk).exists()


def test_delete_by_id_needs_the_right_platform(world: World, ann: Any, make_device: Any) -> None:
    device = make_device(world.ann.user, "fcm")

    missing = ann.delete(detail(device, None))
    unknown = ann.delete(detail(device, "sms"))
    wrong = ann.delete(detail(device, "webpush"))

    assert missing.status_code == 400
    assert "platform" in missing.json()["error"]["fields"]
    assert unknown.status_code == 400
    assert "platform" in unknown.json()["error"]["fields"]
    assert wrong.status_code == 404
    assert GCMDevice.objects.filter(pk=device.pk).exists()


@pytest.mark.parametrize("device_id", ["0", "2147483648", "9" * 30])
def test_delete_of_impossible_ids_is_not_found(world: World, ann: Any, device_id: str) -> None:
    response = ann.delete(f"{URL}{device_id}/?platform=fcm")

    assert response.status_code == 404


def test_delete_by_registration_id_refuses_bad_input(world: World, ann: Any, make_device: Any) -> None:
    make_device(world.ann.user, "fcm")

    unknown_platform = ann.delete(URL, {"platform": "sms", "registration_id": "x"}, format="json")
    unknown_field = ann.delete(URL, {"platform": "fcm", "registration_id": "x", "id": 1}, format="json")
    empty = ann.delete(URL, {}, format="json")

    assert unknown_platform.status_code == 400
    assert "platform" in unknown_platform.json()["error"]["fields"]
    assert unknown_field.status_code == 400
    assert "id" in unknown_field.json()["error"]["fields"]
    assert empty.status_code == 400
    assert set(empty.json()["error"]["fields"]) == {"platform", "registration_id"}
    assert device_count() == 1
