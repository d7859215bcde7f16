"""Writes for alerts and notices. Raising is idempotent per (patient, kind, episode): exactly once."""

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from apps.accounts.models import Patient, User
from apps.alerts.models import SEVERITY_RANK, Alert, AlertEvent, AlertState, ContactAttempt, Notice, Severity
from apps.medications.models import Schedule
from backend import clock
from backend.errors import ConflictError
from backend.events import AlertEscalated, AlertRaised, publish
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
def alert_escalate(*, alert: Alert, severity: str, note: str, message: str = "", now: datetime | None = None) -> bool:
    """Raise an alert's severity while it stays one alert (its episode is the same; e.g. DOMAIN J3: she now reports
    missing or stopping the AI because of pain): an "escalated" event with `note`, the new `message` when given, and
    her coordinators are told as of a new alert (AlertEscalated: the staff push goes out again). False, changing
    nothing, when it is resolved or already at least that severe."""
    rank = SEVERITY_RANK[Severity(severity)]
    now = now or clock.now()
    changes: dict[str, object] = {"severity": severity, "severity_rank": rank, "updated_at": now}
    if message:
        changes["message"] = message
    claimed = (
        Alert.objects.filter(pk=alert.pk, severity_rank__lt=rank).exclude(state=AlertState.RESOLVED).update(**changes)
    )
    if not claimed:
        return False
    AlertEvent.objects.create(alert=alert, action=AlertEvent.Action.ESCALATED, note=note, at=now)
    publish(AlertEscalated(alert_id=alert.pk, patient_id=alert.patient_id))
    return True


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


# --- contact attempts (issue 14) ----------------------------------------------------------------------------------
FOLLOW_UP_MAX_DAYS = 365  # a follow-up further ahead is a typo (a year), not a plan


def wait_ends_at(follow_up_on: date, tz_name: str) -> datetime:
    """The instant her local `follow_up_on` begins (midnight there, DST-correct): the alert waits until then."""
    return datetime.combine(follow_up_on, time(0), tzinfo=clock.zone(tz_name))


@transaction.atomic
def contact_attempt_record(
    *,
    alert: Alert,
    actor: User,
    channel: str,
    outcome: str,
    note: str = "",
    follow_up_on: date | None = None,
) -> ContactAttempt:
    """Log one try to reach the patient about an open or acknowledged alert; the alert's state does not change
    (acknowledging stays its own action). Its `follow_up_on` (her local date, today or later; none: not waiting)
    becomes the alert's: the newest attempt decides whether the alert waits. A resolved alert takes no attempt
    (ConflictError, 409): the loop is closed, nothing to follow up."""
    locked = Alert.objects.select_for_update(of=("self",)).select_related("patient__profile").get(pk=alert.pk)
    if locked.state == AlertState.RESOLVED:
        raise ConflictError(
            "This alert is resolved: log the contact on an open alert of hers, or none.",
            {"alert": ["Resolved alerts take no contact attempts."]},
        )
    tz_name = locked.patient.profile.timezone
    today = clock.local_today(tz_name)
    if follow_up_on is not None:
        if follow_up_on < today:
            raise ValidationError(
                {"follow_up_on": [f"Cannot be in the past: today is {today:%d %B %Y} in the patient's time zone."]}
            )
        if follow_up_on > today + timedelta(days=FOLLOW_UP_MAX_DAYS):
            raise ValidationError({"follow_up_on": [f"Must be within {FOLLOW_UP_MAX_DAYS} days."]})
    now = clock.now()
    attempt = ContactAttempt(
        alert=locked,
        patient_id=locked.patient_id,
        channel=channel,
        outcome=outcome,
        note=note.strip(),
        follow_up_on=follow_up_on,
        actor=actor,
        at=now,
    )
    attempt.full_clean()
    attempt.save()
    Alert.objects.filter(pk=locked.pk).update(
        follow_up_on=follow_up_on,
        waiting_until=wait_ends_at(follow_up_on, tz_name) if follow_up_on else None,
        updated_at=now,
    )
    return attempt


def alerts_follow_timezone(*, patient_id: UUID, tz_name: str) -> int:
    """Her time zone changed: each waiting alert's follow-up date now begins at another instant."""
    rows = list(Alert.objects.filter(patient_id=patient_id, follow_up_on__isnull=False))
    for row in rows:
        row.waiting_until = wait_ends_at(row.follow_up_on, tz_name) if row.follow_up_on else None
    Alert.objects.bulk_update(rows, ["waiting_until"])
    return len(rows)


# --- several at once (the worklist's checkboxes) ------------------------------------------------------------------
@transaction.atomic
def alerts_act_together(*, alerts: Sequence[Alert], actor: User, action: str, note: str = "") -> list[Alert]:
    """Acknowledge or resolve several alerts in one transaction: all or none. The caller has already found each
    in the actor's scope. One that cannot take the action (acknowledging one not open, resolving one resolved)
    refuses the whole batch, naming it; so does a resolve without a note."""
    if action not in ("acknowledge", "resolve"):
        raise ValidationError({"action": ["Must be acknowledge or resolve."]})
    done: list[Alert] = []
    refused: dict[str, list[str]] = {}
    for alert in alerts:
        try:
            if action == "acknowledge":
                done.append(alert_acknowledge(alert=alert, actor=actor, note=note))
            else:
                done.append(alert_resolve(alert=alert, actor=actor, note=note))
        except ValidationError as exc:
            if "note" in exc.message_dict:
                raise
            refused[str(alert.pk)] = [message for messages in exc.message_dict.values() for message in messages]
    if refused:
        raise ValidationError({"ids": [f"{pk}: {' '.join(messages)}" for pk, messages in refused.items()]})
    return done
