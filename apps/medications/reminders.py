"""Reminder sources of the medications app: scheduled doses (done when the dose is recorded, nudged when it is not,
followed by the DOMAIN A3 next-morning catch-up when missed), and booking reminders for 6-monthly injections
(DOMAIN D5: due_soon -> remind to book; due and later -> a daily reminder)."""

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from django.db.models import Q, QuerySet

from apps.medications.models import DoseRecord, DrugClass, Schedule, ScheduleStatus
from apps.medications.rules import missed_dose
from apps.medications.rules.injection import BANDS_BY_DRUG, InjectionState, injection_status
from apps.medications.selectors import recurrence_of, timing_of
from backend import clock
from backend.lookups import among
from backend.recurrence import to_instant
from backend.reminder_sources import NEXT_MORNING, NUDGE, REMINDER, DueReminder, ReminderSlot, ReminderSource

GENERIC_DOSE_TEXT = {
    "day": "Time for your daily medicine",
    "week": "Time for your weekly medicine",
    "month": "Time for your monthly medicine",
}
# DOMAIN A1: taken on waking, fasting; three hours on, breakfast has usually happened and the dose waits (A3).
FASTING_DOSE_STALE_MINUTES = 180
BOOKING_DAYS_BEFORE = frozenset({28, 21, 14, 7, 1})  # design: weekly nudges to book while due_soon (D5), then daily

# (instant) -> the ids of schedules with an appointment booked from that instant on, as a subquery: those are booked
# already, so the patient is not asked to call and book. Answered by the appointments app (a layer above), registered
# at start-up; a lookup, not an event.
BookedSchedules = Callable[[datetime], QuerySet[Any]]
_booked_schedules: BookedSchedules | None = None


def register_booked_schedules(provider: BookedSchedules) -> None:
    global _booked_schedules
    _booked_schedules = provider


def _active(patient_ids: Iterable[UUID] | None) -> QuerySet[Schedule]:
    rows = Schedule.objects.filter(status=ScheduleStatus.ACTIVE).select_related("medication", "patient__profile")
    if patient_ids is not None:
        rows = rows.filter(patient_id__in=list(patient_ids))
    return rows


def _live(source_ids: Collection[UUID], *, injectable: bool) -> set[UUID]:
    rows = Schedule.objects.filter(among("pk", source_ids), status=ScheduleStatus.ACTIVE)
    rows = rows.exclude(medication__injection_bands="") if injectable else rows.filter(medication__injection_bands="")
    return set(rows.values_list("pk", flat=True))


