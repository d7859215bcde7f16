"""APNs: aioapns through django-push-notifications' apns_async (`APNSDevice`, token or certificate auth)."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from backend.push.common import DeliveryResult, Outcome, Pair, all_failed, chunks, describe, pn_settings, run_sync

if TYPE_CHECKING:
    from push_notifications.models import APNSDevice

logger = logging.getLogger(__name__)

APNS_BATCH_SIZE = 100  # django-push-notifications gives each APNs request 1 s, queueing for a connection included
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


def configuration_error() -> str:
    config = pn_settings()
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

    client = apns_async._create_client(topic=pn_settings().get("APNS_TOPIC"))
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


def send(pairs: Sequence[Pair]) -> list[DeliveryResult]:
    """One result per pair, in order; called only when configuration_error() is empty."""
    results: list[DeliveryResult] = []
    for chunk in chunks(pairs, APNS_BATCH_SIZE):
        chunk_devices = [cast("APNSDevice", d) for d, _ in chunk]
        # The library's public apns_send_bulk_message raises on the first failed token and drops the per-token
        # answers (timeouts look like successes); its request coroutine returns every (token, result) pair.
        try:
            answers = run_sync(_apns_requests(chunk))
        except Exception as exc:
            logger.warning("push: APNs batch of %d failed: %s", len(chunk), describe(exc))
            results += all_failed(chunk_devices, "apns", describe(exc), transient=True)
            continue
        # Answers come back in request order (asyncio.gather); a token may appear twice with different messages.
        for device, (token, result) in zip(chunk_devices, answers, strict=True):
            if result is None or token != device.registration_id:
                results += all_failed([device], "apns", "APNs gave no answer for this token.", transient=True)
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
