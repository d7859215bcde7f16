"""The push transport port: send one message to many devices through the providers' batch calls (one module per
provider: `fcm`, `apns`, `webpush`; what they share in `common`).

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

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

from backend.push import apns, fcm, webpush
from backend.push.common import (
    PLATFORMS,
    DeliveryResult,
    Pair,
    Platform,
    PushMessage,
    all_failed,
    describe,
    device_model,
    device_models,
    platform_name,
    platform_of,
)

if TYPE_CHECKING:
    from push_notifications.models import Device

    from backend.push.common import PushDevice, PushDeviceModel

__all__ = [
    "PLATFORMS",
    "DeliveryResult",
    "PushDevice",
    "PushDeviceModel",
    "PushMessage",
    "device_model",
    "device_models",
    "platform_of",
    "send_messages",
    "send_to_devices",
]

logger = logging.getLogger(__name__)


class Provider(Protocol):
    def configuration_error(self) -> str: ...

    def send(self, pairs: Sequence[Pair]) -> list[DeliveryResult]: ...


def send_to_devices(devices: Sequence[Device], message: PushMessage) -> list[DeliveryResult]:
    """Send `message` to every device, one batch call per provider (per chunk); one result per device, in order.

    A device given twice is sent to once (and reported at its first position only). Inactive devices are not sent
    to and come back `dead`. Devices the provider declares dead are deactivated in the database and on the objects.
    """
    unique: dict[tuple[str, int], Device] = {}
    for device in devices:
        unique.setdefault((platform_name(device), int(device.pk)), device)
    return send_messages([(device, message) for device in unique.values()])


def send_messages(pairs: Sequence[Pair]) -> list[DeliveryResult]:
    """Send each (device, message) pair, different messages in one provider batch call where the provider has one
    (FCM `send_each` takes up to 500 different messages; APNs requests share one HTTP/2 client per 100). One result
    per pair, in the order given; dead devices are deactivated as in `send_to_devices`."""
    by_platform: dict[Platform, list[int]] = {platform: [] for platform in PLATFORMS}
    results: list[DeliveryResult | None] = [None] * len(pairs)
    for index, (device, _message) in enumerate(pairs):
        platform = platform_name(device)
        if platform not in PLATFORMS:
            error = f"{platform} is not a supported push device."
            results[index] = DeliveryResult(int(device.pk), platform, "failed", error=error)
        elif device.active:
            by_platform[platform].append(index)  # type: ignore[index]
        else:
            results[index] = DeliveryResult(int(device.pk), platform, "dead", error="Device is inactive.")

    # Each provider module: configuration_error() ("" when it can send) and send(pairs), one result per pair.
    providers: dict[Platform, Provider] = {"fcm": fcm, "apns": apns, "webpush": webpush}
    for name, indexes in by_platform.items():
        if not indexes:
            continue
        group = [pairs[i] for i in indexes]
        try:
            not_configured = providers[name].configuration_error()
            if not_configured:  # it fails its devices instead of crashing: a retry will not help
                platform_results = all_failed([d for d, _ in group], name, not_configured, transient=False)
            else:
                platform_results = providers[name].send(group)
        except Exception as exc:  # a bug or an outage below us must not lose the other platforms' results
            logger.exception("push: %s batch failed", name)
            platform_results = all_failed([d for d, _ in group], name, describe(exc), transient=True)
        if len(platform_results) != len(group):  # never trust a count we did not check
            error = f"{name}: {len(platform_results)} results for {len(group)} messages."
            platform_results = all_failed([d for d, _ in group], name, error, transient=True)
        for index, result in zip(indexes, platform_results, strict=True):
            results[index] = result
        _deactivate(name, [d for d, _ in group], platform_results)
    unanswered = DeliveryResult(0, "", "failed", error="The transport gave no result for this device.", transient=True)
    return [
        result or replace(unanswered, device_id=int(pairs[i][0].pk), platform=platform_name(pairs[i][0]))
        for i, result in enumerate(results)
    ]


def _deactivate(platform: Platform, devices: Sequence[Device], results: Sequence[DeliveryResult]) -> None:
    """Mark dead devices inactive (the library usually has already; by primary key here, to be sure)."""
    dead = {r.device_id for r in results if r.outcome == "dead"}
    if not dead:
        return
    device_model(platform).objects.filter(pk__in=dead, active=True).update(active=False)
    for device in devices:
        if device.pk in dead:
            device.active = False
