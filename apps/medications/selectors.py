"""Reads for medications: schedules with their live state, occurrences, doses, the review queue."""

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import Case, F, Q, QuerySet, When

from apps.accounts.models import Patient, User
from apps.medications.models import DoseRecord, Medication, ReviewStatus, Schedule, ScheduleStatus
from apps.medications.rules.injection import InjectionStatus
from apps.medications.rules.recurrence import Occurrence, next_occurrence, occurrences_between_dates, to_instant
from apps.medications.services import injection_status_now, recurrence_of
from backend import clock
from backend.access import patient_scope


def medication_list() -> QuerySet[Medication]:
    return Medication.objects.all()


def schedule_list(*, patient: Patient) -> QuerySet[Schedule]:
    return Schedule.objects.filter(patient=patient).select_related("medication", "patient__profile")


def schedules_due_for_injection_check(*, now: datetime, limit: int, skip: Collection[uuid.UUID] = ()) -> list[Schedule]:
    """Schedules whose injection check is due, with what the check reads, in one query (partial index).
    `skip`: rows that already failed in this run (they stay due for the next one)."""
    return list(
        Schedule.objects.filter(injection_next_check_at__lte=now)
        .exclude(pk__in=skip)
        .select_related("medication", "patient__profile")
        .order_by("injection_next_check_at", "id")[:limit]
    )


@dataclass(frozen=True)
class ScheduleState:
    next_due: date | None
    next_due_at: datetime | None
    injection: InjectionStatus | None


def schedule_state(schedule: Schedule, *, now: datetime | None = None) -> ScheduleState:
    """What the app and the console show: computed live, in the patient's local date."""
    now = now or clock.now()
    injection = injection_status_now(schedule, now)
    if injection is not None:
        zone = clock.zone(schedule.patient.profile.timezone)
        return ScheduleState(injection.next_due, to_instant(injection.next_due, schedule.local_time, zone), injection)
    if schedule.status != ScheduleStatus.ACTIVE:
        return ScheduleState(None, None, None)
    upcoming = next_occurrence(
        recurrence_of(schedule),
        local_time=schedule.local_time,
        zone=clock.zone(schedule.patient.profile.timezone),
        starts_on=schedule.starts_on,
        ends_on=schedule.ends_on,
        after=now,
    )
    if upcoming is None:
        return ScheduleState(None, None, None)
    return ScheduleState(upcoming.local_date, upcoming.due_at, None)


def schedule_occurrences(schedule: Schedule, *, first: date, last: date) -> list[Occurrence]:
    return occurrences_between_dates(
        recurrence_of(schedule),
        local_time=schedule.local_time,
        zone=clock.zone(schedule.patient.profile.timezone),
        starts_on=schedule.starts_on,
        ends_on=schedule.ends_on,
        first=first,
        last=last,
    )


def dose_list(*, patient: Patient, schedule_id: uuid.UUID | None = None) -> QuerySet[DoseRecord]:
    rows = DoseRecord.objects.filter(patient=patient)
    if schedule_id is not None:
        rows = rows.filter(schedule_id=schedule_id)
    return rows.order_by("-taken_at", "id")


def review_queue(*, user: User) -> QuerySet[Schedule]:
    """Schedules awaiting review among the patients the user may see, oldest first."""
    return (
        Schedule.objects.filter(patient_scope(user), review_status=ReviewStatus.PENDING)
        .select_related("medication", "patient__profile", "patient__user")
        .order_by("created_at", "id")
    )


def with_list_adherence(schedules: QuerySet[Schedule], *, now: datetime | None = None) -> QuerySet[Any]:
    """Annotate schedules with the stored 90-day PDC in force at `now` (``list_pdc``, None: not measured yet) and
    the days it is over (``list_pdc_days``): today's figure, or tomorrow's once her midnight has passed
    (``adherence_next_at``), so the list moves at the same instant as the live figure, before any job runs."""
    now = now or clock.now()
    turned = Q(adherence_next_at__isnull=False, adherence_next_at__lte=now)
    return schedules.annotate(
        list_pdc=Case(When(turned, then=F("adherence_pdc_next")), default=F("adherence_pdc")),
        list_pdc_days=Case(When(turned, then=F("adherence_days_next")), default=F("adherence_days")),
    )
