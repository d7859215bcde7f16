"""Reads for exercise: plans, sessions, weekly progress with its streak, and the patient-list filter."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from apps.accounts.models import Patient
from apps.exercise.models import ExerciseKind, ExercisePlan, ExerciseSession, PlanStatus
from apps.exercise.rules import (
    IsoWeek,
    SessionFact,
    Targets,
    WeeklyProgress,
    streak_weeks,
    streak_window,
    weekly_progress,
)
from backend import clock


def exercise_plan_list(*, patient: Patient) -> QuerySet[ExercisePlan]:
    """Her plans, the active one first, then newest first."""
    return ExercisePlan.objects.filter(patient=patient).order_by("status", "-created_at", "id")


def active_plan(*, patient: Patient) -> ExercisePlan | None:
    return ExercisePlan.objects.filter(patient=patient, status=PlanStatus.ACTIVE).first()


def plan_targets(plan: ExercisePlan | None) -> Targets:
    """The active plan's targets; the DOMAIN defaults (E1-E3) when she has none (H1: everyone gets the advice)."""
    if plan is None:
        return Targets()
    return Targets(
        weight_bearing_minutes=plan.weight_bearing_minutes_target,
        resistance_days=plan.resistance_days_target,
        balance_sessions=plan.balance_sessions_target,
    )


def exercise_session_list(*, patient: Patient, week: IsoWeek | None = None) -> QuerySet[ExerciseSession]:
    rows = ExerciseSession.objects.filter(patient=patient)
    if week is not None:
        rows = rows.filter(performed_on__range=(week.monday, week.sunday))
    return rows.order_by("-performed_at", "id")


def current_week(patient: Patient, *, now: datetime | None = None) -> IsoWeek:
    return IsoWeek.of(clock.local_today(patient.profile.timezone, now))


def session_facts(*, patient: Patient, first: date, last: date) -> list[SessionFact]:
    """Her sessions between two local dates added up per day and kind: one query whatever the span."""
    rows = (
        ExerciseSession.objects.filter(patient=patient, performed_on__range=(first, last))
        .order_by()
        .values("performed_on", "kind")
        .annotate(total=Sum("minutes"), sessions=Count("id"))
    )
    return [SessionFact(row["kind"], row["performed_on"], row["total"], row["sessions"]) for row in rows]


@dataclass(frozen=True)
class WeeklySummary:
    progress: WeeklyProgress
    streak_weeks: int
    plan: ExercisePlan | None


def weekly_summary(*, patient: Patient, week: IsoWeek, now: datetime | None = None) -> WeeklySummary:
    """Progress in her local ISO week against her plan's targets, and the streak of weeks on target ending there.
    Three queries (profile, plan, one aggregate over the streak window), however long the streak."""
    today = clock.local_today(patient.profile.timezone, now)
    plan = active_plan(patient=patient)
    targets = plan_targets(plan)
    first, last = streak_window(week)
    facts = session_facts(patient=patient, first=first, last=last)
    return WeeklySummary(
        progress=weekly_progress(facts, week=week, targets=targets),
        streak_weeks=streak_weeks(facts, week=week, today=today, targets=targets),
        plan=plan,
    )


def weight_bearing_minutes_last_7_days(*, today: date) -> Any:
    """Per patient (outer ref "pk"), weight-bearing minutes with performed_on in [today - 7, today - 1]: the last
    seven whole days. An expression, so a patient list filters on it in one query."""
    minutes = (
        ExerciseSession.objects.filter(
            patient=OuterRef("pk"),
            kind=ExerciseKind.WEIGHT_BEARING,
            performed_on__range=(today - timedelta(days=7), today - timedelta(days=1)),
        )
        .order_by()
        .values("patient")
        .annotate(total=Sum("minutes"))
        .values("total")
    )
    return Coalesce(Subquery(minutes, output_field=IntegerField()), Value(0))


def filter_exercise_below(rows: QuerySet[Any], minutes: int) -> QuerySet[Any]:
    """Patients who did fewer than `minutes` of weight-bearing activity in the last seven whole days (UTC dates, so
    one cut-off serves a list of patients in many zones)."""
    today = clock.now().date()
    return rows.alias(_exercise_wb_minutes=weight_bearing_minutes_last_7_days(today=today)).filter(
        _exercise_wb_minutes__lt=minutes
    )
