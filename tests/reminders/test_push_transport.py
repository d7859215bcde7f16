"""The push transport port (backend/push.py) against fake providers replaced at the library boundary."""

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import requests
from push_notifications.models import APNSDevice, GCMDevice, WebPushDevice

from backend.push import DeliveryResult, PushMessage, send_to_devices
from tests.factories import UserFactory
from tests.reminders.conftest import FakeProvider, apns_token, fcm_token, webpush_endpoint

pytestmark = pytest.mark.django_db

MESSAGE = PushMessage(title="Time for your weekly medicine", body="Tap to record it.", data={"occurrence": "42"})


@pytest.fixture
def user() -> Any:
    return UserFactory.create()


def by_device(results: list[DeliveryResult]) -> dict[tuple[str, int], DeliveryResult]:
    return {(r.platform, r.device_id): r for r in results}


# --- FCM ------------------------------------------------------------------------------------------------------------


def test_fcm_sends_n_devices_in_one_batch_call(fake_fcm: FakeProvider, make_device: Any, user: Any) -> None:
    devices = [make_device(user, "fcm") for _ in range(3)]

    results = send_to_devices(devices, MESSAGE)

    assert fake_fcm.calls == [[d.registration_id for d in devices]]
    assert [r.device_id for r in results] == [d.pk for d in devices]
    assert all(r.outcome == "sent" and r.platform == "fcm" and r.provider_message_id for r in results)
    assert [(m.token, m.title, m.body, m.data) for m in fake_fcm.messages] == [
        (d.registration_id, MESSAGE.title, MESSAGE.body, MESSAGE.data) for d in devices
    ]


def test_fcm_chunks_of_500_per_send_each_call(fake_fcm: FakeProvider, user: Any) -> None:
    GCMDevice.objects.bulk_create(
        GCMDevice(user=user, registration_id=fcm_token(), cloud_message_type="FCM") for _ in range(1201)
    )
    devices = list(GCMDevice.objects.order_by("pk"))

    results = send_to_devices(devices, MESSAGE)

    assert [len(call) for call in fake_fcm.calls] == [500, 500, 201]
    assert [token for call in fake_fcm.calls for token in call] == [d.registration_id for d in devices]
    assert len(results) == 1201
    assert {r.outcome for r in results} == {"sent"}


def test_fcm_maps_each_answer_back_to_its_device(fake_fcm: FakeProvider, make_device: Any, user: Any) -> None:
    ok, dead, busy, refused = (make_device(user, "fcm") for _ in range(4))
    fake_fcm.unregister(dead.registration_id)
    fake_fcm.fail(busy.registration_id)
    fake_fcm.fail(refused.registration_id, transient=False)

    results = by_device(send_to_devices([ok, dead, busy, refused], MESSAGE))

    assert len(fake_fcm.calls) == 1
    assert results[("fcm", ok.pk)].outcome == "sent"
    assert results[("fcm", dead.pk)].outcome == "dead"
    assert "UnregisteredError" in results[("fcm", dead.pk)].error
    assert (results[("fcm", busy.pk)].outcome, results[("fcm", busy.pk)].transient) == ("failed", True)
    assert (results[("fcm", refused.pk)].outcome, results[("fcm", refused.pk)].transient) == ("failed", False)
    assert not results[("fcm", dead.pk)].provider_message_id
    active = dict(GCMDevice.objects.values_list("pk", "active"))
    assert active == {ok.pk: True, dead.pk: False, busy.pk: True, refused.pk: True}
    assert dead.active is False  # the caller's object says so too


def test_fcm_exception_for_the_whole_batch_fails_every_device_transiently(
    fake_fcm: FakeProvider, make_device: Any, user: Any
) -> None:
    devices = [make_device(user, "fcm") for _ in range(3)]
    fake_fcm.fail_batch(RuntimeError("connection reset by peer"))

    results = send_to_devices(devices, MESSAGE)

    assert len(fake_fcm.calls) == 1
    assert [(r.outcome, r.transient) for r in results] == [("failed", True)] * 3
    assert all("connection reset by peer" in r.error for r in results)
    assert GCMDevice.objects.filter(active=True).count() == 3


def test_fcm_without_credentials_fails_clearly_and_does_not_crash(
    no_fcm_app: None, make_device: Any, user: Any
) -> None:
    device = make_device(user, "fcm")

    [result] = send_to_devices([device], MESSAGE)

    assert (result.outcome, result.transient) == ("failed", False)
    assert result.error.startswith("FCM not configured")
    device.refresh_from_db()
    assert device.active


