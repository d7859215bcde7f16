"""A dispatcher's claim on a batch of due occurrences, and the finaliser that records their outcomes only where the
claim still holds.

A claim has a deadline: a worker killed mid-batch leaves claims that the next run takes again after
`REMINDER_CLAIM_SECONDS` (setting; default `CLAIM_SECONDS`). That bounds the window in which a reminder could be
pushed twice: only a killed worker's batch, at most once more each, and not before its claims lapse.
"""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, PositiveSmallIntegerField, Q, When

from apps.reminders.models import OccurrenceState, ReminderOccurrence
from backend.lookups import among

BATCH = 500  # rows per claim: one FCM send_each call carries up to 500 messages
CLAIM_SECONDS = 120  # default; longer than a batch takes (200 provider calls at worst), short enough to retry soon
# What deciding, pushing and following up read of a claimed row: reading less (the timestamps above all) is a good
# part of a batch's time; the finaliser sets the other columns it writes.
_FIELDS = (
    *("patient_id", "source_kind", "source_id", "kind", "local_date", "local_time", "dose_date", "due_at"),
    *("expires_at", "text_generic", "text_detailed", "state", "attempts", "version"),
)


def claim(*, now: datetime, limit: int = BATCH) -> tuple[list[ReminderOccurrence], datetime]:
    """Claim due occurrences (pending and due, or claimed by a worker whose deadline passed): read and locked in
    one statement (SKIP LOCKED on PostgreSQL: concurrent dispatchers take disjoint rows), claimed in a second."""
    until = now + timedelta(seconds=getattr(settings, "REMINDER_CLAIM_SECONDS", CLAIM_SECONDS))
    due = Q(state=OccurrenceState.PENDING, next_attempt_at__lte=now) | Q(
        state=OccurrenceState.CLAIMED, claimed_until__lt=now
    )
    with transaction.atomic():
        rows = list(
            ReminderOccurrence.objects.filter(due)
            .order_by("next_attempt_at")
            .select_for_update(skip_locked=True)
            .only(*_FIELDS)[:limit]
        )
        if rows:
            # A retake (its worker died or hung) counts as an attempt: a row that kills workers ends up given up.
            retaken = Case(
                When(state=OccurrenceState.CLAIMED, then=F("attempts") + 1),
                default=F("attempts"),
                output_field=PositiveSmallIntegerField(),
            )
            ReminderOccurrence.objects.filter(among("pk", [row.pk for row in rows])).update(
                state=OccurrenceState.CLAIMED, claimed_until=until, attempts=retaken
            )
    for row in rows:  # as the update left them (the claim moves no sync version: claimed syncs as pending)
        if row.state == OccurrenceState.CLAIMED:
            row.attempts += 1
        row.state, row.claimed_until = OccurrenceState.CLAIMED, until
    rows.sort(key=lambda row: (row.due_at, row.pk))
    return rows, until


class Finisher:
    """Writes the batch's outcomes in a few statements whatever its size: occurrences with the same outcome are
    finalised together, and only those whose claim still holds (a claim retaken after its deadline belongs to
    another worker now). Values that differ per row (a quiet-hours end, a nudge time, an error) go in one more
    statement per outcome, in the same transaction."""

    PER_ROW = ("next_attempt_at", "follow_up_at", "reason")

    def __init__(self, until: datetime) -> None:
        self.until = until
        self.groups: dict[str, tuple[dict[str, Any], list[tuple[ReminderOccurrence, dict[str, Any]]]]] = {}

    def add(self, occurrence: ReminderOccurrence, **changes: Any) -> None:
        per_row = {name: changes.pop(name) for name in self.PER_ROW if name in changes}
        key = repr(sorted(changes.items())) + repr(sorted(per_row))
        self.groups.setdefault(key, (changes, []))[1].append((occurrence, per_row))

    def flush(self) -> set[Any]:
        """Apply every outcome; the ids whose claim held (and so were finalised by this worker)."""
        held: set[Any] = set()
        for common, rows in self.groups.values():
            held |= self._apply(common, rows)
        self.groups.clear()
        return held

    def _apply(self, common: dict[str, Any], rows: list[tuple[ReminderOccurrence, dict[str, Any]]]) -> set[Any]:
        ids = [occurrence.pk for occurrence, _ in rows]
        varying = [name for name in rows[0][1] if len({repr(values[name]) for _, values in rows}) > 1]
        changes = {**common, **{k: v for k, v in rows[0][1].items() if k not in varying}}
        with transaction.atomic():
            mine = ReminderOccurrence.objects.filter(
                among("pk", ids), state=OccurrenceState.CLAIMED, claimed_until=self.until
            )
            updated = mine.update(**changes)
            if updated == len(ids):
                held = set(ids)
            elif updated:
                # Some claims lapsed and were retaken (a retake sets a later deadline): ours still carry our deadline.
                ours = ReminderOccurrence.objects.filter(
                    among("pk", ids), claimed_until=self.until, state=changes["state"]
                )
                held = set(ours.values_list("pk", flat=True))
            else:
                held = set()
            if varying and held:
                objs = []
                for occurrence, values in rows:
                    if occurrence.pk in held:
                        for name in varying:
                            setattr(occurrence, name, values[name])
                        objs.append(occurrence)
                ReminderOccurrence.objects.bulk_update(objs, varying)
        return held
