"""Announcements from the medications layer to the layers above it (alerts, reminders, sync), which register
handlers at start-up. Handlers run inside the writer's transaction: they commit or roll back with it."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING
from uuid import UUID

from apps.medications.rules.checks import SupplementPlanFacts

if TYPE_CHECKING:
    from apps.medications.models import DoseRecord, Schedule


@dataclass(frozen=True)
class RecordedDose:
    """A dose just written, with the schedule's next due date once it was (6-monthly injectables, DOMAIN D1/D2;
    None for other schedules): a push's batch moves the due date dose by dose, as one by one."""

    dose: "DoseRecord"
    next_due_on: date | None


# (schedule, its doses just written, in the order written): one dose over REST, a sync push's new doses at once
DosesHandler = Callable[["Schedule", Sequence[RecordedDose]], None]
# (patient ids) -> {patient id: her active supplement plans (what they are, and at what local times)}
SupplementPlanProvider = Callable[[set[UUID]], dict[UUID, list[SupplementPlanFacts]]]
ScheduleHandler = Callable[["Schedule"], None]

_doses_recorded: list[DosesHandler] = []
_schedule_changed: list[ScheduleHandler] = []
_supplement_plan_providers: list[SupplementPlanProvider] = []


def on_doses_recorded(handler: DosesHandler) -> DosesHandler:
    if handler not in _doses_recorded:
        _doses_recorded.append(handler)
    return handler


def on_schedule_changed(handler: ScheduleHandler) -> ScheduleHandler:
    if handler not in _schedule_changed:
        _schedule_changed.append(handler)
    return handler


def doses_recorded(schedule: "Schedule", doses: Sequence[RecordedDose]) -> None:
    for handler in _doses_recorded:
        handler(schedule, doses)


def schedule_changed(schedule: "Schedule") -> None:
    for handler in _schedule_changed:
        handler(schedule)


def register_supplement_plan_provider(provider: SupplementPlanProvider) -> None:
    """The supplements app tells the pharmacist checks which supplement plans each patient has and at what times
    (DOMAIN D6: calcium and vitamin D with denosumab; A2: nothing oral too soon after an oral bisphosphonate)."""
    if provider not in _supplement_plan_providers:
        _supplement_plan_providers.append(provider)


def supplement_plans(patient_ids: set[UUID]) -> dict[UUID, list[SupplementPlanFacts]]:
    plans: dict[UUID, list[SupplementPlanFacts]] = {}
    for provider in _supplement_plan_providers:
        for patient_id, rows in provider(patient_ids).items():
            plans.setdefault(patient_id, []).extend(rows)
    return plans
