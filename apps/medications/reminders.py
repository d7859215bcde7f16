"""Reminder sources of the medications app: scheduled doses, and booking reminders for 6-monthly injections
(DOMAIN D5: due_soon -> remind to book; due and later -> a daily reminder)."""

from collections.abc import Collection, Iterable, Iterator
from datetime import date, datetime, timedelta
from uuid import UUID

from django.db.models import QuerySet

from apps.medications.models import DrugClass, Schedule, ScheduleStatus
from apps.medications.rules.injection import BANDS_BY_DRUG, InjectionState, injection_status
from apps.medications.selectors import recurrence_of
from backend import clock
from backend.recurrence import occurrences, to_instant
from backend.reminder_sources import ReminderSlot

GENERIC_DOSE_TEXT = {
    "day": "Time for your daily medicine",
    "week": "Time for your weekly medicine",
    "month": "Time for your monthly medicine",
}
# DOMAIN A1: taken on waking, fasting; three hours on, breakfast has usually happened and the dose waits (A3).
FASTING_DOSE_STALE_MINUTES = 180
BOOKING_DAYS_BEFORE = frozenset({28, 21, 14, 7, 1})  # design: weekly nudges to book while due_soon (D5), then daily


def _active(patient_ids: Iterable[UUID] | None) -> QuerySet[Schedule]:
    rows = Schedule.objects.filter(status=ScheduleStatus.ACTIVE).select_related("medication", "patient__profile")
    if patient_ids is not None:
        rows = rows.filter(patient_id__in=list(patient_ids))
    return rows


def _live(source_ids: Collection[UUID], *, injectable: bool) -> set[UUID]:
    rows = Schedule.objects.filter(pk__in=list(source_ids), status=ScheduleStatus.ACTIVE)
    rows = rows.exclude(medication__injection_bands="") if injectable else rows.filter(medication__injection_bands="")
    return set(rows.values_list("pk", flat=True))


class MedicationReminderSource:
    kind = "medication"

    def live(self, source_ids: Collection[UUID]) -> set[UUID]:
        return _live(source_ids, injectable=False)

    def slots(
        self, *, window_start: datetime, window_end: datetime, patient_ids: Iterable[UUID] | None = None
    ) -> Iterator[ReminderSlot]:
        for schedule in _active(patient_ids).filter(medication__injection_bands="").iterator(chunk_size=500):
            zone = clock.zone(schedule.patient.profile.timezone)
            for occurrence in occurrences(
                recurrence_of(schedule),
                local_time=schedule.local_time,
                zone=zone,
                starts_on=schedule.starts_on,
                ends_on=schedule.ends_on,
                window_start=window_start,
                window_end=window_end,
            ):
                yield ReminderSlot(
                    source_kind=self.kind,
                    source_id=schedule.id,
                    patient_id=schedule.patient_id,
                    local_date=occurrence.local_date,
                    local_time=occurrence.local_time,
                    due_at=occurrence.due_at,
                    text_generic=GENERIC_DOSE_TEXT.get(schedule.unit, "Time for your medicine"),
                    text_detailed=f"Time for your {schedule.medication.name.lower()} {schedule.dose}",
                    stale_after_minutes=FASTING_DOSE_STALE_MINUTES
                    if schedule.medication.drug_class == DrugClass.ORAL_BISPHOSPHONATE
                    else None,
                )


class InjectionBookingReminderSource:
    kind = "injection_booking"

    def live(self, source_ids: Collection[UUID]) -> set[UUID]:
        return _live(source_ids, injectable=True)

    def slots(
        self, *, window_start: datetime, window_end: datetime, patient_ids: Iterable[UUID] | None = None
    ) -> Iterator[ReminderSlot]:
        latest_due = window_end.date() + timedelta(days=max(BOOKING_DAYS_BEFORE) + 1)
        rows = _active(patient_ids).exclude(medication__injection_bands="").filter(next_due_on__lte=latest_due)
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
                    yield ReminderSlot(
                        source_kind=self.kind,
                        source_id=schedule.id,
                        patient_id=schedule.patient_id,
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
