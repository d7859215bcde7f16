"""Reads for supplements: plans, intakes, diet entries, the daily nutrition summary, and what other apps ask of us
(who has calcium and vitamin D plans; who ate too little calcium last week)."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db.models import DecimalField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from apps.accounts.models import Patient
from apps.medications.models import DoseRecord, DoseStatus, DrugClass
from apps.medications.rules.checks import SupplementPlanFacts
from apps.supplements import rules
from apps.supplements.models import DietaryCalciumEntry, PlanStatus, Supplement, SupplementIntake, SupplementPlan
from backend import clock

CALCIUM_WINDOW_DAYS = 7  # design: the patient list's calcium_below filter averages the last 7 local days


def plan_list(*, patient: Patient) -> QuerySet[SupplementPlan]:
    # Her zone comes along: a plan's stock says how many days it covers from her today (issue 17).
    return SupplementPlan.objects.filter(patient=patient).select_related("patient__profile")


def intake_list(*, patient: Patient, on: date | None = None) -> QuerySet[SupplementIntake]:
    rows = SupplementIntake.objects.filter(patient=patient)
    if on is not None:
        rows = rows.filter(taken_on=on)
    return rows.order_by("-taken_at", "id")


def diet_list(*, patient: Patient, on: date | None = None) -> QuerySet[DietaryCalciumEntry]:
    rows = DietaryCalciumEntry.objects.filter(patient=patient)
    if on is not None:
        rows = rows.filter(date=on)
    return rows.order_by("-date", "-created_at", "id")


def plans_covering(plans: Iterable[SupplementPlan], day: date) -> list[SupplementPlan]:
    """The plans in force on a local day: started, not ended, not stopped before it."""
    return [
        plan
        for plan in plans
        if plan.starts_on <= day
        and (plan.ends_on is None or plan.ends_on >= day)
        and (plan.stopped_on is None or plan.stopped_on > day)
    ]


def plan_targets(plans: Iterable[SupplementPlan]) -> dict[rules.Nutrient, Decimal | None]:
    """Clinician-set daily targets per nutrient; with several plans for one nutrient the highest target counts."""
    targets: dict[rules.Nutrient, Decimal | None] = {}
    for plan in plans:
        if plan.daily_target is None:
            continue
        nutrient = rules.NUTRIENT_OF[plan.supplement]
        current = targets.get(nutrient)
        targets[nutrient] = plan.daily_target if current is None else max(current, plan.daily_target)
    return targets


@dataclass(frozen=True)
class DailyNutrition:
    date: date
    timezone: str
    summary: rules.DailySummary


def daily_nutrition(*, patient: Patient, day: date, timezone: str) -> DailyNutrition:
    """One local day's summary in four queries whatever the number of rows (plans, intakes, diet sum, doses)."""
    plans = plans_covering(SupplementPlan.objects.filter(patient=patient, starts_on__lte=day), day)
    intakes = [
        rules.IntakeFact(id=str(i.id), supplement=i.supplement, amount=i.amount, unit=i.unit, taken_at=i.taken_at)
        for i in SupplementIntake.objects.filter(patient=patient, taken_on=day).only(
            "id", "supplement", "amount", "unit", "taken_at"
        )
    ]
    diet = DietaryCalciumEntry.objects.filter(patient=patient, date=day).aggregate(mg=Sum("mg"))["mg"]
    doses = [
        rules.BisphosphonateDose(drug=code, taken_at=taken_at)
        for code, taken_at in DoseRecord.objects.filter(
            patient=patient,
            taken_on=day,
            status=DoseStatus.TAKEN,
            schedule__medication__drug_class=DrugClass.ORAL_BISPHOSPHONATE,
        ).values_list("schedule__medication__code", "taken_at")
    ]
    summary = rules.daily_summary(
        intakes=intakes,
        diet_mg=[diet] if diet is not None else [],
        bisphosphonate_doses=doses,
        plan_targets=plan_targets(plans),
        zone=clock.zone(timezone),
    )
    return DailyNutrition(date=day, timezone=timezone, summary=summary)


def _utc_today() -> date:
    return clock.now().astimezone(UTC).date()


def supplement_plan_facts(patient_ids: set[UUID]) -> dict[UUID, list[SupplementPlanFacts]]:
    """For the pharmacist checks (DOMAIN D6: calcium and vitamin D plans; A2: their times against an oral
    bisphosphonate's): {patient id: her active plans}, one query. Active: not stopped and not ended before today (a
    plan starting soon counts)."""
    rows = (
        SupplementPlan.objects.filter(patient_id__in=patient_ids, status=PlanStatus.ACTIVE)
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=_utc_today()))
        .order_by("patient_id", "starts_on", "created_at", "id")
        .values_list("patient_id", "id", "supplement", "times_of_day", "amount", "unit")
    )
    plans: dict[UUID, list[SupplementPlanFacts]] = {}
    for patient_id, plan_id, supplement, times_of_day, amount, unit in rows:
        nutrient = rules.NUTRIENT_OF.get(supplement)
        if nutrient is None:
            continue
        plans.setdefault(patient_id, []).append(
            SupplementPlanFacts(
                id=str(plan_id),
                supplement=supplement,
                name=str(Supplement(supplement).label),
                nutrient=nutrient.value,
                times=tuple(time.fromisoformat(t) for t in times_of_day),
                amount=f"{amount.normalize():f} {unit}",
            )
        )
    return plans


def calcium_window() -> tuple[date, date]:
    """The last 7 whole days, by UTC date (a patient's local day is at most a day off)."""
    today = _utc_today()
    return today - timedelta(days=CALCIUM_WINDOW_DAYS), today - timedelta(days=1)


def calcium_below(rows: QuerySet[Any], threshold: Decimal) -> QuerySet[Any]:
    """Patients (rows of a Patient queryset) whose average daily calcium, diet + supplements, over the last 7 days
    is below `threshold` mg. A patient who logged nothing averages 0 and is listed. Two correlated subqueries."""
    first, last = calcium_window()
    decimal: DecimalField[Any, Any] = DecimalField(max_digits=14, decimal_places=2)
    diet = (
        DietaryCalciumEntry.objects.filter(patient=OuterRef("pk"), date__range=(first, last))
        .order_by()
        .values("patient")
        .annotate(mg=Sum("mg"))
        .values("mg")
    )
    supplements = (
        SupplementIntake.objects.filter(
            patient=OuterRef("pk"), taken_on__range=(first, last), supplement__in=rules.CALCIUM_SUPPLEMENTS
        )
        .order_by()
        .values("patient")
        .annotate(mg=Sum("amount"))
        .values("mg")
    )
    zero = Value(Decimal(0), output_field=decimal)
    return rows.alias(
        _calcium_window_mg=Coalesce(Subquery(diet, output_field=decimal), zero)
        + Coalesce(Subquery(supplements, output_field=decimal), zero)
    ).filter(_calcium_window_mg__lt=threshold * CALCIUM_WINDOW_DAYS)
