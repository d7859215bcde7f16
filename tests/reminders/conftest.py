"""Fake push providers, replaced at the library boundary, and a device factory.

`fake_fcm` replaces `firebase_admin.messaging.send_each`, `fake_apns` the aioapns client (`aioapns.APNs`), and
`fake_webpush` pywebpush's `webpush` (as django-push-notifications' webpush module imported it). Everything between
our code and those calls (django-push-notifications' gcm/apns_async/webpush modules, its deactivation of dead
tokens) runs for real. Each fixture also supplies the provider configuration it needs, undone after the test.

Each fake records every message it is handed in `.messages` (a `SentPush` per device, in order; `.delivered`
keeps the accepted ones) and every provider call in `.calls` (the tokens of one batch call). Configure answers per
token before sending:

    fake_fcm.unregister(token)              # "unregistered"/"BadDeviceToken"/410: the token is dead
    fake_fcm.fail(token)                    # transient failure (UNAVAILABLE / 503)
    fake_fcm.fail(token, transient=False)   # permanent failure
    fake_fcm.fail_batch(RuntimeError("x"))  # every provider call raises (APNs: client creation; WebPush: each POST)

The fakes are thread-safe and patch process-wide attributes, so a Celery worker started in this process (e.g.
`celery.contrib.testing.worker.start_worker`) goes through them too; a worker in another process does not.
"""

import base64
import contextlib
import itertools
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from push_notifications.models import APNSDevice, GCMDevice, WebPushDevice

from apps.accounts.models import User

_numbers = itertools.count(1)


@dataclass
class SentPush:
    platform: str
    token: str
    title: str
    body: str
    data: dict[str, str]
    answer: str = "sent"  # sent | dead | transient | permanent


@dataclass
class FakeProvider:
    platform: str
    messages: list[SentPush] = field(default_factory=list)
    calls: list[list[str]] = field(default_factory=list)
    dead: set[str] = field(default_factory=set)
    failures: dict[str, bool] = field(default_factory=dict)  # token -> transient?
    batch_error: BaseException | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def unregister(self, *tokens: str) -> None:
        self.dead.update(tokens)

    def fail(self, *tokens: str, transient: bool = True) -> None:
        for token in tokens:
            self.failures[token] = transient

    def fail_batch(self, error: BaseException | None = None) -> None:
        self.batch_error = error or ConnectionError("provider unreachable")

    def reset(self) -> None:
        with self._lock:
            self.messages.clear()
            self.calls.clear()
        self.dead.clear()
        self.failures.clear()
        self.batch_error = None

    @property
    def delivered(self) -> list[SentPush]:
        return [m for m in self.messages if m.answer == "sent"]

    def answer(self, token: str) -> str:
        if token in self.dead:
            return "dead"
        if token in self.failures:
            return "transient" if self.failures[token] else "permanent"
        return "sent"

    def record(self, token: str, title: str, body: str, data: dict[str, str]) -> SentPush:
        push = SentPush(self.platform, token, title, body, dict(data), self.answer(token))
        with self._lock:
            self.messages.append(push)
        return push

    def record_call(self, tokens: list[str]) -> None:
        with self._lock:
            self.calls.append(tokens)


@pytest.fixture
def fake_fcm(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProvider]:
    import firebase_admin
    from firebase_admin import credentials, exceptions, messaging

    fake = FakeProvider("fcm")

    def send_each(messages: list[Any], dry_run: bool = False, app: Any = None) -> Any:
        if len(messages) > 500:
            raise ValueError("messages must not contain more than 500 elements.")
        fake.record_call([m.token for m in messages])
        if fake.batch_error is not None:
            raise fake.batch_error
        responses = []
        for m in messages:
            note = m.notification
            push = fake.record(m.token, note.title if note else "", note.body if note else "", m.data or {})
            if push.answer == "sent":
                responses.append(messaging.SendResponse({"name": f"projects/fake/messages/{next(_numbers)}"}, None))
            elif push.answer == "dead":
                error = messaging.UnregisteredError("Requested entity was not found.")
                responses.append(messaging.SendResponse(None, error))
            elif push.answer == "transient":
                responses.append(messaging.SendResponse(None, exceptions.UnavailableError("Service unavailable.")))
            else:
                responses.append(messaging.SendResponse(None, messaging.ThirdPartyAuthError("APNs auth rejected.")))
        return messaging.BatchResponse(responses)

    monkeypatch.setattr(messaging, "send_each", send_each)

    class Credential(credentials.Base):
        """Stands in for a service account: the default Firebase app exists; nothing asks it for a token."""

        def get_credential(self) -> Any:
            raise AssertionError("the fake FCM never authenticates")

    created = None
    try:
        firebase_admin.get_app()
    except ValueError:
        created = firebase_admin.initialize_app(Credential(), options={"projectId": "bonesync-test"})
    yield fake
    if created is not None:
        firebase_admin.delete_app(created)


