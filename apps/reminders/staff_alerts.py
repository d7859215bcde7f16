"""Push each new care alert to the coordinators looking after the patient: once per alert per coordinator.

The push is enqueued when the alert commits (or is escalated: a higher severity is told again, as a new alert); a
sweep job reads the database for alerts still unpushed (a worker or
Redis outage delays pushes but loses none). The text names neither the patient nor a drug: lock screens are public.
"""

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, OuterRef, Q, Subquery

from apps.accounts.models import CareTeamAssignment, User
from apps.alerts.models import Alert, AlertEvent, AlertState
from apps.reminders import rules
from apps.reminders.devices import devices_by_user
from apps.reminders.models import StaffAlertPush
from backend import clock
from backend.push import PushMessage, send_to_devices
from backend.roles import Role

log = logging.getLogger(__name__)
SWEEP_LOOKBACK = timedelta(days=2)
LEASE = timedelta(minutes=5)  # a push claimed longer ago than this with no outcome: its worker died, take it again
MAX_ATTEMPTS = 5
SEVERITY_WORD = {"urgent": "Urgent", "high": "High-priority", "normal": "New", "low": "New"}


@dataclass
class StaffPushReport:
    alerts: int = 0
    pushed: int = 0
    no_device: int = 0
    failed: int = 0
    retrying: int = 0


def _coordinators(alerts: Sequence[Alert]) -> dict[Any, list[User]]:
    """The active coordinators assigned to each alert's patient, in her organisation: one query for all."""
    by_patient: dict[Any, list[User]] = defaultdict(list)
    organisation_of = {alert.patient_id: alert.patient.organisation_id for alert in alerts}
    assignments = CareTeamAssignment.objects.filter(
        patient_id__in=organisation_of, staff__role=Role.COORDINATOR, staff__is_active=True
    ).select_related("staff")
    for assignment in assignments:
        if assignment.staff.organisation_id == organisation_of[assignment.patient_id]:
            by_patient[assignment.patient_id].append(assignment.staff)
    return by_patient


def _claim(alert: Alert, staff: User, existing: StaffAlertPush | None, now: datetime) -> StaffAlertPush | None:
    """This worker's claim on pushing `alert` to `staff`, or None when it is done or another worker holds it. New
    pairs are claimed by inserting their row (unique pair); an in-flight claim past its lease (its worker died), a
    transient failure past its backoff, and any push older than the alert's escalation (told again, as new) are
    taken again by a conditional update."""
    if existing is None:
        try:
            with transaction.atomic():
                return StaffAlertPush.objects.create(alert=alert, staff=staff, at=now, attempts=1)
        except IntegrityError:
            return None  # another worker inserted it just now
    escalated_at = getattr(alert, "escalated_at", None)
    if escalated_at is not None and existing.at < escalated_at:
        taken = StaffAlertPush.objects.filter(pk=existing.pk, outcome=existing.outcome, at=existing.at).update(
            outcome="", error="", at=now, attempts=1
        )
        if not taken:
            return None
        existing.refresh_from_db()
        return existing
    if existing.attempts >= MAX_ATTEMPTS:
        return None
    if existing.outcome == "" and existing.at <= now - LEASE:
        retake = True
    else:
        delay = rules.retry_delay(existing.attempts)
        retake = existing.outcome == "retry" and delay is not None and existing.at <= now - delay
    if not retake:
        return None
    taken = StaffAlertPush.objects.filter(pk=existing.pk, outcome=existing.outcome, at=existing.at).update(
        outcome="", at=now, attempts=F("attempts") + 1
    )
    if not taken:
        return None
    existing.refresh_from_db()
    return existing


def _push(claim: StaffAlertPush, alert: Alert, devices: list[Any], report: StaffPushReport) -> None:
    message = PushMessage(
        title="BoneSync",
        body=f"{SEVERITY_WORD.get(alert.severity, 'New')} alert for one of your patients",
        data={"alert": str(alert.pk)},
    )
    if not devices:
        claim.outcome, claim.error = "no_device", ""
        report.no_device += 1
    else:
        results = send_to_devices(devices, message)
        settlement = rules.settle(
            outcomes=[(r.outcome, r.transient, r.error) for r in results], attempts=claim.attempts
        )
        claim.error = (
            ""
            if isinstance(settlement, rules.Sent)
            else "; ".join(sorted({r.error or r.outcome for r in results}))[:300]
        )
        if isinstance(settlement, rules.Sent):
            claim.outcome = "sent"
            report.pushed += 1
        elif isinstance(settlement, rules.Retry):
            claim.outcome = "retry"  # taken again by a later sweep, after the backoff
            report.retrying += 1
        else:
            claim.outcome = "failed"
            report.failed += 1
    claim.save(update_fields=["outcome", "error"])


def push_pending_staff_alerts(*, now: datetime | None = None) -> StaffPushReport:
    """The sweep: open alerts raised or escalated in the last two days that an assigned coordinator has not been
    pushed yet (or whose push was interrupted or failed transiently, or came before the escalation). Each (alert,
    coordinator) pair is pushed once, and once more for each escalation."""
    now = now or clock.now()
    report = StaffPushReport()
    escalations = AlertEvent.objects.filter(alert=OuterRef("pk"), action=AlertEvent.Action.ESCALATED).order_by("-at")
    alerts = list(
        Alert.objects.annotate(escalated_at=Subquery(escalations.values("at")[:1]))
        .filter(Q(raised_at__gte=now - SWEEP_LOOKBACK) | Q(escalated_at__gte=now - SWEEP_LOOKBACK))
        .exclude(state=AlertState.RESOLVED)
        .select_related("patient")
        .order_by("raised_at")
    )
    coordinators = _coordinators(alerts)
    pushes = {(p.alert_id, p.staff_id): p for p in StaffAlertPush.objects.filter(alert__in=alerts)}
    devices = devices_by_user(user_ids={staff.pk for staff_list in coordinators.values() for staff in staff_list})
    for alert in alerts:
        report.alerts += 1
        for staff in coordinators[alert.patient_id]:
            try:
                claim = _claim(alert, staff, pushes.get((alert.pk, staff.pk)), now)
                if claim is not None:
                    _push(claim, alert, devices.get(staff.pk, []), report)
            except Exception:  # one push's failure must not stop the others
                log.exception("staff push failed for alert %s to %s", alert.pk, staff.pk)
    return report
