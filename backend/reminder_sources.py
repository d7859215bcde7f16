"""One interface for everything that can remind a patient: medication schedules, supplement times, exercise days,
injection booking. Each app registers a source at start-up; the reminders app asks every registered source for its
slots in a window, and for everything specific to its kind (is the thing done already, how long a reminder helps,
whether an unanswered one is nudged, what follows a missed one), so it needs no special case per kind. A new kind is
one `ReminderSource` subclass and its `register_reminder_source` call.

A source answers with plain data, computed in the patient's zone (DST-correct through the recurrence rules), so
the dispatcher can materialise, deduplicate (source_kind, source_id, kind, due_at) and push them.
"""

from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol
from uuid import UUID

from django.db.models import QuerySet

from backend import clock
from backend.lookups import among
from backend.recurrence import Recurrence, occurrences

# The kinds of occurrence (`apps.reminders.models.OccurrenceKind`): a source's own reminder, the dispatcher's nudge
# when the thing is still not done after the grace period, and a source's follow-up of a missed one.
REMINDER = "reminder"
NUDGE = "nudge"
NEXT_MORNING = "next_morning"
DEFAULT_STALE_AFTER_MINUTES = 6 * 60  # design (issue 5): how long a reminder stays useful unless its kind says


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
    # A follow-up (`ReminderSource.follow_ups_when_missed`) or nudge says what it is, the date of the thing it is
    # about (None: local_date) and when it stops helping (None: due_at plus the staleness above or the kind's).
    kind: str = REMINDER
    dose_date: date | None = None
    expires_at: datetime | None = None


class DueReminder(Protocol):
    """What a source is shown of a reminder occurrence (a `ReminderOccurrence` row, read only)."""

    @property
    def pk(self) -> Any: ...
    @property
    def source_kind(self) -> str: ...
    @property
    def source_id(self) -> UUID: ...
    @property
    def patient_id(self) -> Any: ...
    @property
    def kind(self) -> str: ...
    @property
    def local_date(self) -> date: ...
    @property
    def local_time(self) -> time: ...
    @property
    def dose_date(self) -> date | None: ...
    @property
    def expires_at(self) -> datetime: ...


class ReminderSource:
    """A kind of reminder. Subclasses answer `slots` and `active` (or `live`); the rest has defaults that suit a
    kind whose reminders are not followed up."""

    kind: str
    stale_after_minutes: int = DEFAULT_STALE_AFTER_MINUTES
    # A sent reminder of this kind is checked after the patient's nudge delay, and nudged if still not `done`.
    nudges: bool = False

    def slots(
        self, *, window_start: datetime, window_end: datetime, patient_ids: Iterable[UUID] | None = None
    ) -> Iterator[ReminderSlot]:
        """Slots with due_at in [window_start, window_end), for these patients (None: all), active sources only."""
        raise NotImplementedError

    def active(self) -> QuerySet[Any]:
        """This kind's schedules or plans in force (what the default `live` checks against)."""
        raise NotImplementedError

    def live(self, source_ids: Collection[UUID]) -> set[UUID]:
        """Those of these ids whose schedule or plan still exists and is active (the dispatcher checks before
        pushing: a follow-up of a stopped schedule, or a reminder whose plan was removed, is not sent)."""
        return set(self.active().filter(among("pk", source_ids)).values_list("pk", flat=True))

    def done(self, reminders: Sequence[DueReminder]) -> set[Any]:
        """The pks of those whose thing is done already (the dose recorded): skipped, and never nudged."""
        return set()

    def follow_ups_when_missed(self, missed: Sequence[DueReminder]) -> list[ReminderSlot]:
        """What follows reminders that went out or expired and look missed (no nudge is to check them)."""
        return []

    def slot(self, plan: Any, *, local_date: date, local_time: time, due_at: datetime, **texts: Any) -> ReminderSlot:
        """A slot of this kind for this schedule or plan (`texts`: text_generic, text_detailed and any other
        `ReminderSlot` field)."""
        return ReminderSlot(
            source_kind=self.kind,
            source_id=plan.id,
            patient_id=plan.patient_id,
            local_date=local_date,
            local_time=local_time,
            due_at=due_at,
            **texts,
        )

    def recurring_slots(
        self,
        plan: Any,
        recurrence: Recurrence,
        *,
        local_time: time,
        window_start: datetime,
        window_end: datetime,
        **texts: Any,
    ) -> Iterator[ReminderSlot]:
        """The slots of a schedule or plan (its id, patient_id, starts_on, ends_on and patient.profile.timezone)
        recurring at `local_time` in the patient's zone between its start and
        end dates, with due_at in [window_start, window_end) (DST-correct: backend.recurrence)."""
        for occurrence in occurrences(
            recurrence,
            local_time=local_time,
            zone=clock.zone(plan.patient.profile.timezone),
            starts_on=plan.starts_on,
            ends_on=plan.ends_on,
            window_start=window_start,
            window_end=window_end,
        ):
            yield self.slot(
                plan,
                local_date=occurrence.local_date,
                local_time=occurrence.local_time,
                due_at=occurrence.due_at,
                **texts,
            )


_sources: dict[str, ReminderSource] = {}


def register_reminder_source(source: ReminderSource) -> None:
    _sources[source.kind] = source


def unregister_reminder_source(kind: str) -> None:
    _sources.pop(kind, None)


def reminder_sources() -> list[ReminderSource]:
    return [_sources[kind] for kind in sorted(_sources)]


def stale_after(source_kind: str, source_minutes: int | None) -> timedelta:
    """How long a reminder helps: the slot's own figure, else its kind's, else the default."""
    source = _sources.get(source_kind)
    kind_minutes = source.stale_after_minutes if source is not None else DEFAULT_STALE_AFTER_MINUTES
    return timedelta(minutes=source_minutes or kind_minutes)


def _by_kind(reminders: Iterable[DueReminder]) -> Iterator[tuple[ReminderSource, list[DueReminder]]]:
    groups: dict[str, list[DueReminder]] = defaultdict(list)
    for reminder in reminders:
        groups[reminder.source_kind].append(reminder)
    for kind, group in groups.items():
        source = _sources.get(kind)
        if source is not None:
            yield source, group


def live_sources(ids_by_kind: dict[str, set[UUID]]) -> set[tuple[str, UUID]]:
    """(kind, id) pairs still live, one query per kind; a kind no source registers has none."""
    live: set[tuple[str, UUID]] = set()
    for kind, ids in ids_by_kind.items():
        source = _sources.get(kind)
        if source is not None and ids:
            live.update((kind, source_id) for source_id in source.live(ids))
    return live


def done_reminders(reminders: Iterable[DueReminder]) -> set[Any]:
    """The pks of the reminders whose thing is done already, each kind asked once for its part."""
    done: set[Any] = set()
    for source, group in _by_kind(reminders):
        done |= source.done(group)
    return done


def follow_ups_when_missed(missed: Iterable[DueReminder]) -> list[ReminderSlot]:
    """Each kind's follow-ups of its reminders that look missed."""
    return [slot for source, group in _by_kind(missed) for slot in source.follow_ups_when_missed(group)]


def kind_nudges(source_kind: str) -> bool:
    """Whether a sent reminder of this kind is checked and nudged (a kind no longer registered: no)."""
    source = _sources.get(source_kind)
    return source is not None and source.nudges