@pytest.fixture
def no_fcm_app(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[None]:
    """No Firebase app and no credentials: FCM is unconfigured, as in a fresh dev run."""
    import firebase_admin

    settings.FIREBASE_CREDENTIALS = ""
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    try:
        existing = firebase_admin.get_app()
    except ValueError:
        existing = None
    if existing is not None:
        firebase_admin.delete_app(existing)
    yield
    with contextlib.suppress(ValueError):
        firebase_admin.delete_app(firebase_admin.get_app())


@pytest.fixture
def fake_apns(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeProvider:
    import aioapns
    from aioapns.common import NotificationResult
    from push_notifications.settings import PUSH_NOTIFICATIONS_SETTINGS

    fake = FakeProvider("apns")
    key_file = tmp_path / "AuthKey_FAKE.p8"
    key_file.write_text("not a real key: the fake client never signs anything\n")
    for key, value in {
        "APNS_AUTH_KEY_PATH": str(key_file),
        "APNS_AUTH_KEY_ID": "FAKEKEY123",
        "APNS_TEAM_ID": "FAKETEAM12",
        "APNS_TOPIC": "org.bonesync.test",
    }.items():
        monkeypatch.setitem(PUSH_NOTIFICATIONS_SETTINGS, key, value)

    def init(self: Any, *args: Any, err_func: Any = None, **kwargs: Any) -> None:
        if fake.batch_error is not None:
            raise fake.batch_error
        self.err_func = err_func
        self.topic = kwargs.get("topic")

    answers = {
        "dead": ("410", "Unregistered"),
        "transient": ("503", "ServiceUnavailable"),
        "permanent": ("400", "PayloadTooLarge"),
    }

    async def send_notification(self: Any, request: Any) -> Any:
        fake.record_call([request.device_token])
        message = dict(request.message)
        alert = message.pop("aps", {}).get("alert") or {}
        push = fake.record(request.device_token, alert.get("title", ""), alert.get("body", ""), message)
        if push.answer == "sent":
            return NotificationResult(request.notification_id, "200")
        status, reason = answers[push.answer]
        result = NotificationResult(request.notification_id, status, reason)
        if self.err_func is not None:
            await self.err_func(request, result)
        return result

    monkeypatch.setattr(aioapns.APNs, "__init__", init)
    monkeypatch.setattr(aioapns.APNs, "send_notification", send_notification)
    return fake


@pytest.fixture
def fake_webpush(monkeypatch: pytest.MonkeyPatch) -> FakeProvider:
    import pywebpush  # type: ignore[import-untyped]
    from push_notifications import webpush as pn_webpush
    from push_notifications.settings import PUSH_NOTIFICATIONS_SETTINGS

    fake = FakeProvider("webpush")
    monkeypatch.setitem(PUSH_NOTIFICATIONS_SETTINGS, "WP_PRIVATE_KEY", "fake-vapid-private-key")
    monkeypatch.setitem(PUSH_NOTIFICATIONS_SETTINGS, "WP_CLAIMS", {"sub": "mailto:push@example.org"})
    statuses = {"sent": (201, "Created"), "dead": (410, "Gone"), "transient": (503, "Service Unavailable")}

    def webpush(subscription_info: dict[str, Any], data: str | None = None, **kwargs: Any) -> requests.Response:
        endpoint = subscription_info["endpoint"]
        fake.record_call([endpoint])
        if fake.batch_error is not None:
            raise fake.batch_error
        payload = json.loads(data or "{}")
        push = fake.record(endpoint, payload.get("title", ""), payload.get("body", ""), payload.get("data", {}))
        response = requests.Response()
        response.status_code, response.reason = statuses.get(push.answer, (413, "Payload Too Large"))
        if push.answer == "sent":
            return response
        raise pywebpush.WebPushException(
            f"Push failed: {response.status_code} {response.reason}\nResponse body:", response=response
        )

    monkeypatch.setattr(pywebpush, "webpush", webpush)
    monkeypatch.setattr(pn_webpush, "webpush", webpush)
    return fake


# --- devices -------------------------------------------------------------------------------------------------------


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


P256DH = b64url(b"\x04" + bytes(range(64)))  # the shape of an uncompressed P-256 public key
AUTH = b64url(bytes(range(16)))


def fcm_token(n: int | None = None) -> str:
    return f"fcm-token-{n if n is not None else next(_numbers)}:APA91b" + "x" * 140


def apns_token(n: int | None = None) -> str:
    return f"{n if n is not None else next(_numbers):064x}"


def webpush_endpoint(n: int | None = None) -> str:
    return f"https://fcm.googleapis.com/fcm/send/sub-{n if n is not None else next(_numbers)}"


@pytest.fixture
def make_device(db: None) -> Callable[..., Any]:
    """make_device(user, "fcm"|"apns"|"webpush", token=None, active=True): a saved device with a unique token."""

    def make(user: User | None, platform: str, token: str | None = None, active: bool = True, name: str = "") -> Any:
        if platform == "fcm":
            return GCMDevice.objects.create(
                user=user, registration_id=token or fcm_token(), cloud_message_type="FCM", active=active, name=name
            )
        if platform == "apns":
            return APNSDevice.objects.create(user=user, registration_id=token or apns_token(), active=active, name=name)
        return WebPushDevice.objects.create(
            user=user,
            registration_id=token or webpush_endpoint(),
            p256dh=P256DH,
            auth=AUTH,
            browser="CHROME",
            active=active,
            name=name,
        )

    return make
