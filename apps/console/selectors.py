"""Reads for the console pages. They compose the other apps' selectors and rules (scope, alerts, injection state,
adherence, nutrition, exercise, bone health) and add only what a page needs to show them together; no clinical rule
is decided here."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db.models import CharField, Exists, F, Max, Min, OuterRef, QuerySet, Subquery

from apps.accounts.models import Patient, User
from apps.alerts.models import Alert, AlertState, ContactAttempt
from apps.alerts.selectors import OPEN_STATES, alert_list, filter_alerts, with_contacts
from apps.caseload.selectors import patient_caseload
from apps.exercise.rules import IsoWeek
from apps.exercise.selectors import WeeklySummary, weekly_summary
from apps.medications.adherence import ScheduleAdherence, patient_adherence
from apps.medications.models import DoseRecord, DoseStatus, Schedule, ScheduleStatus
from apps.medications.rules.injection import BANDS_BY_DRUG, InjectionStatus
from apps.medications.selectors import (
    ScheduleState,
    ai_list_adherence,
    dose_list,
    schedule_list,
    schedule_state,
    with_list_adherence,
)
from apps.profiles.models import BoneDensityResult
from apps.profiles.rules import BoneHealthAssessment
from apps.profiles.selectors import bone_density_list, bone_health_assessment
from apps.supplements.selectors import DailyNutrition, daily_nutrition
from backend import clock
from backend.dates import add_months

ADHERENCE_WINDOWS = (90, 180, 365)  # issue 7: adherence per schedule over the last 90/180/365 days


# --- worklist ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WorklistFilters:
    """What the worklist's filter form asks (issue 14): search, level or higher, kind, waiting (None: both
    sections; True: only those waiting; False: only those needing a call), and the patients' order."""

    q: str = ""
    level: str | None = None
    kind: str | None = None
    waiting: bool | None = None
    sort: str = "urgency"


GROUP_ORDER = {
    # the patients' order; her alerts under her are always most urgent first, then oldest
    "urgency": (F("patient_top_rank").desc(), "patient_first_raised"),
    "oldest": ("patient_first_raised",),
    "newest": (F("patient_last_raised").desc(),),
    "name": ("patient__user__search_name",),
}


def worklist(
    *, user: User, filters: WorklistFilters | None = None, waiting: bool | None = None, now: datetime | None = None
) -> QuerySet[Alert]:
    """Open and acknowledged alerts in scope, each patient's together, narrowed by `filters`: those waiting for a
    follow-up date (waiting=True), the others (False) or all (None: the patient page). Patients are ordered by
    `filters.sort` (most urgent patient first by default), except that a patient with a follow-up date that has
    come (a promised call back) comes first; her alerts under her, most urgent first. Everything a row shows comes
    in the same query: patient, profile (phone, preferred channel), schedule, medication, its last contact and her
    last contact (contact attempts)."""
    filters = filters or WorklistFilters()
    now = now or clock.now()
    hers = Alert.objects.filter(patient=OuterRef("patient_id"), state__in=OPEN_STATES).order_by().values("patient")
    rows = filter_alerts(
        alert_list(user=user, states=list(OPEN_STATES)),
        now=now,
        level=filters.level,
        kinds=[filters.kind] if filters.kind else None,
        waiting=waiting,
        q=filters.q,
    )
    rows = with_contacts(rows, now=now)
    return (
        rows.select_related("patient__profile", "schedule__patient__profile", "acknowledged_by")
        .annotate(
            patient_top_rank=Subquery(hers.annotate(top=Max("severity_rank")).values("top")),
            patient_first_raised=Subquery(hers.annotate(first=Min("raised_at")).values("first")),
            patient_last_raised=Subquery(hers.annotate(last=Max("raised_at")).values("last")),
            patient_call_back=Exists(
                Alert.objects.filter(patient=OuterRef("patient_id"), state__in=OPEN_STATES, waiting_until__lte=now)
            ),
            patient_contact_at=_patient_contact("at"),
            patient_contact_channel=_patient_contact("channel"),
            patient_contact_outcome=_patient_contact("outcome"),
            patient_contact_by=_patient_contact("actor__full_name"),
        )
        .order_by(
            F("patient_call_back").desc(),
            *GROUP_ORDER.get(filters.sort, GROUP_ORDER["urgency"]),
            "patient_id",
            "-severity_rank",
            "raised_at",
            "id",
        )
    )


def _patient_contact(field: str) -> Subquery:
    """The newest contact attempt with the row's patient, about any of her alerts: the group's last contact."""
    rows = ContactAttempt.objects.filter(patient=OuterRef("patient_id")).order_by("-at", "-created_at")
    return Subquery(rows.values(field)[:1])


def contact_history(*, patient: Patient, limit: int = 20) -> list[ContactAttempt]:
    """Her newest contact attempts (any alert), for the patient page: one query."""
    return list(
        ContactAttempt.objects.filter(patient=patient)
        .select_related("actor", "alert")
        .order_by("-at", "-created_at")[:limit]
    )


def alert_injection_status(alert: Alert, *, now: datetime) -> InjectionStatus | None:
    """Live injection state of the alert's schedule (days overdue), None for alerts not about an injection."""
    if alert.schedule is None:
        return None
    return schedule_state(alert.schedule, now=now).injection


