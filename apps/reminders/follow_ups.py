"""What follows a reminder that went out: the nudge when its thing is still not done after the patient's grace
period (for kinds whose source asks for nudges), and the source's own follow-ups of one that looks missed (for
medications the DOMAIN A3 next-morning catch-up). The kinds' rules live with their sources
(`backend.reminder_sources`); this module only asks them and builds the occurrences."""

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from apps.reminders.claims import BATCH
from apps.reminders.models import OccurrenceKind, ReminderOccurrence, ReminderPreference
from apps.reminders.occurrences import from_slot, nudge_of
from apps.reminders.patients import PatientContext
from backend.reminder_sources import done_reminders, follow_ups_when_missed, kind_nudges

log = logging.getLogger(__name__)


def nudge_time(occurrence: ReminderOccurrence, context: PatientContext) -> datetime | None:
    """When a sent reminder's follow-up check is due; None when it gets no nudge (its kind has none, the patient
    switched them off, or the grace period ends after the reminder stops being useful)."""
    if occurrence.kind != OccurrenceKind.REMINDER or not kind_nudges(occurrence.source_kind):
        return None
    if not context.nudges_enabled:
        return None
    at = occurrence.due_at + timedelta(minutes=context.nudge_after_minutes)
    return at if at < occurrence.expires_at else None


def plan_nudges(*, now: datetime, limit: int = BATCH) -> tuple[int, int]:
    """Sent reminders whose grace period is over: a nudge (due at once) for each whose thing is still not done.
    Checked and cleared in one transaction, SKIP LOCKED: concurrent dispatchers never plan one twice.
    Answers (reminders checked, nudges created)."""
    with transaction.atomic():
        due = list(
            ReminderOccurrence.objects.filter(follow_up_at__lte=now)
            .order_by("follow_up_at")
            .select_for_update(skip_locked=True)[:limit]
        )
        if not due:
            return 0, 0
        done = done_reminders(due)
        # Preferences as they are now: nudges switched off since the reminder went out means no nudge.
        switched_off = set(
            ReminderPreference.objects.filter(pk__in={o.patient_id for o in due}, nudges_enabled=False).values_list(
                "pk", flat=True
            )
        )
        created: list[ReminderOccurrence] = []
        for occurrence in due:
            if occurrence.patient_id in switched_off or occurrence.pk in done:
                continue
            try:
                created.append(nudge_of(occurrence))
            except Exception:  # one malformed row loses its nudge, not everyone's
                log.exception("could not plan the nudge of occurrence %s", occurrence.pk)
        ReminderOccurrence.objects.bulk_create(created, ignore_conflicts=True, batch_size=1000)
        ReminderOccurrence.objects.filter(pk__in=[o.pk for o in due]).update(follow_up_at=None)
    return len(due), len(created)


def plan_when_missed(
    *, fired: list[ReminderOccurrence], expired: list[ReminderOccurrence], contexts: dict[Any, PatientContext]
) -> None:
    """The sources' follow-ups once the thing looks missed: a reminder or nudge that expired, a nudge that went
    out, or a reminder that went out with no nudge to follow it (one with a nudge waits for the nudge's check)."""
    maybe_missed = expired + [o for o in fired if nudge_time(o, contexts[o.patient_id]) is None]
    rows = [from_slot(slot) for slot in follow_ups_when_missed(maybe_missed)]
    if rows:
        ReminderOccurrence.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
