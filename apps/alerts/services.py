"""Writes for alerts and notices. Raising is idempotent per (patient, kind, episode): exactly once."""

from collections.abc import Sequence
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from apps.accounts.models import Patient, User
from apps.alerts.models import SEVERITY_RANK, Alert, AlertEvent, AlertState, Notice, Severity
from apps.medications.models import Schedule
from backend import clock
from backend.events import AlertRaised, publish
from backend.once import insert_each_once


def alert_raise(
    *,
    patient: Patient,
    kind: str,
    severity: str,
    message: str,
    episode: str,
    rule: str = "",
    schedule: Schedule | None = None,
    now: datetime | None = None,
) -> Alert | None:
    """Create the alert unless this episode already has one; returns None when it did (the unique constraint
    decides, so two workers racing raise it once)."""
    alert = Alert(patient=patient, schedule=schedule, kind=kind, severity=severity, message=message, episode=episode)
    alert.rule, alert.raised_at = rule, now or clock.now()
    raised = alerts_raise([alert])
    return raised[0] if raised else None


def alerts_raise(alerts: Sequence[Alert]) -> list[Alert]:
    """Create each alert (unsaved, `raised_at` set) unless its episode already has one: the unique constraint
    decides, in one statement for all, so two workers racing raise each once. Returns those raised, each with its
    "raised" event and announced."""
    for alert in alerts:
        alert.severity_rank = SEVERITY_RANK[Severity(alert.severity)]
    raised = insert_each_once(alerts)
    AlertEvent.objects.bulk_create(
        AlertEvent(alert=alert, action=AlertEvent.Action.RAISED, at=alert.raised_at) for alert in raised
    )
    for alert in raised:
        publish(AlertRaised(alert_id=alert.pk, patient_id=alert.patient_id))
    return raised


@transaction.atomic
def alert_acknowledge(*, alert: Alert, actor: User, note: str = "") -> Alert:
    now = clock.now()
    claimed = Alert.objects.filter(pk=alert.pk, state=AlertState.OPEN).update(
        state=AlertState.ACKNOWLEDGED, acknowledged_at=now, acknowledged_by=actor, updated_at=now
    )
    if not claimed:
        raise ValidationError({"state": [f"Only open alerts can be acknowledged; this one is {alert.state}."]})
    AlertEvent.objects.create(alert=alert, action=AlertEvent.Action.ACKNOWLEDGED, actor=actor, note=note, at=now)
    alert.refresh_from_db()
    return alert


@transaction.atomic
def alert_resolve(*, alert: Alert, actor: User, note: str) -> Alert:
    note = note.strip()
    if not note:
        raise ValidationError({"note": ["Say what was done: a note is required to resolve an alert."]})
    now = clock.now()
    claimed = (
        Alert.objects.filter(pk=alert.pk)
        .exclude(state=AlertState.RESOLVED)
        .update(state=AlertState.RESOLVED, resolved_at=now, resolved_by=actor, resolution_note=note, updated_at=now)
    )
    if not claimed:
        raise ValidationError({"state": ["This alert is already resolved."]})
    AlertEvent.objects.create(alert=alert, action=AlertEvent.Action.RESOLVED, actor=actor, note=note, at=now)
    alert.refresh_from_db()
    return alert


def alerts_resolve_automatically(*, patient: Patient, kinds: Q, note: str, now: datetime | None = None) -> int:
    """Resolve open alerts matching `kinds` (e.g. an injection was recorded); returns how many."""
    now = now or clock.now()
    open_alerts = list(
        Alert.objects.filter(kinds, patient=patient).exclude(state=AlertState.RESOLVED).values_list("pk", flat=True)
    )
    if not open_alerts:
        return 0
    Alert.objects.filter(pk__in=open_alerts).update(
        state=AlertState.RESOLVED, resolved_at=now, resolution_note=note, updated_at=now
    )
    AlertEvent.objects.bulk_create(
        AlertEvent(alert_id=pk, action=AlertEvent.Action.RESOLVED, note=note, at=now) for pk in open_alerts
    )
    return len(open_alerts)


def notice_publish(
    *,
    patient: Patient,
    kind: str,
    title: str,
    body: str,
    episode: str,
    schedule: Schedule | None = None,
    now: datetime | None = None,
) -> Notice | None:
    """Publish once per (patient, kind, episode); None when already published."""
    notice = Notice(patient=patient, schedule=schedule, kind=kind, title=title, body=body, episode=episode)
    notice.published_at = now or clock.now()
    return notice if notices_publish([notice]) else None


def notices_publish(notices: Sequence[Notice]) -> list[Notice]:
    """Publish each notice (unsaved, `published_at` set) once per (patient, kind, episode), in one statement;
    returns those published now."""
    return insert_each_once(notices)
