"""Adherence per schedule over a window (DOMAIN P1, P2), from dose records counted by when they were taken.

The window starts when tracking began (``tracking_start``) and ends today once a dose covers today, else yesterday
(``judged_through``); a schedule tracked fewer than MIN_TRACKED_DAYS days has no PDC. The API, the console's patient
page (computed here, live) and the patient list (the figure stored on the schedule by ``stored_adherence``,
refreshed on every change that moves it) show the same number at every moment. The days a schedule was paused
(``Schedule.pauses``) are out of the window and not tracked, in all three (``schedule_pauses``).
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import OuterRef, Subquery

from apps.accounts.models import Patient
from apps.medications.models import DoseRecord, DoseStatus, Schedule, ScheduleStatus
from apps.medications.rules.adherence import (
    COVERAGE_DAYS,
    AdherenceResult,
    CoverDays,
    Pause,
    active_days_in_window,
    calendar_month_cover_days,
    is_measured,
    judged_through,
    paused_days,
    proportion_of_days_covered,
    tracked_days,
    tracking_start,
)
from apps.medications.selectors import schedule_occurrences
from backend import clock
from backend.dates import add_months
from backend.recurrence import to_instant

LOOKBACK_DAYS = 183  # DOMAIN P2: the longest a dose covers, so a dose before the window still counts
LIST_WINDOW_DAYS = 90  # DOMAIN P1 as the issue sets it: the patient list and the low-adherence alert use 90 days


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
    result: AdherenceResult  # over the tracked part of the window
    tracked_since: date
    tracked_days: int  # since tracking began, up to today or the schedule's last active day

    @property
    def measured(self) -> bool:
        # A window paused throughout (resumed today, today not yet judged) has no day to judge: no PDC either.
        return is_measured(self.tracked_days) and self.result.days_in_window > 0

    @property
    def pdc(self) -> Decimal | None:
        """None: "not measured yet" (fewer than MIN_TRACKED_DAYS tracked days)."""
        return self.result.pdc if self.measured else None

    @property
    def adherent(self) -> bool | None:
        return self.result.adherent if self.measured else None

    @property
    def days_in_window(self) -> int:
        return self.result.days_in_window


def with_first_record(schedules: Any) -> Any:
    """Annotate a Schedule queryset with the local date of its first dose record (tracking evidence)."""
    first = DoseRecord.objects.filter(schedule=OuterRef("pk")).order_by("taken_on").values("taken_on")[:1]
    return schedules.annotate(first_record_on=Subquery(first))


def patient_adherence(*, patient: Patient, window_days: int, today: date | None = None) -> list[ScheduleAdherence]:
    """PDC of each of the patient's schedules active at some point in the last `window_days` local days."""
    today = today or clock.local_today(patient.profile.timezone)
    first = today - timedelta(days=window_days - 1)
    schedules = [
        s
        for s in with_first_record(
            Schedule.objects.filter(patient=patient).select_related("medication", "patient__profile")
        )
        if active_days_in_window(
            window_first=first,
            window_last=today,
            active_first=s.starts_on,
            active_last=active_last(s),
            pauses=schedule_pauses(s),
        )
        > 0
    ]
    return adherence_for(schedules, first=first, last=today)


def active_last(schedule: Schedule) -> date | None:
    if schedule.status == ScheduleStatus.STOPPED and schedule.status_changed_at is not None:
        stopped = clock.local_today(schedule.patient.profile.timezone, schedule.status_changed_at)
        return min(stopped, schedule.ends_on) if schedule.ends_on else stopped
    return schedule.ends_on


def schedule_pauses(schedule: Schedule) -> list[Pause]:
    """Its pauses as (paused_on, resumed_on) local dates (DOMAIN P1: left out of the PDC's window)."""
    return [
        (
            date.fromisoformat(p["paused_on"]),
            date.fromisoformat(p["resumed_on"]) if p.get("resumed_on") else None,
        )
        for p in schedule.pauses
    ]


def schedule_tracked_since(schedule: Schedule) -> date:
    """``tracking_start`` of a schedule read through ``with_first_record`` (the annotation saves a query)."""
    first_record = getattr(schedule, "first_record_on", None)
    if not hasattr(schedule, "first_record_on"):
        first_record = (
            DoseRecord.objects.filter(schedule=schedule).order_by("taken_on").values_list("taken_on", flat=True).first()
        )
    entered = clock.local_today(schedule.patient.profile.timezone, schedule.created_at)
    return tracking_start(starts_on=schedule.starts_on, entered_on=entered, first_record_on=first_record)


def _taken_dates(schedules: list[Schedule], *, first: date, last: date) -> dict[object, list[date]]:
    taken: dict[object, list[date]] = defaultdict(list)
    rows = DoseRecord.objects.filter(
        schedule__in=schedules,
        status=DoseStatus.TAKEN,
        taken_on__gte=first - timedelta(days=LOOKBACK_DAYS),
        taken_on__lte=last,
    ).values_list("schedule_id", "taken_on")
    for schedule_id, taken_on in rows:
        taken[schedule_id].append(taken_on)
    return taken


