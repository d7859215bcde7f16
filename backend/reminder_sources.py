"""One interface for everything that can remind a patient: medication schedules, supplement times, exercise days,
injection booking. Each app registers a source at start-up; the reminders work (issue 5) asks every registered
source for its slots in a window and needs no special case per kind.

A source answers with plain data, computed in the patient's zone (DST-correct through the recurrence rules), so
the dispatcher can materialise, deduplicate (source_kind, source_id, due_at) and push them.
"""

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Protocol
from uuid import UUID


@dataclass(frozen=True)
class ReminderSlot:
    source_kind: str  # "medication" | "supplement" | "exercise" | "injection_booking" | ...
    source_id: UUID  # the schedule/plan the slot comes from
    patient_id: UUID
    local_date: date
    local_time: time
    due_at: datetime  # aware, UTC
    # Privacy (DESIGN): the generic text names no drug or diagnosis; the detailed one is used only with opt-in.
    text_generic: str
    text_detailed: str
    # After this long a reminder no longer helps (a fasting morning dose at night): expire instead of sending.
    stale_after_minutes: int | None = None


class ReminderSource(Protocol):
    kind: str

    def slots(
        self, *, window_start: datetime, window_end: datetime, patient_ids: Iterable[UUID] | None = None
    ) -> Iterator[ReminderSlot]:
        """Slots with due_at in [window_start, window_end), for these patients (None: all), active sources only."""
        ...

    def live(self, source_ids: Collection[UUID]) -> set[UUID]:
        """Those of these ids whose schedule or plan still exists and is active (the dispatcher checks before
        pushing: a follow-up of a stopped schedule, or a reminder whose plan was removed, is not sent)."""
        ...


_sources: dict[str, ReminderSource] = {}


def register_reminder_source(source: ReminderSource) -> None:
    _sources[source.kind] = source


def reminder_sources() -> list[ReminderSource]:
    return [_sources[kind] for kind in sorted(_sources)]


def live_sources(ids_by_kind: dict[str, set[UUID]]) -> set[tuple[str, UUID]]:
    """(kind, id) pairs still live, one query per kind; a kind no source registers has none."""
    live: set[tuple[str, UUID]] = set()
    for kind, ids in ids_by_kind.items():
        source = _sources.get(kind)
        if source is not None and ids:
            live.update((kind, source_id) for source_id in source.live(ids))
    return live
