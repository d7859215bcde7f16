"""The supplements app's reminder source: each active plan's times of day, every local day it is in force.

Times are wall-clock times in the patient's zone, turned into instants by the medication recurrence rules (a daily
recurrence per time), so 08:00 stays 08:00 across DST; a time in a spring gap moves forward, an ambiguous one takes
its first instant.
"""

from collections.abc import Iterable, Iterator
from datetime import datetime, time, timedelta
from uuid import UUID

from django.db.models import QuerySet

from apps.supplements.models import PlanStatus, SupplementPlan
from backend.recurrence import Recurrence
from backend.reminder_sources import ReminderSlot, ReminderSource

DAILY = Recurrence(unit="day")
GENERIC_TEXT = "Time for your supplement"  # privacy (DESIGN): names nothing without the patient's opt-in
DETAILED_NAMES = {
    "calcium_carbonate": "calcium",
    "calcium_citrate": "calcium",
    "vitamin_d3": "vitamin D",
    "magnesium": "magnesium",
    "vitamin_k2": "vitamin K2",
}


def _amount(plan: SupplementPlan) -> str:
    amount = plan.amount.normalize() if plan.amount == plan.amount.to_integral_value() else plan.amount
    return f"{amount:f} {plan.unit}"


def detailed_text(plan: SupplementPlan) -> str:
    return f"Time for your {DETAILED_NAMES.get(plan.supplement, 'supplement')} ({_amount(plan)})"


class SupplementReminderSource(ReminderSource):
    kind = "supplement"
    stale_after_minutes = 4 * 60  # design (issue 5): how long this reminder stays useful

    def active(self) -> QuerySet[SupplementPlan]:
        return SupplementPlan.objects.filter(status=PlanStatus.ACTIVE)

    def slots(
        self, *, window_start: datetime, window_end: datetime, patient_ids: Iterable[UUID] | None = None
    ) -> Iterator[ReminderSlot]:
        # A local day reaches at most 14 hours either side of its UTC date: a day's margin covers every zone.
        rows = (
            self.active()
            .filter(starts_on__lte=(window_end + timedelta(days=1)).date())
            .exclude(ends_on__lt=(window_start - timedelta(days=1)).date())
        )
        if patient_ids is not None:
            rows = rows.filter(patient_id__in=list(patient_ids))
        for plan in rows.select_related("patient__profile").iterator(chunk_size=500):
            for hhmm in plan.times_of_day:
                yield from self.recurring_slots(
                    plan,
                    DAILY,
                    local_time=time.fromisoformat(hhmm),
                    window_start=window_start,
                    window_end=window_end,
                    text_generic=GENERIC_TEXT,
                    text_detailed=detailed_text(plan),
                )
