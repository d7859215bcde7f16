"""FCM: firebase_admin.messaging.send_each through django-push-notifications (`GCMDevice`, FCM tokens only)."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings

from backend.push.common import DeliveryResult, Outcome, Pair, PushMessage, chunks, describe

if TYPE_CHECKING:
    from push_notifications.models import GCMDevice

logger = logging.getLogger(__name__)

FCM_BATCH_SIZE = 500  # firebase_admin.messaging.send_each refuses more than 500 messages per call

# Provider answers (FirebaseError.code) after which a later retry may succeed.
FCM_TRANSIENT_CODES = frozenset(
    {"UNAVAILABLE", "INTERNAL", "RESOURCE_EXHAUSTED", "DEADLINE_EXCEEDED", "UNKNOWN", "ABORTED", "CANCELLED"}
)

_fcm_lock = threading.Lock()


def configuration_error() -> str:
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
            return f"FCM not configured: {describe(exc)}"
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


def send(pairs: Sequence[Pair]) -> list[DeliveryResult]:
    """One result per pair, in order; called only when configuration_error() is empty."""
    devices = [cast("GCMDevice", d) for d, _ in pairs]
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
        for chunk in chunks(indexes, FCM_BATCH_SIZE):
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
                logger.warning("push: FCM batch of %d failed: %s", len(chunk), describe(exc))
                for i in chunk:
                    results[i] = DeliveryResult(
                        int(devices[i].pk), "fcm", "failed", error=describe(exc), transient=True
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
                    error=describe(response.exception) if response.exception is not None else "",
                    transient=transient,
                )
    return [results[i] for i in range(len(devices))]