def test_fcm_bad_credentials_file_fails_clearly(
    no_fcm_app: None, settings: Any, tmp_path: Path, make_device: Any, user: Any
) -> None:
    settings.FIREBASE_CREDENTIALS = str(tmp_path / "missing.json")

    [result] = send_to_devices([make_device(user, "fcm")], MESSAGE)

    assert (result.outcome, result.transient) == ("failed", False)
    assert result.error.startswith("FCM not configured:")


def test_fcm_app_is_initialised_lazily_once_from_the_credentials_file(
    no_fcm_app: None, settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_device: Any, user: Any
) -> None:
    import firebase_admin
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from firebase_admin import messaging

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    account = tmp_path / "service-account.json"
    account.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "bonesync-test",
                "private_key_id": "fake",
                "private_key": pem,
                "client_email": "push@bonesync-test.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": "https://oauth2.googleapis.com/token",
            }
        )
    )
    settings.FIREBASE_CREDENTIALS = str(account)
    inits: list[Any] = []
    real_init = firebase_admin.initialize_app

    def initialize_app(*args: Any, **kwargs: Any) -> Any:
        inits.append(args)
        return real_init(*args, **kwargs)

    def send_each(messages: list[Any], dry_run: bool = False, app: Any = None) -> Any:
        return messaging.BatchResponse([messaging.SendResponse({"name": "m"}, None) for _ in messages])

    monkeypatch.setattr(firebase_admin, "initialize_app", initialize_app)
    monkeypatch.setattr(messaging, "send_each", send_each)
    device = make_device(user, "fcm")

    first = send_to_devices([device], MESSAGE)
    second = send_to_devices([device], MESSAGE)

    assert [r.outcome for r in first + second] == ["sent", "sent"]
    assert len(inits) == 1
    assert firebase_admin.get_app().project_id == "bonesync-test"


def test_inactive_and_repeated_devices(fake_fcm: FakeProvider, make_device: Any, user: Any) -> None:
    live = make_device(user, "fcm")
    gone = make_device(user, "fcm", active=False)

    results = send_to_devices([live, gone, live], MESSAGE)

    assert [(r.device_id, r.outcome) for r in results] == [(live.pk, "sent"), (gone.pk, "dead")]
    assert fake_fcm.calls == [[live.registration_id]]


# --- APNs -----------------------------------------------------------------------------------------------------------


def test_apns_sends_every_device_with_per_token_answers(fake_apns: FakeProvider, make_device: Any, user: Any) -> None:
    ok, dead, busy, refused = (make_device(user, "apns") for _ in range(4))
    fake_apns.unregister(dead.registration_id)
    fake_apns.fail(busy.registration_id)
    fake_apns.fail(refused.registration_id, transient=False)

    results = by_device(send_to_devices([ok, dead, busy, refused], MESSAGE))

    assert [(m.token, m.title, m.body, m.data) for m in fake_apns.messages] == [
        (d.registration_id, MESSAGE.title, MESSAGE.body, MESSAGE.data) for d in (ok, dead, busy, refused)
    ]
    assert results[("apns", ok.pk)].outcome == "sent"
    assert results[("apns", ok.pk)].provider_message_id
    assert (results[("apns", dead.pk)].outcome, results[("apns", dead.pk)].error) == ("dead", "410 Unregistered")
    assert (results[("apns", busy.pk)].outcome, results[("apns", busy.pk)].transient) == ("failed", True)
    assert (results[("apns", refused.pk)].outcome, results[("apns", refused.pk)].transient) == ("failed", False)
    active = dict(APNSDevice.objects.values_list("pk", "active"))
    assert active == {ok.pk: True, dead.pk: False, busy.pk: True, refused.pk: True}


def test_apns_client_failure_fails_the_batch_transiently(fake_apns: FakeProvider, make_device: Any, user: Any) -> None:
    devices = [make_device(user, "apns") for _ in range(2)]
    fake_apns.fail_batch(OSError("TLS handshake failed"))

    results = send_to_devices(devices, MESSAGE)

    assert [(r.outcome, r.transient) for r in results] == [("failed", True)] * 2
    assert all("TLS handshake failed" in r.error for r in results)


def test_apns_works_when_called_inside_a_running_event_loop(
    fake_apns: FakeProvider, make_device: Any, user: Any
) -> None:
    device = make_device(user, "apns")

    async def inside_loop() -> list[DeliveryResult]:
        return send_to_devices([device], MESSAGE)

    [result] = asyncio.run(inside_loop())

    assert result.outcome == "sent"


