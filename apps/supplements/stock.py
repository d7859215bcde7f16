"""Supplement plans as stocked items (issue 17, apps.medications.stock): each intake recorded with a plan takes the
plan's `units_per_dose` off its stock; the plan is taken once at each of its times of day (once a day when it has
none), every day from its start to its end."""

from collections.abc import Iterator
from datetime import date, timedelta
from itertools import repeat

from django.utils.translation import gettext

from apps.medications.models import StockItemKind
from apps.medications.stock import FAR_DAYS, StockKind, register_stock_kind
from apps.supplements.models import PlanStatus, SupplementIntake, SupplementPlan
from apps.supplements.reminders import DETAILED_NAMES


def _doses_ahead(plan: SupplementPlan, today: date) -> Iterator[date]:
    per_day = max(len(plan.times_of_day), 1)
    day = max(today, plan.starts_on)
    last = plan.ends_on or today + timedelta(days=FAR_DAYS)
    if day == today:
        taken = SupplementIntake.objects.filter(plan_id=plan.pk, taken_on=today).count()
        yield from repeat(today, max(per_day - taken, 0))
        day += timedelta(days=1)
    while day <= last:
        yield from repeat(day, per_day)
        day += timedelta(days=1)


def register() -> None:
    register_stock_kind(
        StockKind(
            model=SupplementPlan,
            item_kind=StockItemKind.SUPPLEMENT_PLAN,
            doses_ahead=_doses_ahead,
            in_force=lambda plan: plan.status == PlanStatus.ACTIVE,
            refused=lambda plan: "",
            timezone=lambda plan: plan.patient.profile.timezone,
            in_force_rows=lambda: SupplementPlan.objects.filter(status=PlanStatus.ACTIVE).select_related(
                "patient__profile"
            ),
            text_generic=lambda: gettext("Time to refill your supplement"),
            text_detailed=lambda plan: (
                gettext("Time to refill your %(name)s")
                % {"name": DETAILED_NAMES.get(plan.supplement, gettext("supplement"))}
            ),
        )
    )
