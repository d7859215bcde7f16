"""Push each new care alert to the coordinators looking after the patient: once per alert per coordinator.

The push is enqueued when the alert commits; a sweep job reads the database for alerts still unpushed (a worker or
Redis outage delays pushes but loses none). The text names neither the patient nor a drug: lock screens are public.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from push_notifications.models import APNSDevice, GCMDevice, WebPushDevice

from apps.accounts.models import User
from apps.alerts.models import Alert, AlertState
from apps.reminders.models import StaffAlertPush
from backend import clock
from backend.push import PushMessage, send_to_devices
from backend.roles import Role

log = logging.getLogger(__name__)
SWEEP_LOOKBACK = timedelta(days=2)
SEVERITY_WORD = {"urgent": "Urgent", "high": "High-priority", "normal": "New", "low": "New"}


@dataclass
class StaffPushReport:
    alerts: int = 0
    pushed: int = 0
    no_device: int = 0
    failed: int = 0


def _coordinators(alert: Alert) -> list[User]:
    return list(
        User.objects.filter(
            care_assignments__patient_id=alert.patient_id,
            role=Role.COORDINATOR,
            is_active=True,
            organisation_id=alert.patient.organisation_id,
        )
    )


def _devices(user: User) -> list[object]:
    return [d for model in (GCMDevice, APNSDevice, WebPushDevice) for d in model.objects.filter(user=user, active=True)]


def push_alert(alert: Alert, report: StaffPushReport, now: datetime) -> None:
    report.alerts += 1
    message = PushMessage(
        title="BoneSync",
        body=f"{SEVERITY_WORD.get(alert.severity, 'New')} alert for one of your patients",
        data={"alert": str(alert.pk)},
    )
    for coordinator in _coordinators(alert):
        try:
            with transaction.atomic():
                claim = StaffAlertPush.objects.create(alert=alert, staff=coordinator, at=now)
        except IntegrityError:
            continue  # already pushed (or being pushed) to this coordinator
        devices = _devices(coordinator)
        if not devices:
            claim.outcome = "no_device"
            report.no_device += 1
        else:
            results = send_to_devices(devices, message)  # type: ignore[arg-type]
            sent = any(r.outcome == "sent" for r in results)
            claim.outcome = "sent" if sent else "failed"
            claim.error = "" if sent else "; ".join(sorted({r.error or r.outcome for r in results}))[:300]
            report.pushed += sent
            report.failed += not sent
        claim.save(update_fields=["outcome", "error"])


def push_pending_staff_alerts(*, now: datetime | None = None) -> StaffPushReport:
    """The sweep: open alerts of the last two days that some assigned coordinator has not been pushed yet."""
    now = now or clock.now()
    report = StaffPushReport()
    alerts = Alert.objects.filter(raised_at__gte=now - SWEEP_LOOKBACK).exclude(state=AlertState.RESOLVED)
    for alert in alerts.select_related("patient").order_by("raised_at"):
        try:
            push_alert(alert, report, now)
        except Exception:  # one alert's failure must not stop the others
            log.exception("staff push failed for alert %s", alert.pk)
    return report
