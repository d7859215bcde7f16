"""Adherence per schedule over a window (DOMAIN P1, P2), from dose records counted by when they were taken."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from apps.accounts.models import Patient
from apps.medications.models import DoseRecord, DoseStatus, Schedule, ScheduleStatus
from apps.medications.rules.adherence import (
    COVERAGE_DAYS,
    AdherenceResult,
    CoverDays,
    active_days_in_window,
    calendar_month_cover_days,
    proportion_of_days_covered,
)
from apps.medications.selectors import schedule_occurrences
from backend import clock
from backend.dates import add_months

LOOKBACK_DAYS = 183  # DOMAIN P2: the longest a dose covers, so a dose before the window still counts


def cover_days(schedule: Schedule) -> CoverDays:
    """DOMAIN P2: days one dose of this schedule covers."""
    if schedule.medication.injection_bands:
        return COVERAGE_DAYS["six_monthly_injection"]
    if schedule.unit == "month":
        if schedule.interval == 1:
            return calendar_month_cover_days
        months = schedule.interval
        return lambda start: (add_months(start, months) - start).days  # N calendar months from the dose
    return COVERAGE_DAYS[schedule.unit] * schedule.interval


@dataclass(frozen=True)
class ScheduleAdherence:
    schedule: Schedule
    result: AdherenceResult


def patient_adherence(*, patient: Patient, window_days: int, today: date | None = None) -> list[ScheduleAdherence]:
    """PDC of each of the patient's schedules active at some point in the last `window_days` local days."""
    today = today or clock.local_today(patient.profile.timezone)
    first = today - timedelta(days=window_days - 1)
    schedules = [
        s
        for s in Schedule.objects.filter(patient=patient).select_related("medication", "patient__profile")
        if active_days_in_window(
            window_first=first, window_last=today, active_first=s.starts_on, active_last=_active_last(s)
        )
        > 0
    ]
    return adherence_for(schedules, first=first, last=today)


def _active_last(schedule: Schedule) -> date | None:
    if schedule.status == ScheduleStatus.STOPPED and schedule.status_changed_at is not None:
        stopped = clock.local_today(schedule.patient.profile.timezone, schedule.status_changed_at)
        return min(stopped, schedule.ends_on) if schedule.ends_on else stopped
    return schedule.ends_on


def adherence_for(schedules: list[Schedule], *, first: date, last: date) -> list[ScheduleAdherence]:
    """One query for the doses of all these schedules."""
    taken: dict[object, list[date]] = defaultdict(list)
    rows = DoseRecord.objects.filter(
        schedule__in=schedules,
        status=DoseStatus.TAKEN,
        taken_on__gte=first - timedelta(days=LOOKBACK_DAYS),
        taken_on__lte=last,
    ).values_list("schedule_id", "taken_on")
    for schedule_id, taken_on in rows:
        taken[schedule_id].append(taken_on)
    out = []
    for schedule in schedules:
        active_last = _active_last(schedule)
        window_last = min(last, active_last) if active_last else last
        window_first = max(first, schedule.starts_on)
        expected = (
            len(schedule_occurrences(schedule, first=window_first, last=window_last))
            if window_last >= window_first
            else 0
        )
        result = proportion_of_days_covered(
            taken_on=taken[schedule.pk],
            cover_days=cover_days(schedule),
            window_first=first,
            window_last=last,
            active_first=schedule.starts_on,
            active_last=active_last,
            doses_expected=expected,
        )
        out.append(ScheduleAdherence(schedule, result))
    return out
