"""The push transport port: send one message to many devices through the providers' batch calls.

Knows nothing of medicine: callers decide the words (and keep drug names out of them unless the patient opted in).
Devices are django-push-notifications' models: `GCMDevice` (FCM), `APNSDevice` (APNs), `WebPushDevice` (WebPush).

`send_to_devices` never raises for a device's or a provider's failure: every device given gets one `DeliveryResult`,
in the order given, so that the caller can write down what was sent and what failed:

- ``sent``: the provider accepted the message (``provider_message_id`` when the provider gives one);
- ``dead``: the provider says the token is gone (FCM unregistered/sender mismatch/invalid argument, APNs
  Unregistered/BadDeviceToken/DeviceTokenNotForTopic, WebPush 404/410) or the device was already inactive; the
  device is deactivated (``active=False``) and must not be retried;
- ``failed``: ``transient=True`` when a retry later may succeed (provider unavailable, internal error, quota,
  timeout, network, an exception for the whole batch), ``transient=False`` when it will not (provider not
  configured, message refused, credentials rejected).

Provider configuration is read from django-push-notifications' settings (APNs, WebPush) and from
``settings.FIREBASE_CREDENTIALS`` (a service-account JSON path; else ``GOOGLE_APPLICATION_CREDENTIALS``); an
unconfigured provider fails its devices with "<provider> not configured" (transient=False) instead of crashing.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from django.conf import settings

if TYPE_CHECKING:
    from push_notifications.models import APNSDevice, Device, GCMDevice, WebPushDevice

    PushDevice = GCMDevice | APNSDevice | WebPushDevice
    PushDeviceModel = type[GCMDevice] | type[APNSDevice] | type[WebPushDevice]

logger = logging.getLogger(__name__)

Platform = Literal["fcm", "apns", "webpush"]
Outcome = Literal["sent", "failed", "dead"]
PLATFORMS: tuple[Platform, ...] = ("fcm", "apns", "webpush")

FCM_BATCH_SIZE = 500  # firebase_admin.messaging.send_each refuses more than 500 messages per call
APNS_BATCH_SIZE = 100  # django-push-notifications gives each APNs request 1 s, queueing for a connection included
DEFAULT_TTL_SECONDS = 3600

# Provider answers (FirebaseError.code) after which a later retry may succeed.
FCM_TRANSIENT_CODES = frozenset(
    {"UNAVAILABLE", "INTERNAL", "RESOURCE_EXHAUSTED", "DEADLINE_EXCEEDED", "UNKNOWN", "ABORTED", "CANCELLED"}
)
# APNs reasons after which django-push-notifications deactivates the device (apns_async.apns_send_bulk_message).
APNS_DEAD_REASONS = frozenset({"Unregistered", "BadDeviceToken", "DeviceTokenNotForTopic"})
APNS_TRANSIENT_REASONS = frozenset(
    {
        "TooManyRequests",
        "InternalServerError",
        "ServiceUnavailable",
        "Shutdown",
        "IdleTimeout",
        "ExpiredProviderToken",
        "TimeoutError",  # django-push-notifications' own 1 s timeout
    }
)
APNS_TRANSIENT_STATUSES = frozenset({"429", "500", "503", "failed"})  # "failed": made up by the library on errors
WEBPUSH_DEAD_STATUSES = frozenset({404, 410})


@dataclass
class PushMessage:
    title: str
    body: str
    data: dict[str, str] = field(default_factory=dict)
    # How long a provider may hold the message for an offline device before dropping it.
    ttl_seconds: int = DEFAULT_TTL_SECONDS


@dataclass
class DeliveryResult:
    device_id: int
    platform: str
    outcome: Outcome
    provider_message_id: str = ""
    error: str = ""
    transient: bool = False


def device_models() -> dict[Platform, PushDeviceModel]:
    from push_notifications.models import APNSDevice, GCMDevice, WebPushDevice

    return {"fcm": GCMDevice, "apns": APNSDevice, "webpush": WebPushDevice}


def device_model(platform: str) -> PushDeviceModel:
    for name, model in device_models().items():
        if name == platform:
            return model
    raise ValueError(f"Unknown push platform {platform!r}; expected one of {', '.join(PLATFORMS)}.")


def platform_of(device: Device) -> Platform:
    for platform, model in device_models().items():
        if isinstance(device, model):
            return platform
    raise ValueError(f"{type(device).__name__} is not a supported push device.")


Pair = tuple["Device", PushMessage]


def send_to_devices(devices: Sequence[Device], message: PushMessage) -> list[DeliveryResult]:
    """Send `message` to every device, one batch call per provider (per chunk); one result per device, in order.

    A device given twice is sent to once (and reported at its first position only). Inactive devices are not sent
    to and come back `dead`. Devices the provider declares dead are deactivated in the database and on the objects.
    """
    unique: dict[tuple[str, int], Device] = {}
    for device in devices:
        unique.setdefault((_platform_name(device), int(device.pk)), device)
    return send_messages([(device, message) for device in unique.values()])


def send_messages(pairs: Sequence[Pair]) -> list[DeliveryResult]:
    """Send each (device, message) pair, different messages in one provider batch call where the provider has one
    (FCM `send_each` takes up to 500 different messages; APNs requests share one HTTP/2 client per 100). One result
    per pair, in the order given; dead devices are deactivated as in `send_to_devices`."""
    by_platform: dict[Platform, list[int]] = {platform: [] for platform in PLATFORMS}
    results: list[DeliveryResult | None] = [None] * len(pairs)
    for index, (device, _message) in enumerate(pairs):
        platform = _platform_name(device)
        if platform not in PLATFORMS:
            error = f"{platform} is not a supported push device."
            results[index] = DeliveryResult(int(device.pk), platform, "failed", error=error)
        elif device.active:
            by_platform[platform].append(index)  # type: ignore[index]
        else:
            results[index] = DeliveryResult(int(device.pk), platform, "dead", error="Device is inactive.")

    senders: dict[Platform, Callable[[Sequence[Pair]], list[DeliveryResult]]] = {
        "fcm": _send_fcm,
        "apns": _send_apns,
        "webpush": _send_webpush,
    }
    for name, indexes in by_platform.items():
        if not indexes:
            continue
        group = [pairs[i] for i in indexes]
        try:
            platform_results = senders[name](group)
        except Exception as exc:  # a bug or an outage below us must not lose the other platforms' results
            logger.exception("push: %s batch failed", name)
            platform_results = _all_failed([d for d, _ in group], name, _describe(exc), transient=True)
        if len(platform_results) != len(group):  # never trust a count we did not check
            error = f"{name}: {len(platform_results)} results for {len(group)} messages."
            platform_results = _all_failed([d for d, _ in group], name, error, transient=True)
        for index, result in zip(indexes, platform_results, strict=True):
            results[index] = result
        _deactivate(name, [d for d, _ in group], platform_results)
    unanswered = DeliveryResult(0, "", "failed", error="The transport gave no result for this device.", transient=True)
    return [
        result or replace(unanswered, device_id=int(pairs[i][0].pk), platform=_platform_name(pairs[i][0]))
        for i, result in enumerate(results)
    ]


# --- helpers -------------------------------------------------------------------------------------------------------

T = TypeVar("T")


def _platform_name(device: Device) -> str:
    try:
        return platform_of(device)
    except ValueError:
        return type(device).__name__


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _all_failed(devices: Sequence[Device], platform: str, error: str, *, transient: bool) -> list[DeliveryResult]:
    return [DeliveryResult(int(d.pk), platform, "failed", error=error, transient=transient) for d in devices]


def _deactivate(platform: Platform, devices: Sequence[Device], results: Sequence[DeliveryResult]) -> None:
    """Mark dead devices inactive (the library usually has already; by primary key here, to be sure)."""
    dead = {r.device_id for r in results if r.outcome == "dead"}
    if not dead:
        return
    device_model(platform).objects.filter(pk__in=dead, active=True).update(active=False)
    for device in devices:
        if device.pk in dead:
            device.active = False


def _run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run` from sync code; from inside a running event loop, on a helper thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _pn_settings() -> dict[str, Any]:
    from push_notifications.settings import PUSH_NOTIFICATIONS_SETTINGS

    return PUSH_NOTIFICATIONS_SETTINGS


# --- FCM (firebase_admin.messaging.send_each through django-push-notifications) ---------------------------------

_fcm_lock = threading.Lock()


def fcm_configuration_error() -> str:
    """Empty when FCM can send; else why not. Initialises the default Firebase app lazily, once per process."""
    import firebase_admin
    from firebase_admin import credentials

    def initialised() -> bool:
        try:
            firebase_admin.get_app()
        except ValueError:
            return False
        return True

    if initialised():
        return ""
    path = str(getattr(settings, "FIREBASE_CREDENTIALS", "") or "")
    if not path and not os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"):
        return "FCM not configured (set FIREBASE_CREDENTIALS to a service-account JSON file)."
    with _fcm_lock:
        if initialised():
            return ""
        try:
            firebase_admin.initialize_app(credentials.Certificate(path) if path else None)
        except (ValueError, OSError) as exc:
            return f"FCM not configured: {_describe(exc)}"
    return ""


def _fcm_message(message: PushMessage, token: str) -> Any:
    from firebase_admin import messaging

    fcm_message = messaging.Message(
        notification=messaging.Notification(title=message.title, body=message.body),
        data=dict(message.data),
        android=messaging.AndroidConfig(priority="high", ttl=message.ttl_seconds),
        apns=messaging.APNSConfig(headers={"apns-expiration": str(int(time.time()) + message.ttl_seconds)}),
    )
    # Set as django-push-notifications' gcm._prepare_message does: a registration token (the constructor's `token`
    # argument warns that it is deprecated in favour of installation ids, which our devices do not hold).
    fcm_message.token = token
    return fcm_message


def _fcm_outcome(exc: BaseException | None) -> tuple[Outcome, bool]:
    from firebase_admin import exceptions, messaging

    if exc is None:
        return "sent", False
    # The same test as django-push-notifications' gcm._validate_exception_for_deactivation: these devices were
    # just deactivated by the library, so they are dead.
    if type(exc) in (messaging.UnregisteredError, messaging.SenderIdMismatchError, exceptions.InvalidArgumentError):
        return "dead", False
    if isinstance(exc, exceptions.FirebaseError):
        return "failed", exc.code in FCM_TRANSIENT_CODES
    return "failed", True  # transport trouble that firebase_admin did not classify


def _send_fcm(pairs: Sequence[Pair]) -> list[DeliveryResult]:
    devices = [cast("GCMDevice", d) for d, _ in pairs]
    not_configured = fcm_configuration_error()
    if not_configured:
        return _all_failed(devices, "fcm", not_configured, transient=False)

    from django.core.exceptions import ImproperlyConfigured
    from firebase_admin import messaging
    from push_notifications import gcm
    from push_notifications.conf import get_manager

    results: dict[int, DeliveryResult] = {}
    by_app: dict[str | None, list[int]] = {}
    for index, device in enumerate(devices):
        if device.cloud_message_type != "FCM":
            error = "Legacy GCM devices are not supported; register an FCM token."
            results[index] = DeliveryResult(int(device.pk), "fcm", "failed", error=error)
        else:
            by_app.setdefault(device.application_id or None, []).append(index)
    for application_id, indexes in by_app.items():
        for chunk in _chunks(indexes, FCM_BATCH_SIZE):
            chunk_devices = [devices[i] for i in chunk]
            tokens = [d.registration_id for d in chunk_devices]
            try:
                app = get_manager().get_firebase_app(application_id) if application_id else None
                # One send_each call carries up to 500 different messages (gcm.send_message sends one message to
                # many tokens); the library's own check then deactivates the dead tokens, as it would there.
                batch = messaging.send_each(
                    [_fcm_message(pairs[i][1], token) for i, token in zip(chunk, tokens, strict=True)], app=app
                )
                responses = list(batch.responses)
                gcm._deactivate_devices_with_error_results(tokens, responses)
            except ImproperlyConfigured as exc:
                for i in chunk:
                    results[i] = DeliveryResult(int(devices[i].pk), "fcm", "failed", error=f"FCM not configured: {exc}")
                continue
            except Exception as exc:
                logger.warning("push: FCM batch of %d failed: %s", len(chunk), _describe(exc))
                for i in chunk:
                    results[i] = DeliveryResult(
                        int(devices[i].pk), "fcm", "failed", error=_describe(exc), transient=True
                    )
                continue
            if len(responses) != len(chunk):
                error = f"FCM answered {len(responses)} results for {len(chunk)} messages."
                for i in chunk:
                    results[i] = DeliveryResult(int(devices[i].pk), "fcm", "failed", error=error, transient=True)
                continue
            for i, response in zip(chunk, responses, strict=True):
                outcome, transient = _fcm_outcome(response.exception)
                results[i] = DeliveryResult(
                    int(devices[i].pk),
                    "fcm",
                    outcome,
                    provider_message_id=str(response.message_id or "") if outcome == "sent" else "",
                    error=_describe(response.exception) if response.exception is not None else "",
                    transient=transient,
                )
    return [results[i] for i in range(len(devices))]


# --- APNs (aioapns through django-push-notifications' apns_async) ------------------------------------------------


def apns_configuration_error() -> str:
    config = _pn_settings()
    if not config.get("APNS_TOPIC"):
        return "APNs not configured (set APNS_TOPIC, the app's bundle id)."
    token_auth = all(config.get(key) for key in ("APNS_AUTH_KEY_PATH", "APNS_AUTH_KEY_ID", "APNS_TEAM_ID"))
    if not token_auth and not config.get("APNS_CERTIFICATE"):
        return "APNs not configured (set APNS_AUTH_KEY_PATH, APNS_AUTH_KEY_ID and APNS_TEAM_ID)."
    key_file = str(config.get("APNS_AUTH_KEY_PATH") if token_auth else config.get("APNS_CERTIFICATE"))
    if not os.path.isfile(key_file):
        return f"APNs not configured: no key or certificate file at {key_file!r}."
    return ""


def _apns_outcome(result: Any) -> tuple[Outcome, bool, str]:
    if result.is_successful:
        return "sent", False, ""
    reason = str(result.description or "")
    error = f"{result.status} {reason}".strip()
    if reason in APNS_DEAD_REASONS:
        return "dead", False, error
    transient = (
        reason in APNS_TRANSIENT_REASONS
        or reason.startswith("CommunicationError")
        or str(result.status) in APNS_TRANSIENT_STATUSES
    )
    return "failed", transient, error


async def _apns_requests(chunk: Sequence[Pair]) -> list[tuple[str, Any]]:
    """Every (token, result) of one chunk, each token with its own message, over one client (the library's
    `_send_bulk_request` sends one alert to all tokens; its request builder and sender are reused here)."""
    from push_notifications import apns_async

    client = apns_async._create_client(topic=_pn_settings().get("APNS_TOPIC"))
    requests = [
        apns_async._create_notification_request_from_args(
            cast("APNSDevice", device).registration_id,
            apns_async.Alert(title=message.title, body=message.body),
            sound="default",
            extra=dict(message.data),
            expiration=int(time.time()) + message.ttl_seconds,
        )
        for device, message in chunk
    ]
    return list(await asyncio.gather(*(apns_async._send_request(client, request) for request in requests)))


def _send_apns(pairs: Sequence[Pair]) -> list[DeliveryResult]:
    devices = [cast("APNSDevice", d) for d, _ in pairs]
    not_configured = apns_configuration_error()
    if not_configured:
        return _all_failed(devices, "apns", not_configured, transient=False)

    results: list[DeliveryResult] = []
    for chunk in _chunks(pairs, APNS_BATCH_SIZE):
        chunk_devices = [cast("APNSDevice", d) for d, _ in chunk]
        # The library's public apns_send_bulk_message raises on the first failed token and drops the per-token
        # answers (timeouts look like successes); its request coroutine returns every (token, result) pair.
        try:
            answers = _run_sync(_apns_requests(chunk))
        except Exception as exc:
            logger.warning("push: APNs batch of %d failed: %s", len(chunk), _describe(exc))
            results += _all_failed(chunk_devices, "apns", _describe(exc), transient=True)
            continue
        # Answers come back in request order (asyncio.gather); a token may appear twice with different messages.
        for device, (token, result) in zip(chunk_devices, answers, strict=True):
            if result is None or token != device.registration_id:
                results += _all_failed([device], "apns", "APNs gave no answer for this token.", transient=True)
                continue
            outcome, transient, error = _apns_outcome(result)
            results.append(
                DeliveryResult(
                    int(device.pk),
                    "apns",
                    outcome,
                    provider_message_id=str(result.notification_id or "") if outcome == "sent" else "",
                    error=error,
                    transient=transient,
                )
            )
    return results


# --- WebPush (pywebpush through django-push-notifications' webpush) ----------------------------------------------


def webpush_configuration_error() -> str:
    config = _pn_settings()
    claims = config.get("WP_CLAIMS")
    if not config.get("WP_PRIVATE_KEY") or not isinstance(claims, dict) or not claims.get("sub"):
        return "WebPush not configured (set WP_PRIVATE_KEY and WP_CLAIMS with a 'sub')."
    return ""


_PUSH_FAILED_STATUS = re.compile(r"Push failed: (\d{3})")


def _send_webpush(pairs: Sequence[Pair]) -> list[DeliveryResult]:
    devices = [cast("WebPushDevice", d) for d, _ in pairs]
    not_configured = webpush_configuration_error()
    if not_configured:
        return _all_failed(devices, "webpush", not_configured, transient=False)

    import requests
    from push_notifications.exceptions import WebPushError

    results: list[DeliveryResult] = []
    # WebPush has no batch call: one request per subscription (the library's queryset method stops at the
    # first error, so each device is sent on its own here).
    for device, (_, message) in zip(devices, pairs, strict=True):
        pk = int(device.pk)
        payload = json.dumps({"title": message.title, "body": message.body, "data": message.data})
        try:
            answer = device.send_message(payload, ttl=message.ttl_seconds)
        except WebPushError as exc:
            match = _PUSH_FAILED_STATUS.search(exc.message)
            status = int(match.group(1)) if match else None
            transient = status is not None and (status == 429 or status >= 500)
            outcome: Outcome = "dead" if status in WEBPUSH_DEAD_STATUSES else "failed"
            results.append(DeliveryResult(pk, "webpush", outcome, error=exc.message[:500], transient=transient))
            continue
        except (requests.RequestException, OSError) as exc:
            results.append(DeliveryResult(pk, "webpush", "failed", error=_describe(exc), transient=True))
            continue
        except Exception as exc:
            logger.warning("push: WebPush to device %s failed: %s", pk, _describe(exc))
            results.append(DeliveryResult(pk, "webpush", "failed", error=_describe(exc), transient=True))
            continue
        if answer.get("success"):
            results.append(DeliveryResult(pk, "webpush", "sent"))
            continue
        error = str(answer.get("results", [{}])[0].get("error", "WebPush refused the message."))
        # 404/410: the library deactivated the subscription (device.active is now False).
        outcome = "dead" if not device.active else "failed"
        results.append(DeliveryResult(pk, "webpush", outcome, error=error[:500], transient=False))
    return results