class MedicationReminderSource(ReminderSource):
    kind = "medication"
    stale_after_minutes = 6 * 60  # design (issue 5); a fasting dose says less (FASTING_DOSE_STALE_MINUTES)
    nudges = True

    def live(self, source_ids: Collection[UUID]) -> set[UUID]:
        return _live(source_ids, injectable=False)

    def slots(
        self, *, window_start: datetime, window_end: datetime, patient_ids: Iterable[UUID] | None = None
    ) -> Iterator[ReminderSlot]:
        for schedule in _active(patient_ids).filter(medication__injection_bands="").iterator(chunk_size=500):
            yield from self.recurring_slots(
                schedule,
                recurrence_of(schedule),
                local_time=schedule.local_time,
                window_start=window_start,
                window_end=window_end,
                text_generic=GENERIC_DOSE_TEXT.get(schedule.unit, "Time for your medicine"),
                text_detailed=f"Time for your {schedule.medication.name.lower()} {schedule.dose}",
                stale_after_minutes=FASTING_DOSE_STALE_MINUTES
                if schedule.medication.drug_class == DrugClass.ORAL_BISPHOSPHONATE
                else None,
            )

    def done(self, reminders: Sequence[DueReminder]) -> set[Any]:
        """A reminder or nudge is done when a dose is recorded for its dose date (yesterday's dose recorded late
        this morning does not silence today's); a next-morning catch-up also when any dose was taken that morning
        (A3: never two on one day)."""
        if not reminders:
            return set()
        dates = {r.local_date for r in reminders} | {r.dose_date for r in reminders if r.dose_date}
        rows = list(
            DoseRecord.objects.filter(
                among("schedule_id", {r.source_id for r in reminders}),
                Q(taken_on__in=dates) | Q(occurrence_on__in=dates),
            ).values_list("schedule_id", "taken_on", "occurrence_on")
        )
        for_date = {(schedule, occurrence_on or taken_on) for schedule, taken_on, occurrence_on in rows}
        taken_on = {(schedule, taken) for schedule, taken, _ in rows}
        return {
            r.pk
            for r in reminders
            if (r.source_id, r.dose_date or r.local_date) in for_date
            or (r.kind == NEXT_MORNING and (r.source_id, r.local_date) in taken_on)
        }

    def follow_ups_when_missed(self, missed: Sequence[DueReminder]) -> list[ReminderSlot]:
        """DOMAIN A3: the next-morning catch-up of a weekly or monthly oral bisphosphonate whose reminder (or nudge)
        went out or expired with the dose unrecorded; skipped at dispatch if the dose is recorded by then."""
        candidates = [r for r in missed if r.kind in (REMINDER, NUDGE)]
        if not candidates:
            return []
        schedules = (
            Schedule.objects.filter(
                pk__in={r.source_id for r in candidates}, medication__drug_class=DrugClass.ORAL_BISPHOSPHONATE
            )
            .exclude(unit="day")
            .select_related("medication", "patient__profile")
            .only(
                *("unit", "interval", "weekday", "month_day", "local_time", "starts_on", "ends_on"),
                *("medication__name", "patient__profile__timezone"),
            )
        )
        by_id = {s.pk: s for s in schedules}
        slots: list[ReminderSlot] = []
        for reminder in candidates:
            schedule = by_id.get(reminder.source_id)
            if schedule is None:
                continue
            timing = timing_of(schedule)
            due_at = missed_dose.catch_up_due(recurrence_of(schedule), **timing, missed_on=reminder.local_date)
            if due_at is None:
                continue
            slots.append(
                ReminderSlot(
                    source_kind=self.kind,
                    source_id=schedule.pk,
                    patient_id=reminder.patient_id,
                    kind=NEXT_MORNING,
                    local_date=reminder.local_date + timedelta(days=1),
                    local_time=schedule.local_time,
                    due_at=due_at,
                    dose_date=reminder.local_date,
                    # The dose's own window (a nudge keeps its reminder's local date and time, and its expiry).
                    expires_at=due_at
                    + (reminder.expires_at - to_instant(reminder.local_date, reminder.local_time, timing["zone"])),
                    text_generic=missed_dose.GENERIC_TEXT,
                    text_detailed=missed_dose.detailed_text(schedule.medication.name),
                )
            )
        return slots


class InjectionBookingReminderSource(ReminderSource):
    kind = "injection_booking"
    stale_after_minutes = 12 * 60  # design (issue 5): a call to the clinic can wait for office hours

    def live(self, source_ids: Collection[UUID]) -> set[UUID]:
        return _live(source_ids, injectable=True)

    def slots(
        self, *, window_start: datetime, window_end: datetime, patient_ids: Iterable[UUID] | None = None
    ) -> Iterator[ReminderSlot]:
        latest_due = window_end.date() + timedelta(days=max(BOOKING_DAYS_BEFORE) + 1)
        rows = _active(patient_ids).exclude(medication__injection_bands="").filter(next_due_on__lte=latest_due)
        if _booked_schedules is not None:  # booked already: nothing to call the clinic about
            rows = rows.exclude(pk__in=_booked_schedules(window_start))
        for schedule in rows.iterator(chunk_size=500):
            if schedule.next_due_on is None:
                continue
            bands = BANDS_BY_DRUG[schedule.medication.injection_bands]
            zone = clock.zone(schedule.patient.profile.timezone)
            day: date = window_start.astimezone(zone).date()
            while day <= window_end.astimezone(zone).date():
                status = injection_status(next_due=schedule.next_due_on, today=day, stopped=False, bands=bands)
                remind = (
                    status.state == InjectionState.DUE_SOON and status.days_until_due in BOOKING_DAYS_BEFORE
                ) or status.state in (InjectionState.DUE, InjectionState.LATE, InjectionState.CRITICAL)
                due_at = to_instant(day, schedule.local_time, zone)
                if remind and window_start <= due_at < window_end:
                    yield self.slot(
                        schedule,
                        local_date=day,
                        local_time=due_at.astimezone(zone).time(),
                        due_at=due_at,
                        text_generic="Please call your clinic to book your next injection",
                        text_detailed=(
                            f"Your {schedule.medication.name.lower()} {bands.dose_noun} is due on "
                            f"{schedule.next_due_on.day} {schedule.next_due_on:%B %Y}: please call your clinic."
                        ),
                    )
                day += timedelta(days=1)
