"""Exercise days as a reminder source (backend.reminder_sources): one slot per chosen weekday at the plan's local
time, in the patient's zone, so 18:00 stays 18:00 across DST."""

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from uuid import UUID

from django.db.models import QuerySet

from apps.exercise.models import ExercisePlan, PlanStatus
from backend import clock
from backend.recurrence import to_instant
from backend.reminder_sources import ReminderSlot, ReminderSource

TEXT_GENERIC = "Time to move: your exercise for today"
# A local date can lie a day either side of the window's UTC dates (offsets reach +14 h and -12 h), and a spring
# gap can push a time past midnight: two days either side covers both.
_MARGIN = timedelta(days=2)


def detailed_text(plan: ExercisePlan) -> str:
    parts = []
    if plan.weight_bearing_minutes_target:
        parts.append(f"weight-bearing activity ({plan.weight_bearing_minutes_target} minutes a week)")
    if plan.resistance_days_target:
        parts.append(f"resistance training ({plan.resistance_days_target} days a week)")
    if plan.balance_sessions_target:
        parts.append(f"balance exercises ({plan.balance_sessions_target} times a week)")
    if not parts:
        return TEXT_GENERIC
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"Time to move: your plan is {listed}."


class ExerciseReminderSource(ReminderSource):
    kind = "exercise"
    stale_after_minutes = 6 * 60  # design (issue 5): how long this reminder stays useful

    def active(self) -> QuerySet[ExercisePlan]:
        return ExercisePlan.objects.filter(status=PlanStatus.ACTIVE)

    def slots(
        self, *, window_start: datetime, window_end: datetime, patient_ids: Iterable[UUID] | None = None
    ) -> Iterator[ReminderSlot]:
        plans = self.active().select_related("patient__profile")
        if patient_ids is not None:
            plans = plans.filter(patient_id__in=list(patient_ids))
        for plan in plans.order_by("patient_id").iterator(chunk_size=500):
            if plan.reminder_days:
                yield from self._plan_slots(plan, window_start, window_end)

    def _plan_slots(self, plan: ExercisePlan, window_start: datetime, window_end: datetime) -> Iterator[ReminderSlot]:
        zone = clock.zone(plan.patient.profile.timezone)
        days = set(plan.reminder_days)
        day = (window_start - _MARGIN).astimezone(zone).date()
        last = (window_end + _MARGIN).astimezone(zone).date()
        detailed = detailed_text(plan)
        while day <= last:
            if day.weekday() in days:
                due_at = to_instant(day, plan.local_time, zone)
                if window_start <= due_at < window_end:
                    yield self.slot(
                        plan,
                        local_date=day,
                        local_time=due_at.astimezone(zone).time().replace(tzinfo=None, fold=0),
                        due_at=due_at,
                        text_generic=TEXT_GENERIC,
                        text_detailed=detailed,
                    )
            day += timedelta(days=1)