def test_apns_without_configuration_fails_clearly(make_device: Any, user: Any, monkeypatch: Any) -> None:
    from push_notifications.settings import PUSH_NOTIFICATIONS_SETTINGS

    monkeypatch.setitem(PUSH_NOTIFICATIONS_SETTINGS, "APNS_TOPIC", None)

    [result] = send_to_devices([make_device(user, "apns", token=apns_token())], MESSAGE)

    assert (result.outcome, result.transient) == ("failed", False)
    assert result.error.startswith("APNs not configured")


# --- WebPush --------------------------------------------------------------------------------------------------------


def test_webpush_answers_map_to_outcomes(fake_webpush: FakeProvider, make_device: Any, user: Any) -> None:
    ok, gone, busy, refused = (make_device(user, "webpush") for _ in range(4))
    fake_webpush.unregister(gone.registration_id)
    fake_webpush.fail(busy.registration_id)
    fake_webpush.fail(refused.registration_id, transient=False)

    results = by_device(send_to_devices([ok, gone, busy, refused], MESSAGE))

    assert [(m.token, m.title, m.body, m.data) for m in fake_webpush.messages] == [
        (d.registration_id, MESSAGE.title, MESSAGE.body, MESSAGE.data) for d in (ok, gone, busy, refused)
    ]
    assert results[("webpush", ok.pk)].outcome == "sent"
    assert results[("webpush", gone.pk)].outcome == "dead"
    assert (results[("webpush", busy.pk)].outcome, results[("webpush", busy.pk)].transient) == ("failed", True)
    assert (results[("webpush", refused.pk)].outcome, results[("webpush", refused.pk)].transient) == (
        "failed",
        False,
    )
    active = dict(WebPushDevice.objects.values_list("pk", "active"))
    assert active == {ok.pk: True, gone.pk: False, busy.pk: True, refused.pk: True}


def test_webpush_network_failure_is_transient(fake_webpush: FakeProvider, make_device: Any, user: Any) -> None:
    devices = [make_device(user, "webpush") for _ in range(2)]
    fake_webpush.fail_batch(requests.ConnectionError("connection refused"))

    results = send_to_devices(devices, MESSAGE)

    assert [(r.outcome, r.transient) for r in results] == [("failed", True)] * 2
    assert all("connection refused" in r.error for r in results)


def test_webpush_without_vapid_key_fails_clearly(make_device: Any, user: Any, monkeypatch: Any) -> None:
    from push_notifications.settings import PUSH_NOTIFICATIONS_SETTINGS

    monkeypatch.setitem(PUSH_NOTIFICATIONS_SETTINGS, "WP_PRIVATE_KEY", None)

    [result] = send_to_devices([make_device(user, "webpush", token=webpush_endpoint())], MESSAGE)

    assert (result.outcome, result.transient) == ("failed", False)
    assert result.error.startswith("WebPush not configured")


# --- all together ---------------------------------------------------------------------------------------------------


def test_mixed_platforms_one_call_per_provider_results_in_input_order(
    fake_fcm: FakeProvider, fake_apns: FakeProvider, fake_webpush: FakeProvider, make_device: Any, user: Any
) -> None:
    devices = [
        make_device(user, "webpush"),
        make_device(user, "fcm"),
        make_device(user, "apns"),
        make_device(user, "fcm"),
        make_device(user, "apns"),
    ]
    fake_apns.fail_batch(RuntimeError("APNs down"))

    results = send_to_devices(devices, MESSAGE)

    assert [(r.platform, r.device_id) for r in results] == [
        ("webpush", devices[0].pk),
        ("fcm", devices[1].pk),
        ("apns", devices[2].pk),
        ("fcm", devices[3].pk),
        ("apns", devices[4].pk),
    ]
    assert [r.outcome for r in results] == ["sent", "sent", "failed", "sent", "failed"]
    assert len(fake_fcm.calls) == 1
    assert len(fake_fcm.messages) == 2
    assert len(fake_webpush.delivered) == 1


def test_unsupported_device_type_is_reported_not_raised(fake_fcm: FakeProvider, make_device: Any, user: Any) -> None:
    from push_notifications.models import WNSDevice

    wns = WNSDevice.objects.create(user=user, registration_id="https://db5.notify.windows.com/?token=x")
    fcm = make_device(user, "fcm")

    results = send_to_devices([wns, fcm], MESSAGE)

    assert [(r.platform, r.outcome, r.transient) for r in results] == [
        ("WNSDevice", "failed", False),
        ("fcm", "sent", False),
    ]