# --- patient list --------------------------------------------------------------------------------------------------
def patient_rows(*, user: User, q: str = "", filters: dict[str, Any] | None = None) -> QuerySet[Patient]:
    """The caseload (apps.caseload: the API's patient list, searched and filtered the same way), each patient
    annotated with her most urgent open alert, her injection state and her lowest 90-day adherence: one query for
    the page."""
    rows = patient_caseload(user=user, q=q, filters=filters)
    open_alerts = Alert.objects.filter(patient=OuterRef("pk")).exclude(state=AlertState.RESOLVED).order_by()
    injectable = (
        Schedule.objects.filter(patient=OuterRef("pk"))
        .exclude(injection_state="")
        .exclude(status=ScheduleStatus.STOPPED)
        .order_by("next_due_on", "id")
    )
    # Her lowest 90-day PDC as the adherence API gives it at this moment (stored, switched at her midnight), and the
    # days it is over (fewer than 90 while tracking is younger).
    lowest = (
        with_list_adherence(Schedule.objects.filter(patient=OuterRef("pk"), status=ScheduleStatus.ACTIVE))
        .filter(list_pdc__isnull=False)
        .order_by("list_pdc", "id")
    )
    ai = ai_list_adherence(OuterRef("pk"))  # her aromatase inhibitor's, apart (issue 15)
    top_alert = open_alerts.values("patient").annotate(top=Max("severity_rank")).values("top")
    return (
        rows.select_related("profile")
        .annotate(
            top_alert_rank=Subquery(top_alert),
            injection_state=Subquery(injectable.values("injection_state")[:1], output_field=CharField()),
            injection_due_on=Subquery(injectable.values("next_due_on")[:1]),
            lowest_pdc=Subquery(lowest.values("list_pdc")[:1]),
            lowest_pdc_days=Subquery(lowest.values("list_pdc_days")[:1]),
            ai_pdc=Subquery(ai.values("list_pdc")[:1]),
            ai_pdc_days=Subquery(ai.values("list_pdc_days")[:1]),
            has_ai_schedule=Exists(ai),
        )
        .order_by("user__full_name", "id")
    )


# --- patient page --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScheduleRow:
    schedule: Schedule
    state: ScheduleState


@dataclass(frozen=True)
class InjectionTimeline:
    schedule: Schedule
    given: list[DoseRecord]  # newest first
    status: InjectionStatus | None
    following_due: date | None  # the one after, if this one is given on its due date (DOMAIN D1, D2)
    interval_months: int


@dataclass(frozen=True)
class AdherenceCell:
    window: int  # the column's label, in days
    active: bool  # the schedule was active at some point of the window
    pdc: Decimal | None  # None: not active in the window, or not measured yet (fewer than 14 tracked days)
    days: int  # the days the PDC is over: fewer than `window` when tracking began later or the schedule ended

    @property
    def shorter(self) -> bool:
        return self.pdc is not None and self.days < self.window


@dataclass(frozen=True)
class AdherenceRow:
    schedule: Schedule
    tracked_since: date
    cells: list[AdherenceCell]  # one per ADHERENCE_WINDOWS, in order


@dataclass(frozen=True)
class PatientOverview:
    patient: Patient
    today: date
    schedules: list[ScheduleRow]
    injections: list[InjectionTimeline]
    adherence: list[AdherenceRow]
    dxa: list[BoneDensityResult]
    assessment: BoneHealthAssessment
    week: IsoWeek
    nutrition: list[DailyNutrition]  # the local ISO week's days up to today
    exercise: WeeklySummary
    alerts: list[Alert]


def _adherence_rows(patient: Patient, today: date) -> list[AdherenceRow]:
    by_window: dict[int, dict[UUID, ScheduleAdherence]] = {
        window: {row.schedule.pk: row for row in patient_adherence(patient=patient, window_days=window, today=today)}
        for window in ADHERENCE_WINDOWS
    }
    schedules: dict[UUID, ScheduleAdherence] = {}
    for rows in by_window.values():
        for pk, row in rows.items():
            schedules.setdefault(pk, row)
    ordered = sorted(schedules.values(), key=lambda r: (r.schedule.starts_on, r.schedule.created_at, r.schedule.pk))
    out = []
    for first in ordered:
        cells = []
        for window in ADHERENCE_WINDOWS:
            found = by_window[window].get(first.schedule.pk)
            if found is None:
                cells.append(AdherenceCell(window, False, None, 0))
            else:
                cells.append(AdherenceCell(window, True, found.pdc, found.days_in_window))
        out.append(AdherenceRow(first.schedule, first.tracked_since, cells))
    return out


def patient_overview(*, patient: Patient, user: User, now: datetime | None = None) -> PatientOverview:
    now = now or clock.now()
    profile = patient.profile
    today = clock.local_today(profile.timezone, now)
    schedules = [ScheduleRow(s, schedule_state(s, now=now)) for s in schedule_list(patient=patient)]
    injections = []
    for row in schedules:
        bands = BANDS_BY_DRUG.get(row.schedule.medication.injection_bands)
        if bands is None:
            continue
        given = list(dose_list(patient=patient, schedule_id=row.schedule.pk).filter(status=DoseStatus.TAKEN)[:12])
        status = row.state.injection
        following = add_months(status.next_due, bands.interval_months) if status is not None else None
        injections.append(InjectionTimeline(row.schedule, given, status, following, bands.interval_months))
    week = IsoWeek.of(today)
    days = [week.monday + timedelta(days=i) for i in range((today - week.monday).days + 1)]
    return PatientOverview(
        patient=patient,
        today=today,
        schedules=schedules,
        injections=injections,
        adherence=_adherence_rows(patient, today),
        dxa=list(bone_density_list(patient=patient)),
        assessment=bone_health_assessment(patient=patient, today=today),
        week=week,
        nutrition=[daily_nutrition(patient=patient, day=day, timezone=profile.timezone) for day in days],
        exercise=weekly_summary(patient=patient, week=week, now=now),
        alerts=list(worklist(user=user).filter(patient=patient)),
    )
