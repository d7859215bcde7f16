"""Send the reminders that are due: claim a batch (SKIP LOCKED on PostgreSQL), decide each one (pure rules), push,
and record every delivery. A claim has a deadline: a worker killed mid-batch leaves claims that the next run takes
again after `CLAIM_SECONDS` — that bounds the window in which a reminder could be pushed twice.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from push_notifications.models import APNSDevice, GCMDevice, WebPushDevice

from apps.medications.models import DoseRecord, DrugClass, Schedule
from apps.medications.rules.recurrence import next_occurrence, to_instant
from apps.medications.services import recurrence_of
from apps.reminders import rules
from apps.reminders.models import Delivery, OccurrenceKind, OccurrenceState, ReminderOccurrence, ReminderPreference
from backend import clock
from backend.push import PushMessage, send_to_devices

log = logging.getLogger(__name__)
CLAIM_SECONDS = 120
MONTHLY_SKIP_WITHIN_DAYS = 7  # DOMAIN A3 (ibandronate): skip the catch-up when the next dose is this close
BATCH = 500
DEVICE_MODELS: tuple[Any, ...] = (GCMDevice, APNSDevice, WebPushDevice)


@dataclass
class DispatchReport:
    claimed: int = 0
    sent: int = 0
    deferred: int = 0
    skipped: int = 0
    expired: int = 0
    failed: int = 0
    retrying: int = 0
    errors: list[str] = field(default_factory=list)


def claim(*, now: datetime, limit: int = BATCH) -> tuple[list[ReminderOccurrence], datetime]:
    """Claim due occurrences (pending and due, or claimed by a worker whose deadline passed)."""
    until = now + timedelta(seconds=CLAIM_SECONDS)
    due = Q(state=OccurrenceState.PENDING, next_attempt_at__lte=now) | Q(
        state=OccurrenceState.CLAIMED, claimed_until__lt=now
    )
    with transaction.atomic():
        ids = list(
            ReminderOccurrence.objects.filter(due)
            .order_by("next_attempt_at")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            ReminderOccurrence.objects.filter(pk__in=ids).update(state=OccurrenceState.CLAIMED, claimed_until=until)
    rows = list(
        ReminderOccurrence.objects.filter(pk__in=ids).select_related("patient__profile", "patient__reminder_prefs")
    )
    return rows, until


def _recorded(occurrences: list[ReminderOccurrence]) -> set[tuple[Any, Any]]:
    """(schedule id, date) pairs that already have a dose record: no reminder for them."""
    medication = [o for o in occurrences if o.source_kind == "medication"]
    if not medication:
        return set()
    schedule_ids = {o.source_id for o in medication}
    dates = {o.local_date for o in medication} | {o.dose_date for o in medication if o.dose_date}
    recorded: set[tuple[Any, Any]] = set(
        DoseRecord.objects.filter(schedule_id__in=schedule_ids, taken_on__in=dates).values_list(
            "schedule_id", "taken_on"
        )
    )
    recorded |= set(
        DoseRecord.objects.filter(schedule_id__in=schedule_ids, occurrence_on__in=dates).values_list(
            "schedule_id", "occurrence_on"
        )
    )
    return recorded


def _is_recorded(occurrence: ReminderOccurrence, recorded: set[tuple[Any, Any]]) -> bool:
    dates = {occurrence.local_date, occurrence.dose_date or occurrence.local_date}
    return any((occurrence.source_id, day) in recorded for day in dates)


def _devices(user_ids: set[Any]) -> dict[Any, list[Any]]:
    by_user: dict[Any, list[Any]] = defaultdict(list)
    for model in DEVICE_MODELS:
        for device in model.objects.filter(user_id__in=user_ids, active=True):
            by_user[device.user_id].append(device)
    return by_user


def _finish(occurrence: ReminderOccurrence, until: datetime, **changes: Any) -> bool:
    """Finalise only if our claim still holds (a retaken claim belongs to another worker now)."""
    return bool(
        ReminderOccurrence.objects.filter(pk=occurrence.pk, state=OccurrenceState.CLAIMED, claimed_until=until).update(
            **changes
        )
    )


def _prefs(occurrence: ReminderOccurrence) -> ReminderPreference:
    try:
        prefs: ReminderPreference = occurrence.patient.reminder_prefs
        return prefs
    except ReminderPreference.DoesNotExist:
        return ReminderPreference(patient=occurrence.patient)


def dispatch_batch(*, now: datetime, report: DispatchReport, limit: int = BATCH) -> int:
    occurrences, until = claim(now=now, limit=limit)
    report.claimed += len(occurrences)
    if not occurrences:
        return 0
    recorded = _recorded(occurrences)
    devices = _devices({o.patient.user_id for o in occurrences})
    deliveries: list[Delivery] = []
    for occurrence in occurrences:
        try:
            _dispatch_one(
                occurrence,
                now=now,
                until=until,
                recorded=recorded,
                devices=devices,
                deliveries=deliveries,
                report=report,
            )
        except Exception as exc:  # a malformed row is recorded and skipped, never the batch
            log.exception("dispatch failed for occurrence %s", occurrence.pk)
            report.errors.append(str(occurrence.pk))
            _finish(occurrence, until, state=OccurrenceState.FAILED, reason=f"error: {exc}"[:200], finished_at=now)
    Delivery.objects.bulk_create(deliveries)
    return len(occurrences)


def _dispatch_one(
    occurrence: ReminderOccurrence,
    *,
    now: datetime,
    until: datetime,
    recorded: set[tuple[Any, Any]],
    devices: dict[Any, list[Any]],
    deliveries: list[Delivery],
    report: DispatchReport,
) -> None:
    profile = occurrence.patient.profile
    prefs = _prefs(occurrence)
    decision = rules.decide(
        now=now,
        due_at=occurrence.due_at,
        expires_at=occurrence.expires_at,
        zone=clock.zone(profile.timezone),
        quiet_start=profile.quiet_hours_start,
        quiet_end=profile.quiet_hours_end,
        reminders_enabled=prefs.reminders_enabled,
        already_recorded=_is_recorded(occurrence, recorded),
    )
    if isinstance(decision, rules.Defer):
        _finish(
            occurrence, until, state=OccurrenceState.PENDING, next_attempt_at=decision.until, reason=decision.reason
        )
        report.deferred += 1
        return
    if isinstance(decision, rules.Skip | rules.Expire):
        state = OccurrenceState.SKIPPED if isinstance(decision, rules.Skip) else OccurrenceState.EXPIRED
        _finish(occurrence, until, state=state, reason=decision.reason, finished_at=now)
        if isinstance(decision, rules.Expire):
            _schedule_next_morning(occurrence)
        deliveries.append(
            Delivery(occurrence=occurrence, platform="", outcome="skipped", error=decision.reason, at=now)
        )
        report.skipped += isinstance(decision, rules.Skip)
        report.expired += isinstance(decision, rules.Expire)
        return
    targets = devices.get(occurrence.patient.user_id, [])
    if not targets:
        _finish(occurrence, until, state=OccurrenceState.SKIPPED, reason="no registered device", finished_at=now)
        deliveries.append(Delivery(occurrence=occurrence, platform="", outcome="skipped", error="no device", at=now))
        report.skipped += 1
        return
    # DESIGN privacy: the drug is named only when the patient opted in.
    body = occurrence.text_detailed if profile.push_detail_opt_in else occurrence.text_generic
    message = PushMessage(title="BoneSync", body=body, data={"occurrence": str(occurrence.pk), "kind": occurrence.kind})
    results = send_to_devices(targets, message)
    deliveries.extend(
        Delivery(
            occurrence=occurrence,
            platform=r.platform,
            device_id=r.device_id,
            outcome=r.outcome,
            error=r.error[:300],
            at=now,
        )
        for r in results
    )
    attempts = occurrence.attempts + 1
    if any(r.outcome == "sent" for r in results):
        if _finish(occurrence, until, state=OccurrenceState.SENT, attempts=attempts, finished_at=now, reason=""):
            report.sent += 1
            _schedule_nudge(occurrence, prefs)
            _schedule_next_morning(occurrence)
        return
    delay = rules.retry_delay(attempts) if any(r.transient for r in results) else None
    if delay is not None:
        _finish(
            occurrence,
            until,
            state=OccurrenceState.PENDING,
            attempts=attempts,
            next_attempt_at=now + delay,
            reason="provider unavailable, will retry",
        )
        report.retrying += 1
    else:
        reason = "; ".join(sorted({r.error or r.outcome for r in results}))[:200]
        _finish(occurrence, until, state=OccurrenceState.FAILED, attempts=attempts, finished_at=now, reason=reason)
        report.failed += 1


def _schedule_nudge(occurrence: ReminderOccurrence, prefs: ReminderPreference) -> None:
    """A follow-up when a medication dose is still not recorded after the grace period (skipped if it is)."""
    if occurrence.kind != OccurrenceKind.REMINDER or occurrence.source_kind != "medication" or not prefs.nudges_enabled:
        return
    at = occurrence.due_at + timedelta(minutes=prefs.nudge_after_minutes)
    if at >= occurrence.expires_at:
        return
    ReminderOccurrence.objects.bulk_create(
        [
            ReminderOccurrence(
                patient_id=occurrence.patient_id,
                source_kind=occurrence.source_kind,
                source_id=occurrence.source_id,
                kind=OccurrenceKind.NUDGE,
                local_date=occurrence.local_date,
                dose_date=occurrence.dose_date or occurrence.local_date,
                local_time=occurrence.local_time,
                due_at=at,
                expires_at=occurrence.expires_at,
                text_generic="Still to do: " + occurrence.text_generic[0].lower() + occurrence.text_generic[1:],
                text_detailed="Still to do: " + occurrence.text_detailed[0].lower() + occurrence.text_detailed[1:],
                next_attempt_at=at,
            )
        ],
        ignore_conflicts=True,
    )


def _schedule_next_morning(occurrence: ReminderOccurrence) -> None:
    """DOMAIN A3: a missed weekly (or monthly) oral bisphosphonate is taken the next morning, never two on one day;
    a monthly one only when the next dose is more than 7 days away. The catch-up is created now and skipped at
    dispatch if the dose (for its date, or that morning) has been recorded by then."""
    if occurrence.kind != OccurrenceKind.REMINDER or occurrence.source_kind != "medication":
        return
    schedule = Schedule.objects.filter(pk=occurrence.source_id).select_related("medication", "patient__profile").first()
    if schedule is None or schedule.medication.drug_class != DrugClass.ORAL_BISPHOSPHONATE or schedule.unit == "day":
        return
    zone = clock.zone(schedule.patient.profile.timezone)
    morning = occurrence.local_date + timedelta(days=1)
    due_at = to_instant(morning, schedule.local_time, zone)
    if schedule.unit == "month":
        upcoming = next_occurrence(
            recurrence_of(schedule),
            local_time=schedule.local_time,
            zone=zone,
            starts_on=schedule.starts_on,
            ends_on=schedule.ends_on,
            after=due_at - timedelta(seconds=1),
        )
        if upcoming is not None and (upcoming.local_date - morning).days <= MONTHLY_SKIP_WITHIN_DAYS:
            return  # A3 (monthly): the next scheduled dose is close; skip rather than double up
    ReminderOccurrence.objects.bulk_create(
        [
            ReminderOccurrence(
                patient_id=occurrence.patient_id,
                source_kind=occurrence.source_kind,
                source_id=occurrence.source_id,
                kind=OccurrenceKind.NEXT_MORNING,
                local_date=morning,
                local_time=schedule.local_time,
                due_at=due_at,
                dose_date=occurrence.local_date,
                expires_at=due_at + (occurrence.expires_at - occurrence.due_at),
                text_generic="Missed yesterday's medicine? Take it this morning, never two on the same day",
                text_detailed=(
                    f"Missed your {schedule.medication.name.lower()} yesterday? Take it this morning as usual; "
                    "never two on the same day, then back to your usual day."
                ),
                next_attempt_at=due_at,
            )
        ],
        ignore_conflicts=True,
    )


def dispatch(*, now: datetime | None = None, max_batches: int = 1000) -> DispatchReport:
    now = now or clock.now()
    report = DispatchReport()
    for _ in range(max_batches):
        if dispatch_batch(now=now, report=report) < BATCH:
            break
    return report
