"""Keep a rolling horizon of reminder occurrences in step with every reminder source.

New slots are inserted (a unique constraint makes re-runs harmless); pending future occurrences whose slot no longer
exists (a schedule paused, moved or stopped) are cancelled with a reason; nothing already sent is touched.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from django.db import transaction

from apps.reminders.models import OccurrenceKind, OccurrenceState, ReminderOccurrence
from apps.reminders.occurrences import from_slot
from backend import clock
from backend.reminder_sources import ReminderSlot, reminder_sources

HORIZON = timedelta(days=14)
CHUNK = 1000

Key = tuple[str, UUID, str, datetime]


@dataclass
class MaterialiseReport:
    slots: int = 0
    created: int = 0
    cancelled: int = 0


def materialise(*, now: datetime | None = None, patient_ids: Iterable[UUID] | None = None) -> MaterialiseReport:
    now = now or clock.now()
    ids = list(patient_ids) if patient_ids is not None else None
    report = MaterialiseReport()
    wanted: dict[Key, ReminderSlot] = {}
    for source in reminder_sources():
        for slot in source.slots(window_start=now, window_end=now + HORIZON, patient_ids=ids):
            wanted[(slot.source_kind, slot.source_id, OccurrenceKind.REMINDER, slot.due_at)] = slot
    report.slots = len(wanted)
    future = ReminderOccurrence.objects.filter(kind=OccurrenceKind.REMINDER, due_at__gte=now)
    if ids is not None:
        future = future.filter(patient_id__in=ids)
    with transaction.atomic():
        existing: dict[Key, tuple[UUID, str]] = {
            (kind, source_id, occ_kind, due_at): (pk, state)
            for pk, kind, source_id, occ_kind, due_at, state in future.values_list(
                "pk", "source_kind", "source_id", "kind", "due_at", "state"
            )
        }
        gone = [pk for key, (pk, state) in existing.items() if key not in wanted and state == OccurrenceState.PENDING]
        if gone:
            report.cancelled = ReminderOccurrence.objects.filter(pk__in=gone, state=OccurrenceState.PENDING).update(
                state=OccurrenceState.CANCELLED, reason="its schedule or plan changed", finished_at=now
            )
        back = [pk for key, (pk, state) in existing.items() if key in wanted and state == OccurrenceState.CANCELLED]
        if back:  # a paused schedule resumed: the same slots are wanted again
            report.created += ReminderOccurrence.objects.filter(pk__in=back).update(
                state=OccurrenceState.PENDING, reason="", finished_at=None
            )
        new = [from_slot(slot) for key, slot in wanted.items() if key not in existing]
        for start in range(0, len(new), CHUNK):
            ReminderOccurrence.objects.bulk_create(new[start : start + CHUNK], ignore_conflicts=True)
        report.created += len(new)
    return report
