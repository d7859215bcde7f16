"""WebPush: pywebpush through django-push-notifications' webpush (`WebPushDevice`); no batch call."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

from backend.push.common import DeliveryResult, Outcome, Pair, describe, pn_settings

if TYPE_CHECKING:
    from push_notifications.models import WebPushDevice

logger = logging.getLogger(__name__)

WEBPUSH_DEAD_STATUSES = frozenset({404, 410})


def configuration_error() -> str:
    config = pn_settings()
    claims = config.get("WP_CLAIMS")
    if not config.get("WP_PRIVATE_KEY") or not isinstance(claims, dict) or not claims.get("sub"):
        return "WebPush not configured (set WP_PRIVATE_KEY and WP_CLAIMS with a 'sub')."
    return ""


_PUSH_FAILED_STATUS = re.compile(r"Push failed: (\d{3})")


def send(pairs: Sequence[Pair]) -> list[DeliveryResult]:
    """One result per pair, in order; called only when configuration_error() is empty."""
    devices = [cast("WebPushDevice", d) for d, _ in pairs]
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
            results.append(DeliveryResult(pk, "webpush", "failed", error=describe(exc), transient=True))
            continue
        except Exception as exc:
            logger.warning("push: WebPush to device %s failed: %s", pk, describe(exc))
            results.append(DeliveryResult(pk, "webpush", "failed", error=describe(exc), transient=True))
            continue
        if answer.get("success"):
            results.append(DeliveryResult(pk, "webpush", "sent"))
            continue
        error = str(answer.get("results", [{}])[0].get("error", "WebPush refused the message."))
        # 404/410: the library deactivated the subscription (device.active is now False).
        outcome = "dead" if not device.active else "failed"
        results.append(DeliveryResult(pk, "webpush", outcome, error=error[:500], transient=False))
    return results