def _covers(schedule: Schedule, taken: list[date], *, since: date, day: date) -> bool:
    """Whether the doses taken cover this day (DOMAIN P2, with the PQA carry-over; coverage runs through pauses)."""
    if day < since:
        return False
    return (
        proportion_of_days_covered(
            taken_on=[d for d in taken if d <= day],
            cover_days=cover_days(schedule),
            window_first=day,
            window_last=day,
            active_first=since,
            active_last=None,
            doses_expected=0,
        ).days_covered
        == 1
    )


def _one(schedule: Schedule, taken: list[date], *, first: date, last: date) -> ScheduleAdherence:
    since = schedule_tracked_since(schedule)
    ends = active_last(schedule)
    pauses = schedule_pauses(schedule)
    if ends is None or ends >= last:  # her day `last` is still running: judged once a dose covers it
        judged = judged_through(today=last, today_covered=_covers(schedule, taken, since=since, day=last))
        first, last = first - (last - judged), judged
    tracked = tracked_days(tracked_since=since, today=last, active_last=ends, pauses=pauses)
    window_last = min(last, ends) if ends else last
    window_first = max(first, since)
    # Entered after it ended, not tracked inside this window, or paused throughout it: nothing to measure.
    if (
        window_last < window_first
        or active_days_in_window(
            window_first=window_first,
            window_last=window_last,
            active_first=window_first,
            active_last=window_last,
            pauses=pauses,
        )
        == 0
    ):
        empty = AdherenceResult(
            pdc=Decimal("0.000"), days_covered=0, days_in_window=0, doses_expected=0, doses_taken=0, adherent=False
        )
        return ScheduleAdherence(schedule, empty, since, tracked)
    paused = paused_days(pauses, first=window_first, last=window_last)
    result = proportion_of_days_covered(
        taken_on=[d for d in taken if d <= last],
        cover_days=cover_days(schedule),
        window_first=first,
        window_last=last,
        active_first=since,
        active_last=ends,
        doses_expected=sum(
            1
            for o in schedule_occurrences(schedule, first=window_first, last=window_last)
            if o.local_date not in paused
        ),
        pauses=pauses,
    )
    return ScheduleAdherence(schedule, result, since, tracked)


def adherence_for(schedules: list[Schedule], *, first: date, last: date) -> list[ScheduleAdherence]:
    """One query for the doses of all these schedules (annotate them with ``with_first_record`` to save one more
    per schedule)."""
    taken = _taken_dates(schedules, first=first, last=last)
    return [_one(schedule, taken[schedule.pk], first=first, last=last) for schedule in schedules]


# --- the figure the patient list shows and filters on -------------------------------------------------------------
@dataclass(frozen=True)
class StoredAdherence:
    """The 90-day figure of a schedule for her local today and for tomorrow (if nothing changes before then), and
    the instant tomorrow begins in her zone: the list reads the second figure from that instant on, so it moves at
    her midnight exactly as the live figure does, without waiting for a job."""

    on: date
    pdc: Decimal | None
    days: int | None
    pdc_next: Decimal | None
    days_next: int | None
    next_at: datetime


def stored_adherence(schedules: list[Schedule], *, now: datetime) -> dict[object, StoredAdherence]:
    """The figures to store for these (active) schedules of one or more patients: two queries in all."""
    schedules = list(
        with_first_record(Schedule.objects.filter(pk__in=[s.pk for s in schedules])).select_related(
            "medication", "patient__profile"
        )
    )
    by_day: dict[date, list[Schedule]] = defaultdict(list)
    for schedule in schedules:
        by_day[clock.local_today(schedule.patient.profile.timezone, now)].append(schedule)
    earliest = min(by_day, default=None)
    if earliest is None:
        return {}
    latest = max(by_day) + timedelta(days=1)
    taken = _taken_dates(schedules, first=earliest - timedelta(days=LIST_WINDOW_DAYS - 1), last=latest)
    out: dict[object, StoredAdherence] = {}
    for today, group in by_day.items():
        tomorrow = today + timedelta(days=1)
        for schedule in group:
            now_row = _one(schedule, taken[schedule.pk], first=today - timedelta(days=LIST_WINDOW_DAYS - 1), last=today)
            next_row = _one(
                schedule, taken[schedule.pk], first=tomorrow - timedelta(days=LIST_WINDOW_DAYS - 1), last=tomorrow
            )
            zone = clock.zone(schedule.patient.profile.timezone)
            out[schedule.pk] = StoredAdherence(
                on=today,
                pdc=now_row.pdc,
                days=now_row.days_in_window if now_row.measured else None,
                pdc_next=next_row.pdc,
                days_next=next_row.days_in_window if next_row.measured else None,
                next_at=to_instant(tomorrow, time(0, 0), zone),
            )
    return out
